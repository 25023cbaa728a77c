"""Contract-renewal models for cohorts (Fader & Hardie): shifted-beta-geometric and beta-discrete-Weibull.

Setting: customers sign contracts of one period (month, year); at the end of each period each
customer renews or churns. Period ``t = 1, 2, …`` is the renewal at which a customer leaves.

* **sBG** (Fader & Hardie 2007, "How to project customer retention", J. Interactive
  Marketing 21(1)): each customer churns at every renewal with her own probability ``p``,
  constant over her lifetime; ``p ~ Beta(alpha, beta)`` across customers. Then
  ``S(t) = B(alpha, beta + t) / B(alpha, beta)`` and
  ``P(T = t) = B(alpha + 1, beta + t − 1) / B(alpha, beta)``. The cohort's retention rate
  ``r(t) = S(t)/S(t−1) = (beta + t − 1)/(alpha + beta + t − 1)`` rises with tenure although no
  one's churn probability changes: the churn-prone leave first (heterogeneity, not loyalty).
* **BdW** (Fader, Hardie, Liu, Davin & Steenburgh 2018, "'How to project customer retention'
  revisited: the role of duration dependence", J. Interactive Marketing 43): each customer's
  churn follows a discrete Weibull with ``S_i(t) = (1 − theta)^(t^c)``, ``theta ~ Beta``; then
  ``S(t) = B(alpha, beta + t^c) / B(alpha, beta)``. ``c > 1``: individual churn probability
  rises with tenure; ``c < 1``: falls; ``c = 1`` is the sBG.

Input: survivor counts per cohort, ``[n_0, n_1, …, n_k]`` (customers active at period 0, 1, …),
or individual whole-period tenures with a churn flag (:meth:`fit_durations`). Estimation is by
maximum likelihood (counts lost at each period, the survivors right-censored at the last
period), optimised over ``log alpha, log beta (, log c)``; see :mod:`csim.forecast.mle` for
the standard errors and intervals.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import betaln

from csim.forecast.mle import MaximumLikelihoodFitter, ParameterSpec


def survivors_to_counts(cohorts: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn survivor counts into (period, customers, churned?) rows for the likelihood.

    Each cohort ``[n_0, …, n_k]`` gives ``n_{t−1} − n_t`` churns at period ``t`` (t = 1…k)
    and ``n_k`` customers still active (right-censored) at period ``k``.
    """
    periods, weights, churned = [], [], []
    for counts in cohorts:
        counts = np.asarray(counts, float)
        if counts.ndim != 1 or len(counts) < 2:
            raise ValueError("a cohort needs survivor counts for at least periods 0 and 1")
        if np.any(np.diff(counts) > 0) or np.any(counts < 0) or counts[0] <= 0:
            raise ValueError("survivor counts must start positive and never increase")
        lost = -np.diff(counts)
        k = len(counts) - 1
        periods += list(range(1, k + 1)) + [k]
        weights += list(lost) + [counts[-1]]
        churned += [True] * k + [False]
    return np.asarray(periods, float), np.asarray(weights, float), np.asarray(churned, bool)


def _as_cohorts(survivors) -> list[np.ndarray]:
    """Accept one cohort (list of counts) or several (list of lists)."""
    if len(survivors) and np.ndim(survivors[0]) == 0:
        return [np.asarray(survivors, float)]
    return [np.asarray(c, float) for c in survivors]


