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

Input: survivor counts per cohort, ``[n_0, n_1, …, n_k]`` (customers active at period 0, 1, …;
``fit_survivors``), or individual whole-period tenures with a churn flag (``fit``, the protocol of
every fitter). Estimation is by maximum likelihood (counts lost at each period, the survivors
right-censored at the last period), optimised over ``log alpha, log beta (, log c)``; see
:mod:`csim.forecast.mle` for the standard errors and intervals.

**Fits at the edge of the parameter space.** With few or no churns, or churn that does not
fall with tenure, the likelihood has no interior maximum: it keeps rising (or stays flat) as
parameters run to 0 or infinity — alpha and beta both to infinity is one churn probability for
every customer (geometric churn), alpha and beta both to 0 is "some leave at the first renewal,
the rest never". The optimiser then stops somewhere on a flat ridge (alpha = 1e-4, beta = 2588
with a standard error of "0" is a typical output), which means nothing. Each fit is therefore
checked with the profile likelihood (:func:`csim.forecast.mle.profile_edges`): a parameter that
can move by a factor of 100 towards an edge without the log-likelihood falling by 0.01 is
reported in ``at_bound_`` (name → ``"0"``, ``"∞"`` or ``"not identified"``); the fit is then
``degenerate_`` (a sentence saying which limit the data point to, also in ``notes_``), has NaN
standard errors and intervals and gives no projection bands.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import betaln

from csim.forecast.mle import MaximumLikelihoodFitter, ParameterSpec, no_profile, profile_edges, survival_frame


