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

**Predicted survival** is ``S(t | x) = S0(t)^exp(x'beta)`` with ``S0 = exp(−H0)`` and ``H0`` the
Breslow cumulative baseline hazard (churns at each churn time divided by the sum of
``exp(x'beta)`` over the customers at risk then) at all covariates 0 — whatever the ``ties``
option, as R's ``survfit(fit, stype = 2, ctype = 1)``. **Strata** (``fit(..., strata=labels)``)
share the coefficients but each has its own baseline hazard, estimated the same way from its own
customers (risk sets never mix strata); a prediction then needs the stratum of each profile
(``survival(times, profile, stratum=…)``, ``predict(times, profiles, strata=…)``), and asking
without one, or for a stratum the fit has not seen, raises ValueError naming the strata. A stratum
in which nobody churned has baseline survival 1 throughout (said in ``notes_``).
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
    covariates 0, one row per churn time; None for a stratified fit), ``strata_`` (the stratum
    labels in sorted order, or None), ``baseline_survivals_`` (stratified fits: label → that
    stratum's baseline survival table, columns t and survival; None otherwise),
    ``concordance_``, ``at_bound_`` (covariate →
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
            self.strata_ = None
            self.baseline_survivals_ = None
            self.baseline_survival_ = self._baseline_survival(result, t, d, X, a)
        else:
            self.strata_ = np.unique(s).tolist()
            self.baseline_survivals_ = self._stratum_baselines(model, result, t, d, X, a, s)
            self.baseline_survival_ = None
            quiet = [label for label, base in self.baseline_survivals_.items() if not len(base)]
            if quiet:
                self.notes_.append(f"nobody churned in stratum{'s' if len(quiet) > 1 else ''} "
                                   f"{', '.join(map(repr, quiet))}: {'their' if len(quiet) > 1 else 'its'} baseline "
                                   "survival is 1 at every tenure "
                                   "(no churn observed, none predicted)")
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

    @classmethod
    def _baseline_survival(cls, result, t, d, X, entry) -> pd.DataFrame:
        """Breslow baseline survival S0(t) at all covariates 0, right-continuous (unstratified fit)."""
        times, cumhaz_before, _ = result.baseline_cumulative_hazard[0]
        return cls._breslow(times, cumhaz_before, t, d, X, entry, np.asarray(result.params, float))

    @classmethod
    def _stratum_baselines(cls, model, result, t, d, X, entry, strata) -> dict:
        """Stratum label → Breslow baseline survival of that stratum alone, at all covariates 0.

        statsmodels leaves out strata without churn (their baseline hazard is 0: survival 1); the
        others come in the order of its ``stratum_names``, each estimated from its own risk sets.
        """
        beta = np.asarray(result.params, float)
        by_name = dict(zip(model.surv.stratum_names, result.baseline_cumulative_hazard))
        baselines = {}
        for label in np.unique(strata).tolist():
            rows = strata == label
            if label not in by_name:
                baselines[label] = pd.DataFrame({"t": np.empty(0), "survival": np.empty(0)})
                continue
            times, cumhaz_before, _ = by_name[label]
            baselines[label] = cls._breslow(times, cumhaz_before, t[rows], d[rows], X[rows],
                                            None if entry is None else entry[rows], beta)
        return baselines

    @staticmethod
    def _breslow(times, cumhaz_before, t, d, X, entry, beta) -> pd.DataFrame:
        """Right-continuous S0 = exp(−H0) at the churn ``times`` of one set of risk sets.

        statsmodels reports the cumulative hazard *just before* each churn time
        (``cumsum(h0) - h0``). Shifting it by one churn time gives the usual right-continuous
        value; only the jump at the last churn time is missing, and it is added here from its
        definition (churns at that time / sum of exp(x'beta) over the customers at risk, entry <
        t ≤ exit). ``t, d, X, entry``: the rows of these risk sets (one stratum, or all).
        """
        times = np.asarray(times, float)
        cumhaz_before = np.asarray(cumhaz_before, float)
        last = times[-1]
        at_risk = t >= last
        if entry is not None:
            at_risk &= np.asarray(entry, float) < last
        risk = np.exp(X[at_risk] @ beta)
        last_jump = float(np.sum(d[t == last])) / float(risk.sum())
        cumhaz = np.append(cumhaz_before[1:], cumhaz_before[-1] + last_jump)
        return pd.DataFrame({"t": times, "survival": np.exp(-cumhaz)})

    @cached_property
    def concordance_(self) -> float:
        """Harrell's C of the fitted linear predictor on the fitting data (R ``concordance(fit)``)."""
        from csim.forecast.concordance import concordance_index

        t, d, X, entry, strata = self._data
        return concordance_index(t, X @ self.params_.to_numpy(), d, entry=entry, strata=strata)

    def _profile_strata(self, n_profiles: int, strata, profiles: pd.DataFrame | None = None) -> list | None:
        """The stratum of each of ``n_profiles`` profiles (None for an unstratified fit); ValueError otherwise.

        ``strata``: one label per profile, or the name of a column of ``profiles`` holding them.
        """
        if self.strata_ is None:
            if strata is not None:
                raise ValueError("this Cox model was fitted without strata (one baseline hazard for everyone): "
                                 "predict without strata")
            return None
        known = ", ".join(map(repr, self.strata_))
        if strata is None:
            raise ValueError(f"this Cox model was fitted with strata, each with its own baseline hazard: give the "
                             f"stratum of each profile (strata: {known})")
        if isinstance(strata, str):
            if profiles is None or strata not in profiles.columns:
                raise ValueError(f"strata must be one label per profile or the name of a column of profiles; "
                                 f"{strata!r} is not a column")
            labels = profiles[strata].tolist()
        else:
            labels = np.asarray(strata, dtype=object).ravel().tolist()
        if len(labels) != n_profiles:
            raise ValueError(f"strata must have one label per profile: {len(labels)} labels for {n_profiles} profiles")
        for label in labels:
            if label not in self.baseline_survivals_:
                raise ValueError(f"unknown stratum {label!r}; the strata of this fit are {known}")
        return labels

    @staticmethod
    def _step(base: pd.DataFrame, times: np.ndarray) -> np.ndarray:
        """A baseline survival table read as a right-continuous step function (1 before its first churn)."""
        idx = np.searchsorted(base["t"].to_numpy(), times, side="right") - 1
        if not len(base):
            return np.ones(len(times))
        return np.where(idx >= 0, base["survival"].to_numpy()[np.clip(idx, 0, None)], 1.0)

    def survival_matrix(self, profiles: pd.DataFrame, times, strata=None) -> np.ndarray:
        """S_i(t) = S0(t)^exp(x_i·β) for each row of ``profiles`` (customers × times).

        Columns of ``profiles`` are covariate names; missing ones count as 0 (the reference).
        ``strata`` (stratified fits only, then required): the stratum of each row — one label per
        row, or the name of a column of ``profiles`` — whose baseline ``S0`` that row follows.
        Follows the Breslow baseline, so it is a step function defined up to the last churn time
        (of the stratum).
        """
        times = np.asarray(times, float).ravel()
        labels = self._profile_strata(len(profiles), strata, profiles)
        x = profiles.reindex(columns=self.covariate_names_).astype(float).fillna(0.0).to_numpy()
        risk = np.exp(x @ self.params_.to_numpy())
        if labels is None:
            s0 = self._step(self.baseline_survival_, times)[None, :]
        else:
            s0 = np.empty((len(labels), len(times)))
            for i, label in enumerate(labels):
                s0[i] = self._step(self.baseline_survivals_[label], times)
        return s0 ** risk[:, None]

    def survival(self, times, profile=None, stratum=None) -> np.ndarray:
        """Predicted share still active at tenure ``times`` (periods) for one covariate profile.

        ``profile``: mapping name → value; missing names count as 0 (None: the reference, all 0).
        ``stratum``: the profile's stratum (required for, and only for, a stratified fit).
        """
        return self.survival_matrix(pd.DataFrame([dict(profile or {})]), times,
                                    strata=None if stratum is None else [stratum])[0]

    def predict(self, times, profiles: pd.DataFrame | None = None, strata=None) -> pd.DataFrame:
        """Survival at ``times`` (index "t") for each row of ``profiles`` (columns = covariate names).

        One column per profile, labelled by the index of ``profiles``; without ``profiles``, one
        "survival" column at the reference profile. Stratified fits need ``strata``: with
        ``profiles``, one label per row or the name of a column of ``profiles``; without, a label
        or a list of labels, giving one column per stratum (labelled by it) at the reference profile.
        """
        times = np.asarray(times, float)
        index = pd.Index(times, name="t")
        if profiles is None:
            if strata is None:
                return pd.DataFrame({"survival": self.survival(times)}, index=index)
            labels = [strata] if isinstance(strata, str) or np.ndim(strata) == 0 else list(strata)
            reference = pd.DataFrame(index=range(len(labels)), columns=self.covariate_names_, dtype=float)
            return pd.DataFrame(self.survival_matrix(reference, times, strata=labels).T, index=index,
                                columns=pd.Index(labels, name="stratum"))
        return pd.DataFrame(self.survival_matrix(profiles, times, strata=strata).T, index=index,
                            columns=profiles.index)

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