class _ContractRenewalModel(MaximumLikelihoodFitter):
    """Shared fitting and projection for sBG and BdW (a mixture of per-customer churn laws)."""

    _names: tuple[str, ...]

    def fit(self, survivors):
        """Fit to survivor counts: one cohort ``[1000, 631, 468, …]`` or a list of cohorts.

        Counts are customers still active at periods 0, 1, 2, … of each cohort. Returns ``self``.
        """
        self.cohorts_ = _as_cohorts(survivors)
        periods, weights, churned = survivors_to_counts(self.cohorts_)
        self.n_obs_ = int(sum(c[0] for c in self.cohorts_))
        return self._fit_rows(periods, weights, churned)

    def fit_durations(self, durations, events):
        """Fit to individual tenures in whole periods (integers ≥ 0) with a 0/1 churn flag.

        A churn at tenure ``t`` counts as leaving at renewal ``t`` (so churns need ``t ≥ 1``);
        an active customer at tenure ``t`` has survived ``t`` renewals. Returns ``self``.
        """
        t = np.asarray(durations, float)
        d = np.asarray(events, bool)
        if np.any(t != np.round(t)) or np.any(t < 0):
            raise ValueError("contract-renewal models need whole-period tenures (integers ≥ 0)")
        if np.any(d & (t < 1)):
            raise ValueError("a churn at tenure 0 has no renewal: contract-renewal models need churn tenures ≥ 1")
        frame = pd.DataFrame({"t": t, "d": d}).value_counts().reset_index(name="w")
        self.cohorts_ = []
        self.n_obs_ = len(t)
        return self._fit_rows(frame["t"].to_numpy(float), frame["w"].to_numpy(float), frame["d"].to_numpy(bool))

    def _fit_rows(self, periods, weights, churned):
        self._rows = (periods, weights, churned)
        self._specs = [ParameterSpec(name, True) for name in self._names]
        self.max_period_ = int(periods.max())
        self._finish(self._loglik, np.zeros(len(self._names)), scale=max(weights.sum(), 1.0))
        for name in self._names:
            setattr(self, name, float(self.params_[name]))
        del self._rows
        if self.degenerate_ and self.alpha_ > 1e3 and self.beta_ > 1e3:
            p = self.alpha_ / (self.alpha_ + self.beta_)
            self.degenerate_ = (f"no difference between customers is visible: the fit tends to one churn probability "
                                f"of {p:.3g} per period for everyone (alpha and beta grow without limit)")
        return self

    def _loglik(self, theta) -> float:
        periods, weights, churned = self._rows
        log_s = self._log_survival(theta, periods)
        # Censored rows at tenure 0 have no previous period; clip so S(t−1) stays defined (unused there).
        log_s_prev = self._log_survival(theta, np.maximum(periods - 1, 0))
        # log P(T = t) = log(S(t−1) − S(t)), computed without cancellation.
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = log_s_prev + np.log(-np.expm1(log_s - log_s_prev))
            terms = np.where(churned, log_p, log_s)
            # Rows of weight 0 (no churn at a period) add nothing, even where log P is −inf.
            terms = np.where(weights > 0, weights * terms, 0.0)
        return float(terms.sum())

    def _log_survival(self, theta, t):  # pragma: no cover - interface
        raise NotImplementedError

    def survival_at(self, theta, periods) -> np.ndarray:
        """S(t) under parameter vector ``theta`` (draws × periods for a matrix of draws)."""
        theta = np.asarray(theta, float)
        t = np.maximum(np.asarray(periods, float), 0.0)  # before period 0 everyone is active
        if theta.ndim == 2:
            return np.exp(self._log_survival(theta.T[:, :, None], t[None, None, :])[0])
        return np.exp(self._log_survival(theta, t))

    def survival(self, periods) -> np.ndarray:
        """Fraction of a cohort still active at period ``t`` (t = 0, 1, 2, …; S(0) = 1)."""
        return self.survival_at(self.theta_, periods)

    def retention_rate(self, periods) -> np.ndarray:
        """Share of customers active at period t−1 who renew at period t: S(t)/S(t−1), t ≥ 1."""
        t = np.asarray(periods, float)
        return self.survival(t) / self.survival(t - 1)

    def churn_probability(self, periods) -> np.ndarray:
        """P(T = t): share of the original cohort that leaves at period t (t ≥ 1)."""
        t = np.asarray(periods, float)
        return self.survival(t - 1) - self.survival(t)

    def predict(self, periods, initial: float = 1.0) -> np.ndarray:
        """Expected customers still active at ``periods`` out of ``initial`` at period 0."""
        return initial * self.survival(periods)


class ShiftedBetaGeometric(_ContractRenewalModel):
    """Shifted-beta-geometric (sBG) contract-renewal model; attributes ``alpha_``, ``beta_``.

    >>> m = ShiftedBetaGeometric().fit([1000, 869, 743, 653, 593, 551, 517, 491])
    >>> round(m.alpha_, 3), round(m.beta_, 3)
    (0.668, 3.806)
    """

    _names = ("alpha_", "beta_")

    def _log_survival(self, theta, t):
        alpha, beta = np.exp(theta[0]), np.exp(theta[1])
        return betaln(alpha, beta + t) - betaln(alpha, beta)

    def retention_rate(self, periods) -> np.ndarray:
        """Closed form (beta + t − 1)/(alpha + beta + t − 1), t ≥ 1."""
        t = np.asarray(periods, float)
        return (self.beta_ + t - 1.0) / (self.alpha_ + self.beta_ + t - 1.0)

    @property
    def mean_churn_probability_(self) -> float:
        """Average per-renewal churn probability at acquisition, alpha/(alpha + beta)."""
        return self.alpha_ / (self.alpha_ + self.beta_)


class BetaDiscreteWeibull(_ContractRenewalModel):
    """Beta-discrete-Weibull (BdW) contract-renewal model; attributes ``alpha_``, ``beta_``, ``c_``."""

    _names = ("alpha_", "beta_", "c_")

    def _log_survival(self, theta, t):
        alpha, beta, c = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
        return betaln(alpha, beta + np.power(t, c)) - betaln(alpha, beta)


#: The contract-renewal fitters by the names the command line and reports use.
COHORT_MODELS = {"sbg": ShiftedBetaGeometric, "bdw": BetaDiscreteWeibull}
