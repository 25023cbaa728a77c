"""Cox proportional-hazards model of churn drivers (statsmodels ``PHReg``).

Ties (several customers churning in the same month) are handled with **Efron's** method by
default, the more accurate of the two approximations statsmodels offers (``ties="breslow"``
is the other); the choice is recorded in ``summary`` output and ``to_dict``. Left truncation
(``entry``) is passed to ``PHReg`` as is. Standard errors are statsmodels' (inverse observed
information of the partial likelihood); intervals are Wald intervals for the coefficient,
exponentiated for the hazard ratio. Concordance is Harrell's C of the linear predictor
(:mod:`csim.forecast.concordance`), computed on first use because it costs more than the fit
on large tables.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats


class CoxPH:
    """Proportional-hazards regression: hazard(t | x) = h0(t)·exp(x'beta).

    After :meth:`fit`: ``params_`` (log hazard ratios), ``hazard_ratios_``, ``summary``
    (coef, se, z, p, interval, hazard ratio with interval), ``loglik_`` (partial
    log-likelihood), ``aic_`` (partial AIC), ``baseline_survival_`` (survival at all
    covariates 0, one row per churn time), ``concordance_``.
    """

    def __init__(self, ties: str = "efron", level: float = 0.95):
        if ties not in ("efron", "breslow"):
            raise ValueError("ties must be 'efron' or 'breslow'")
        self.ties = ties
        self.level = level

    def fit(self, durations, events, covariates: pd.DataFrame, entry=None, strata=None):
        """Fit to tenures (periods), 0/1 churn flags and a DataFrame of numeric covariates.

        ``entry``: tenure at which each customer came under observation (left truncation).
        ``strata``: optional labels; each stratum gets its own baseline hazard.
        Returns ``self``.
        """
        from statsmodels.duration.hazard_regression import PHReg

        X = np.asarray(covariates, float)
        if X.ndim == 1:
            X = X[:, None]
        names = [str(c) for c in getattr(covariates, "columns", [f"x{i}" for i in range(X.shape[1])])]
        t = np.asarray(durations, float)
        d = np.asarray(events, float)
        model = PHReg(t, X, status=d, entry=None if entry is None else np.asarray(entry, float),
                      strata=None if strata is None else np.asarray(strata), ties=self.ties)
        self.result_ = result = model.fit()
        z = stats.norm.ppf(0.5 + self.level / 2.0)
        coef = np.asarray(result.params, float)
        se = np.asarray(result.bse, float)
        pct = int(round(self.level * 100))
        self.summary = pd.DataFrame({
            "coef": coef, "se": se, "z": coef / se, "p": 2.0 * stats.norm.sf(np.abs(coef / se)),
            f"lower_{pct}": coef - z * se, f"upper_{pct}": coef + z * se,
            "hazard_ratio": np.exp(coef),
            f"hr_lower_{pct}": np.exp(coef - z * se), f"hr_upper_{pct}": np.exp(coef + z * se),
        }, index=pd.Index(names, name="covariate"))
        self.params_ = self.summary["coef"]
        self.hazard_ratios_ = self.summary["hazard_ratio"]
        self.loglik_ = float(result.llf)
        self.aic_ = 2.0 * len(coef) - 2.0 * self.loglik_
        self.n_obs_ = len(t)
        self.n_events_ = int(d.sum())
        self.covariate_names_ = names
        self._data = (t, d, X)
        if strata is None:
            self.baseline_survival_ = self._baseline_survival(result, t, d, X, entry)
        else:
            self.baseline_survival_ = None
        return self

    @staticmethod
    def _baseline_survival(result, t, d, X, entry) -> pd.DataFrame:
        """Breslow baseline survival S0(t) at all covariates 0, right-continuous.

        statsmodels reports the cumulative hazard *just before* each churn time
        (``cumsum(h0) - h0``). Shifting it by one churn time gives the usual right-continuous
        value; only the jump at the last churn time is missing, and it is added here from its
        definition (churns at that time / sum of exp(x'beta) over the customers at risk).
        """
        times, cumhaz_before, _ = result.baseline_cumulative_hazard[0]
        times = np.asarray(times, float)
        cumhaz_before = np.asarray(cumhaz_before, float)
        last = times[-1]
        at_risk = t >= last
        if entry is not None:
            at_risk &= np.asarray(entry, float) < last
        risk = np.exp(X[at_risk] @ np.asarray(result.params, float))
        last_jump = float(np.sum(d[t == last])) / float(risk.sum())
        cumhaz = np.append(cumhaz_before[1:], cumhaz_before[-1] + last_jump)
        return pd.DataFrame({"t": times, "survival": np.exp(-cumhaz)})

    @cached_property
    def concordance_(self) -> float:
        """Harrell's C of the fitted linear predictor on the fitting data."""
        from csim.forecast.concordance import concordance_index

        t, d, X = self._data
        return concordance_index(t, X @ self.params_.to_numpy(), d)

    def survival(self, times, covariates=None) -> np.ndarray:
        """Predicted share still active at tenure ``times`` for one covariate profile.

        ``covariates``: mapping name → value; missing names count as 0 (the reference).
        Follows the Breslow baseline, so it is a step function defined up to the last churn time.
        """
        if self.baseline_survival_ is None:
            raise ValueError("stratified models have one baseline per stratum; predict per stratum is not offered")
        x = pd.Series(covariates or {}, dtype=float).reindex(self.covariate_names_).fillna(0.0).to_numpy()
        risk = float(np.exp(x @ self.params_.to_numpy()))
        base = self.baseline_survival_
        idx = np.searchsorted(base["t"].to_numpy(), np.asarray(times, float), side="right") - 1
        s0 = np.where(idx >= 0, base["survival"].to_numpy()[np.clip(idx, 0, None)], 1.0)
        return s0 ** risk

    def predict(self, profiles: pd.DataFrame, times) -> pd.DataFrame:
        """Survival at ``times`` for each row of ``profiles`` (columns = covariate names)."""
        times = np.asarray(times, float)
        return pd.DataFrame({idx: self.survival(times, row.to_dict()) for idx, row in profiles.iterrows()},
                            index=pd.Index(times, name="t"))

    def to_dict(self) -> dict:
        """Plain-JSON description of the fit."""
        return {
            "model": "CoxPH",
            "ties": self.ties,
            "coefficients": {k: {c: float(v) for c, v in row.items()} for k, row in self.summary.to_dict(orient="index").items()},
            "loglik_partial": self.loglik_,
            "aic_partial": self.aic_,
            "concordance": float(self.concordance_),
            "n": self.n_obs_,
            "events": self.n_events_,
        }