def survivors_to_counts(cohorts: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn survivor counts into (period, customers, churned?) rows for the likelihood.

    Each cohort ``[n_0, …, n_k]`` gives ``n_{t−1} − n_t`` churns at period ``t`` (t = 1…k)
    and ``n_k`` customers still active (right-censored) at period ``k``. A cohort with only its
    period-0 count (acquired in the last period) adds nothing to the likelihood; at least one
    cohort must have been observed for a period.
    """
    periods, weights, churned = [], [], []
    if not any(np.size(c) >= 2 for c in cohorts):
        raise ValueError("a cohort needs survivor counts for at least periods 0 and 1")
    for counts in cohorts:
        counts = np.asarray(counts, float)
        if counts.ndim != 1 or len(counts) < 1:
            raise ValueError("a cohort needs survivor counts for at least periods 0 and 1")
        if len(counts) == 1:
            continue
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
    """Shared fitting and projection for sBG and BdW (a mixture of per-customer churn laws).

    ``level``: confidence level of the intervals in ``summary`` (0.95).
    """

    _names: tuple[str, ...]

    kind = "contract_renewal"
    # Every customer is watched from acquisition and leaves at a renewal: no entry, no covariates.
    supports_entry = False
    supports_covariates = False
    needs_covariates = False
    needs_whole_periods = True
    needs_period_grid = False
    has_density = False
    whole_period_steps = True
    #: Fewest observed periods after period 0 that survivor counts need for a fit.
    min_survivor_periods = 1

    def fit_survivors(self, survivors):
        """Fit to survivor counts: one cohort ``[1000, 631, 468, …]`` or a list of cohorts.

        Counts are customers still active at periods 0, 1, 2, … of each cohort. Returns ``self``.
        """
        self.cohorts_ = _as_cohorts(survivors)
        periods, weights, churned = survivors_to_counts(self.cohorts_)
        self.n_obs_ = int(sum(c[0] for c in self.cohorts_))
        return self._fit_rows(periods, weights, churned)

    def fit(self, durations, events, entry=None, covariates=None):
        """Fit to individual tenures in whole periods (integers ≥ 0) with a 0/1 churn flag.

        A churn at tenure ``t`` counts as leaving at renewal ``t`` (so churns need ``t ≥ 1``);
        an active customer at tenure ``t`` has survived ``t`` renewals. ``entry`` and
        ``covariates`` must be None: the model follows every customer from acquisition and has
        no covariates (fit one per segment). Returns ``self``.
        """
        if entry is not None:
            raise ValueError(f"{type(self).__name__} takes no entry tenures: a contract-renewal model needs every "
                             "customer observed from acquisition (no left truncation)")
        if covariates is not None:
            raise ValueError(f"{type(self).__name__} takes no covariates: fit one model per segment")
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
        return self

    def _edges(self, loglik, theta, value, information, score):
        """Profile-likelihood test for parameters running off to 0 or infinity (see module doc)."""
        return profile_edges(loglik, theta, value, information)

    def _edge_note(self, edges: dict[int, int]) -> str:
        """Say which limit the data point to, in words, then which parameters are at an edge."""
        names = [s.name for s in self._specs]
        where = {names[j] for j in edges}
        periods, weights, churned = self._rows
        churns = float(weights[churned].sum())
        # Renewals faced: a churn at t faced t renewals, a customer still active at t also t.
        exposure = float(weights @ periods)
        with np.errstate(over="ignore"):  # a parameter run off to infinity may exceed the double range
            a, b = float(np.exp(self.theta_[0])), float(np.exp(self.theta_[1]))
        # Where the optimiser stopped on the flat ridge tells which limit the data point to:
        # Var(p) = mean·(1 − mean)/(alpha + beta + 1) across customers.
        if churns == 0:
            meaning = "no customer churned, so the churn probability runs to 0"
        elif self.max_period_ == 1:
            meaning = (f"only one renewal is observed, which fixes the average churn probability "
                       f"alpha/(alpha + beta) = {a / (a + b):.3g} but not how it varies between customers")
        elif a + b > 1e3 and "c_" in names:
            meaning = ("no difference between customers is visible: the fit tends to one discrete-Weibull churn law "
                       f"for everyone (c = {float(np.exp(self.theta_[2])):.3g})" if "c_" not in where else
                       "no difference between customers is visible, and the data do not pin down how churn changes "
                       "with tenure")
        elif a + b > 1e3:
            meaning = (f"no difference between customers is visible: the fit tends to one churn probability of "
                       f"{churns / exposure:.3g} per period for everyone (geometric churn)")
        elif a + b < 1e-3:
            meaning = (f"the fit tends to a share {a / (a + b):.3g} of customers leaving at the first renewal and the "
                       "rest never leaving")
        else:
            meaning = "the data do not pin these parameters down"
        labels = ", ".join(self._edge_phrase(j, d) for j, d in edges.items())
        return (f"estimates at the edge of the parameter space ({labels}): {meaning}; the numbers shown are where the "
                "optimiser stopped on a flat likelihood and have no standard errors, intervals or bands")

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

    def survival(self, times, profile=None) -> np.ndarray:
        """Fraction of a cohort still active at period ``times`` (t = 0, 1, 2, …; S(0) = 1).

        ``profile`` must be None or empty (the model has no covariates).
        """
        no_profile(profile, type(self).__name__)
        return self.survival_at(self.theta_, times)

    def retention_rate(self, periods) -> np.ndarray:
        """Share of customers active at period t−1 who renew at period t: S(t)/S(t−1), t ≥ 1."""
        t = np.asarray(periods, float)
        return self.survival(t) / self.survival(t - 1)

    def churn_probability(self, periods) -> np.ndarray:
        """P(T = t): share of the original cohort that leaves at period t (t ≥ 1)."""
        t = np.asarray(periods, float)
        return self.survival(t - 1) - self.survival(t)

    def predict(self, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Survival at ``times`` (index "t"): one "survival" column (``profiles`` must be None)."""
        return survival_frame(self.survival, times, profiles)

    def expected_active(self, periods, initial: float = 1.0) -> np.ndarray:
        """Expected customers still active at ``periods`` out of ``initial`` at period 0."""
        return initial * self.survival(periods)


class ShiftedBetaGeometric(_ContractRenewalModel):
    """Shifted-beta-geometric (sBG) contract-renewal model; attributes ``alpha_``, ``beta_``.

    >>> m = ShiftedBetaGeometric().fit_survivors([1000, 869, 743, 653, 593, 551, 517, 491])
    >>> round(m.alpha_, 3), round(m.beta_, 3)
    (0.668, 3.806)
    """

    _names = ("alpha_", "beta_")
    name = "sbg"
    min_churn_tenures = 2

    #: Longest tenure (periods) for which log S(t) is summed term by term instead of via betaln.
    _PRODUCT_FORM_MAX_T = 100_000

    def _log_survival(self, theta, t):
        with np.errstate(over="ignore"):  # beta = inf (no churn at all) is a proper limit: S = 1
            alpha, beta = np.exp(theta[0]), np.exp(theta[1])
        t = np.asarray(t, float)
        if np.ndim(alpha) == 0 and t.size and np.all(t == np.round(t)) and 0 <= t.min() \
                and t.max() <= self._PRODUCT_FORM_MAX_T:
            # S(t) = prod_{k<t} (beta + k)/(alpha + beta + k). The difference of two betaln
            # values loses ~1e-9 absolute once beta is large (1e5 and more, where fits near the
            # edge go), enough to make the likelihood surface noisy there; the sum of log1p terms
            # is exact to rounding.
            k = np.arange(int(t.max()), dtype=float)
            cumulative = np.concatenate([[0.0], np.cumsum(np.log1p(-alpha / (alpha + beta + k)))])
            return cumulative[t.astype(np.int64)]
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
    name = "bdw"
    min_churn_tenures = 3
    # The time shape c is told apart from the mixing only by how churn changes across periods.
    min_survivor_periods = 2

    def _log_survival(self, theta, t):
        alpha, beta, c = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
        return betaln(alpha, beta + np.power(t, c)) - betaln(alpha, beta)

