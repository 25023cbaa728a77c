"""Cox proportional-hazards model of churn drivers (statsmodels ``PHReg``).

Ties (several customers churning in the same month) are handled with **Efron's** method by
default, the more accurate of the two approximations statsmodels offers (``ties="breslow"``
is the other); the choice is recorded in ``summary`` output and ``to_dict``. Standard errors
are the inverse observed information of the partial likelihood; intervals are Wald intervals
for the coefficient, exponentiated for the hazard ratio. p-values are computed in log space
(``log10_p`` column), so a strong effect is never reported as p = 0. Concordance is Harrell's
C of the linear predictor (:mod:`csim.forecast.concordance`, counted within strata and with left
truncation, as R's ``concordance(coxph(...))``), computed on first use because it costs more
than the fit on large tables.

**Left truncation** (``entry``) follows R ``survival`` and lifelines: a customer is at risk at a
churn time t when entry < t ≤ exit, the convention of csim's Kaplan–Meier too. A customer who
came under observation at tenure 3 was not watched *during* month 3, so cannot be among those
who might have churned then. statsmodels ``PHReg`` counts entry ≤ t (the customer entering at a
churn time is at risk at it), which with whole-month exports — where entries coincide with
churn months all the time — changes the estimates materially; the entries are therefore moved
up by one unit in the last place (``np.nextafter``) before they reach ``PHReg``, which turns its
closed interval into R's half-open one without changing any other time. A positive entry equal
to the exit (observed for no time) carries no information: such rows are dropped with a note,
as R drops them. An entry of 0 means observed from the start (as with no entry at all).

**Fits that cannot be estimated.** Constant covariates (within every stratum, when stratified)
and collinear covariates raise :class:`csim.forecast.mle.SingularFitError`, naming the columns,
before fitting. A covariate that separates churned from active customers (monotone likelihood:
e.g. a level in which nobody churns) has no finite estimate; as in R (``"coefficient may be
infinite"``) this is detected from the Newton step left at the optimum. The fit is kept:
``at_bound_`` names the coefficient and the direction it runs off to, its standard error,
z, p and interval are NaN (never 0), ``notes_`` says so, and the other coefficients carry the
standard errors of the limit (customers the diverging covariate puts at zero hazard drop out).
statsmodels' convergence warning for such a fit is passed on unchanged (callers watching
warnings still see it); ``at_bound_`` says what it means.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from csim.forecast.mle import (SingularFitError, _json_float, check_design, diverging, singular_information,
                               wald_p_values)

__all__ = ["CoxPH", "SingularFitError"]


class CoxPH:
    """Proportional-hazards regression: hazard(t | x) = h0(t)·exp(x'beta).

    ``ties``: ``"efron"`` or ``"breslow"``; ``level``: confidence level of the intervals in
    ``summary`` (0.95).

    After :meth:`fit`: ``params_`` (log hazard ratios), ``hazard_ratios_``, ``summary``
    (coef, se, z, p, log10_p, interval, hazard ratio with interval), ``loglik_`` (partial
    log-likelihood), ``aic_`` (partial AIC), ``baseline_survival_`` (survival at all
    covariates 0, one row per churn time), ``concordance_``, ``at_bound_`` (covariate →
    ``"+∞"``/``"−∞"`` for coefficients without a finite estimate), ``notes_`` (sentences on
    dropped rows and such coefficients) and ``degenerate_`` (the note on coefficients without a
    finite estimate, or None).
    """

    name = "cox"
    kind = "semiparametric"
    supports_entry = True
    supports_covariates = True
    needs_covariates = True
    needs_whole_periods = False
    needs_period_grid = False
    has_density = False
    whole_period_steps = False
    min_churn_tenures = 1

    def __init__(self, ties: str = "efron", level: float = 0.95):
        if ties not in ("efron", "breslow"):
            raise ValueError("ties must be 'efron' or 'breslow'")
        self.ties = ties
        self.level = level

    def fit(self, durations, events, entry=None, covariates: pd.DataFrame | None = None, strata=None):
        """Fit to tenures (periods), 0/1 churn flags and a DataFrame of numeric covariates.

        ``entry``: tenure at which each customer came under observation (left truncation; at
        risk at t when entry < t ≤ tenure). ``covariates``: required (a model of drivers needs
        some). ``strata``: optional labels; each stratum gets its own baseline hazard. Returns
        ``self``. Raises :class:`SingularFitError` for constant or collinear covariates.
        """
        from statsmodels.duration.hazard_regression import PHReg

        if covariates is None:
            raise ValueError("CoxPH needs covariates: fit(durations, events, entry=None, covariates=frame)")
        X = np.asarray(covariates, float)
        if X.ndim == 1:
            X = X[:, None]
        names = [str(c) for c in getattr(covariates, "columns", [f"x{i}" for i in range(X.shape[1])])]
        t = np.asarray(durations, float)
        d = np.asarray(events, float)
        a = None if entry is None else np.asarray(entry, float)
        s = None if strata is None else np.asarray(strata)
        self.notes_ = []
        if a is not None:
            empty = (a > 0) & (a >= t)
            if empty.any():
                keep = ~empty
                self.notes_.append(f"{int(empty.sum())} rows with entry tenure equal to their tenure (observed for no "
                                   "time) were left out, as R does")
                t, d, X, a = t[keep], d[keep], X[keep], a[keep]
                s = None if s is None else s[keep]
        check_design(X, names, strata=s, baseline="the baseline hazard" + ("s of the strata" if s is not None else ""))
        # R's risk set is entry < t <= exit; PHReg's is entry <= t <= exit (see module doc).
        entry_sm = None if a is None else np.where(a > 0, np.nextafter(a, np.inf), a)
        model = PHReg(t, X, status=d, entry=entry_sm, strata=s, ties=self.ties)
        try:
            self.result_ = result = model.fit()
        except np.linalg.LinAlgError:
            # statsmodels inverts the Hessian as it goes: name the columns that make it singular.
            self._raise_if_singular(-np.asarray(model.hessian(np.zeros(X.shape[1])), float), names)
            raise
        coef = np.asarray(result.params, float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            information = -np.asarray(model.hessian(coef), float)
            score = np.asarray(model.score(coef), float)
        sd = X.std(axis=0)
        edges = diverging(information, score, np.where(sd > 0, sd, 1.0), range(len(coef)), coef)
        free = np.array([j not in edges or edges[j] == 0 for j in range(len(coef))], bool)
        edges = {j: direction for j, direction in edges.items() if direction != 0}
        # What the design check cannot see: columns that vary only among customers never at risk
        # at a churn time (e.g. all entering after the last churn) carry no information at all.
        self._raise_if_singular(information[np.ix_(free, free)], [n for n, f in zip(names, free) if f])
        self.at_bound_ = {names[j]: ("+∞" if direction > 0 else "−∞") for j, direction in edges.items()}
        se = np.full(len(coef), np.nan)
        if free.any():
            # The limit's information: diverging coefficients no longer move the likelihood.
            block = information[np.ix_(free, free)]
            with np.errstate(invalid="ignore"):
                try:
                    se[free] = np.sqrt(np.diag(np.linalg.inv(block)))
                except np.linalg.LinAlgError:
                    se[free] = np.nan
        z_crit = stats.norm.ppf(0.5 + self.level / 2.0)
        pct = int(round(self.level * 100))
        with np.errstate(invalid="ignore", divide="ignore"):
            z = coef / se
        p, log10_p = wald_p_values(z)
        with np.errstate(over="ignore"):  # an interval reaching exp(710) is honestly infinite
            self._summary_table = pd.DataFrame({
                "coef": coef, "se": se, "z": z, "p": p, "log10_p": log10_p,
                f"lower_{pct}": coef - z_crit * se, f"upper_{pct}": coef + z_crit * se,
                "hazard_ratio": np.exp(coef),
                f"hr_lower_{pct}": np.exp(coef - z_crit * se), f"hr_upper_{pct}": np.exp(coef + z_crit * se),
            }, index=pd.Index(names, name="covariate"))
        if edges:
            self.notes_.append(self._edge_note(names, edges))
        self.degenerate_ = self.notes_[-1] if edges else None
        self.params_ = self._summary_table["coef"]
        self.hazard_ratios_ = self._summary_table["hazard_ratio"]
        self.loglik_ = float(result.llf)
        self.aic_ = 2.0 * len(coef) - 2.0 * self.loglik_
        self.n_obs_ = len(t)
        self.n_events_ = int(d.sum())
        self.covariate_names_ = names
        self._data = (t, d, X, a, s)
        if s is None:
            self.baseline_survival_ = self._baseline_survival(result, t, d, X, a)
        else:
            self.baseline_survival_ = None
        return self

    @property
    def summary(self) -> pd.DataFrame:
        """Per covariate: coef, se, z, p, log10_p, ``level`` interval, hazard ratio with interval."""
        return self._summary_table

    @staticmethod
    def _raise_if_singular(information, names) -> None:
        """Raise :class:`SingularFitError` naming the columns a singular information matrix leaves unidentified."""
        unidentified = singular_information(information)
        if unidentified is None:
            return
        cols = [n for n, u in zip(names, unidentified) if u]
        raise SingularFitError(cols, f"covariate{'s' if len(cols) > 1 else ''} {', '.join(cols)} cannot be "
                                     "estimated: among the customers at risk at the churn times "
                                     f"{'they are' if len(cols) > 1 else 'it is'} constant or collinear "
                                     f"(the information matrix is singular); drop {'one of them' if len(cols) > 1 else 'it'}")

    @staticmethod
    def _edge_note(names, edges) -> str:
        parts = []
        for j, direction in edges.items():
            effect = "0 (no churn)" if direction < 0 else "infinite"
            parts.append(f"the coefficient of {names[j]} runs off to {'+∞' if direction > 0 else '−∞'}: {names[j]} "
                         f"separates churned from active customers (e.g. a level in which nobody churns), so its "
                         f"hazard ratio tends to {effect}")
        return ("; ".join(parts) + "; the value shown is where the fit stopped and has no standard error, p-value or "
                "interval; the other coefficients are those of the limit")

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
        """Harrell's C of the fitted linear predictor on the fitting data (R ``concordance(fit)``)."""
        from csim.forecast.concordance import concordance_index

        t, d, X, entry, strata = self._data
        return concordance_index(t, X @ self.params_.to_numpy(), d, entry=entry, strata=strata)

    def survival_matrix(self, profiles: pd.DataFrame, times) -> np.ndarray:
        """S_i(t) = S0(t)^exp(x_i·β) for each row of ``profiles`` (customers × times).

        Columns of ``profiles`` are covariate names; missing ones count as 0 (the reference).
        Follows the Breslow baseline, so it is a step function defined up to the last churn time.
        """
        if self.baseline_survival_ is None:
            raise ValueError("stratified models have one baseline per stratum; predict per stratum is not offered")
        base = self.baseline_survival_
        idx = np.searchsorted(base["t"].to_numpy(), np.asarray(times, float), side="right") - 1
        s0 = np.where(idx >= 0, base["survival"].to_numpy()[np.clip(idx, 0, None)], 1.0)
        x = profiles.reindex(columns=self.covariate_names_).astype(float).fillna(0.0).to_numpy()
        return s0[None, :] ** np.exp(x @ self.params_.to_numpy())[:, None]

    def survival(self, times, profile=None) -> np.ndarray:
        """Predicted share still active at tenure ``times`` for one covariate profile.

        ``profile``: mapping name → value; missing names count as 0 (None: the reference, all 0).
        """
        return self.survival_matrix(pd.DataFrame([dict(profile or {})]), times)[0]

    def predict(self, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Survival at ``times`` (index "t") for each row of ``profiles`` (columns = covariate names).

        One column per profile, labelled by the index of ``profiles``; without ``profiles``, one
        "survival" column at the reference profile.
        """
        times = np.asarray(times, float)
        index = pd.Index(times, name="t")
        if profiles is None:
            return pd.DataFrame({"survival": self.survival(times)}, index=index)
        return pd.DataFrame(self.survival_matrix(profiles, times).T, index=index, columns=profiles.index)

    def to_dict(self) -> dict:
        """Plain-JSON description of the fit."""
        return {
            "model": "CoxPH",
            "ties": self.ties,
            # NaN (no standard error for a coefficient without a finite estimate) becomes null.
            "coefficients": {k: {c: _json_float(v) for c, v in row.items()}
                             for k, row in self.summary.to_dict(orient="index").items()},
            "loglik_partial": self.loglik_,
            "aic_partial": self.aic_,
            "concordance": _json_float(self.concordance_),
            "n": self.n_obs_,
            "events": self.n_events_,
            "at_bound": dict(self.at_bound_),
            "notes": list(self.notes_),
        }
