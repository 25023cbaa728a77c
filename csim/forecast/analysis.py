"""Run every applicable model on one input and collect the results as plain data.

:func:`analyse_tenure` serves customer, subscription and simulated account tables;
:func:`analyse_cohorts` serves survivor tables. Both return a dict that
:mod:`csim.forecast.report` writes as ``forecast.json``, ``survival.csv``, figures and
``report.md``; fitted objects are kept under ``"_fitted"`` for the figures only.

Robustness rules (the same for every input):

* A model the data cannot support (too few distinct churn tenures for its parameters, churn at
  tenure 0 for a continuous model, fractional tenures for a contract model, a fit that fails)
  is **skipped with a note**; if no model is left, :class:`csim.errors.InputError` says why.
* A fit that **degenerates** (estimates running off to a boundary, a singular information
  matrix) is kept with its reason under ``"degenerate"``: its estimates are shown without
  intervals and its projections without bands (null), never with a zero-width interval.
* Numerical **warnings** (overflow, convergence, …) raised while fitting or projecting are
  recorded, not printed: counted per model and stage under ``"numerical_warnings"`` and
  summarised in ``"notes"``.

Whenever a Cox model of covariates is fitted, its proportional-hazards assumption is tested
(:mod:`csim.forecast.ph_test`, R's ``cox.zph``, transform "km"; one term per input covariate, so a
categorical covariate is tested with one degree of freedom per non-reference level) under
``"ph_test"``.

Group comparison (``--group``): groups are listed in **natural order**, numbers inside labels
compared as numbers ("1-10", "10-50", "50-100", "100-250", then "self-employed"), so the order
does not depend on the rows' order and size bands read in size order. The reference group is the
one named by ``--reference COLUMN=LEVEL``; without it, the reference level of the same column
among the covariates when the group column is also a categorical covariate (so the drivers table
and the group table compare with the same level), else the first group in natural order.
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from csim.errors import InputError
from csim.forecast import projection
from csim.forecast.backtest import backtest_cohorts, backtest_tenure
from csim.forecast.compare import compare_groups
from csim.forecast.cox import CoxPH
from csim.forecast.discrete import is_coarse_grid
from csim.forecast.nonparametric import KaplanMeier
from csim.forecast.parametric import WeibullFitter
from csim.forecast.ph_test import cox_zph
from csim.forecast.registry import MODELS, in_projection_order, model_names, projection_models

#: Level at which report and forecast.json call the proportional-hazards test a rejection.
PH_TEST_LEVEL = 0.05

#: Errors a fit may raise on data it cannot handle; the model is then skipped with a note.
FIT_ERRORS = (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError)

#: Most held-out periods a tenure backtest scores (one per whole period after the cut).
MAX_BACKTEST_PERIODS = 10_000

#: Names for people (reports); the JSON keeps the short names. The registry's labels, and the
#: Weibull AFT model of the covariates, which is a Weibull fit rather than a model of its own.
MODEL_LABELS = {**{name: entry.label for name, entry in MODELS.items()}, "weibull_aft": "Weibull AFT"}
PARAMETER_LABELS = {
    "exponential": {"lambda_": "scale λ (mean tenure)"},
    "weibull": {"lambda_": "scale λ", "rho_": "shape ρ"},
    "lognormal": {"mu_": "location μ (mean of log tenure)", "sigma_": "spread σ (sd of log tenure)"},
    "loglogistic": {"alpha_": "scale α (median tenure)", "beta_": "shape β"},
    "sbg": {"alpha_": "shape α", "beta_": "shape β"},
    "bdw": {"alpha_": "shape α", "beta_": "shape β", "c_": "time shape c"},
    "weibull_aft": {"lambda_": "log scale λ", "rho_": "shape ρ"},
}


def parameter_label(model: str, name: str) -> str:
    """``("loglogistic", "alpha_")`` → ``"scale α (median tenure)"``; AFT terms keep their covariate."""
    labels = PARAMETER_LABELS.get(model, {})
    if ": " in name:
        base, term = name.split(": ", 1)
        return f"{labels.get(base, base.rstrip('_'))}: {'intercept' if term == 'Intercept' else term}"
    return labels.get(name, name.rstrip("_"))


@dataclass
class ForecastOptions:
    """What to project and how (periods are the data's unit; rates are per period)."""

    horizon: int = 24
    at: list[float] = field(default_factory=lambda: [3.0, 6.0, 12.0])
    models: list[str] | None = None
    backtest_periods: int | None = None
    arpa: float = 1.0
    expansion_rate: float = 0.0
    discount_rate: float = 0.0
    gross_margin: float = 1.0
    cohort_size: float | None = None
    draws: int = 2000
    seed: int = 0


def record_warnings() -> None:
    """Inside ``warnings.catch_warnings(record=True)``: record every warning raised, each time.

    Deprecation warnings are left to the filters already in force: they concern the code, not
    the data, and a test run that turns them into errors must still see them.
    """
    for category in (RuntimeWarning, UserWarning, FutureWarning, ResourceWarning, SyntaxWarning, ImportWarning,
                     BytesWarning, UnicodeWarning):
        warnings.filterwarnings("always", category=category)


class Diagnostics:
    """Warnings raised while fitting and projecting, counted by (model, stage, category, message)."""

    def __init__(self):
        self._counts: dict[tuple[str, str, str, str], int] = {}

    @contextmanager
    def watch(self, model: str, stage: str):
        """Record every warning raised inside the block (yields the list of them)."""
        with warnings.catch_warnings(record=True) as caught:
            record_warnings()
            yield caught
        for item in caught:
            message = " ".join(str(item.message).split())
            key = (model, stage, item.category.__name__, message)
            self._counts[key] = self._counts.get(key, 0) + 1

    def records(self) -> list[dict]:
        """One dict per distinct warning: model, stage, category, message, count."""
        return [{"model": m, "stage": s, "category": c, "message": msg, "count": n}
                for (m, s, c, msg), n in self._counts.items()]

    def notes(self) -> list[str]:
        """One line per model and stage, e.g. ``weibull (fit): 3 numerical warnings: RuntimeWarning …``."""
        grouped: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        for (model, stage, category, message), count in self._counts.items():
            grouped.setdefault((model, stage), []).append((category, message, count))
        lines = []
        for (model, stage), items in grouped.items():
            total = sum(n for _, _, n in items)
            detail = "; ".join(f"{c} '{m[:120]}' ×{n}" for c, m, n in items)
            lines.append(f"{model} ({stage}): {total} numerical warning{'s' if total != 1 else ''}: {detail}")
        return lines


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _records(frame: pd.DataFrame, index_name: str = "t") -> list[dict]:
    out = frame.reset_index().rename(columns={"index": index_name})
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            for row in out.to_dict(orient="records")]


def _nan_to_none(value):
    value = float(value)
    return value if np.isfinite(value) else None


def _km_result(km: KaplanMeier, at) -> dict:
    low, high = km.median_ci_
    return {"median": _nan_to_none(km.median_), "median_ci": [_nan_to_none(low), _nan_to_none(high)],
            "quantiles": {str(p): _nan_to_none(km.quantile(p)) for p in (0.25, 0.5, 0.75)},
            "at": _records(km.at(at))}


def _projections(fitted: dict, options: ForecastOptions, initial: float, discrete: dict,
                 diagnostics: Diagnostics) -> dict:
    grid = np.arange(0, options.horizon + 1, dtype=float)
    out = {"method": "pointwise 95% percentile bands from draws of the MLE's asymptotic normal law "
                     f"(parametric bootstrap of the parameters, {options.draws} draws, seed {options.seed}); "
                     "degenerate fits have no bands",
           "survival": {}, "customers": {}, "residual_lifetime": {}, "revenue": {}, "ltv": {}, "cohort_nrr": {}}
    kw = {"draws": options.draws, "seed": options.seed}
    for name, model in fitted.items():
        with diagnostics.watch(name, "projection"):
            out["survival"][name] = _records(projection.survival_band(model, grid, **kw))
            out["customers"][name] = _records(projection.expected_alive(model, grid, initial, **kw))
            out["residual_lifetime"][name] = [
                projection.residual_lifetime(model, age, options.horizon, discrete[name], **kw)
                for age in [0.0, *options.at]]
            out["revenue"][name] = _records(projection.revenue_projection(
                model, options.horizon + 1, initial, options.arpa, options.expansion_rate, options.discount_rate,
                options.gross_margin, **kw))
            out["ltv"][name] = projection.lifetime_value(model, options.arpa, options.horizon + 1,
                                                         options.gross_margin, options.discount_rate,
                                                         options.expansion_rate, **kw)
            window = min(12.0, float(options.horizon))
            out["cohort_nrr"][name] = projection.cohort_nrr(model, 0.0, window, options.expansion_rate, **kw)
    return out


def _aic_table(fitted: dict, family: dict) -> list[dict]:
    rows = [{"model": n, "family": family[n], "loglik": m.loglik_, "aic": m.aic_, "parameters": m.n_params,
             "degenerate": bool(m.degenerate_)}
            for n, m in fitted.items()]
    rows.sort(key=lambda r: (r["family"], r["aic"]))
    for fam in set(family.values()):
        best = min(r["aic"] for r in rows if r["family"] == fam)
        for r in rows:
            if r["family"] == fam:
                r["delta_aic"] = r["aic"] - best
    return rows


def _model_dict(name: str, model) -> dict:
    out = model.to_dict()
    out["labels"] = {p: parameter_label(name, p) for p in out["parameters"]}
    return out


def _fit(name: str, fit, diagnostics: Diagnostics, notes: list[str], skipped: dict, projected: bool = True):
    """Run ``fit()`` watching warnings; a failure skips the model with a note, a degenerate fit is noted."""
    with diagnostics.watch(name, "fit"):
        try:
            model = fit()
        except FIT_ERRORS as exc:
            reason = f"the fit failed ({_one_line(exc)})"
            notes.append(f"{name}: skipped, {reason}")
            skipped[name] = reason
            return None
    if model.degenerate_:
        notes.append(f"{name}: degenerate fit, {model.degenerate_}; estimates are shown without intervals"
                     + (" and projections without bands" if projected else ""))
    return model


def _skip(name: str, reason: str, notes: list[str], skipped: dict) -> None:
    notes.append(f"{name}: skipped, {reason}")
    skipped[name] = reason


def _nothing_fitted(source: str, where: str | None, skipped: dict) -> InputError:
    by_reason: dict[str, list[str]] = {}
    for name, reason in skipped.items():
        by_reason.setdefault(reason, []).append(name)
    reasons = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items()) \
        or "no model was asked for"
    return InputError(source, where, f"no model could be fitted ({reasons})")


def _backtests(run_one, names, k, diagnostics: Diagnostics, notes: list[str]) -> dict | None:
    """Backtest each model on its own (one failing model leaves the others); None if none could be."""
    summaries, periods = [], []
    for name in names:
        with diagnostics.watch(name, "backtest"):
            try:
                summary, per_period = run_one(name)
            except FIT_ERRORS as exc:
                notes.append(f"{name}: left out of the backtest ({_one_line(exc)})")
                continue
        summaries.append(summary)
        periods.append(per_period)
    if not summaries:
        return None
    summary = pd.concat(summaries).sort_values("mape")
    per_period = pd.concat(periods, ignore_index=True)
    return {"fit_until": k, "summary": _records(summary, "model"), "per_period": _records(per_period.set_index("model"),
                                                                                          "model")}


def _cox_problem(model, caught) -> str | None:
    """Why a Cox / AFT fit cannot be reported (did not converge, infinite or huge errors), or None.

    A covariate that separates churned from active customers (monotone likelihood) is not a
    problem of the fit: its coefficient runs off to ±∞ (``at_bound_``), has no interval, and the
    others are reported at the limit, as R's coxph does; only the remaining coefficients are checked.
    """
    at_bound = set(getattr(model, "at_bound_", None) or {})
    if not at_bound and any(w.category.__name__ == "ConvergenceWarning" for w in caught):
        return "the fit did not converge"
    summary = model.summary
    finite = ~summary.index.isin(list(at_bound))
    se = summary["se"].to_numpy(float)[finite]
    coef = summary.iloc[:, 0].to_numpy(float)[finite]
    if not (np.all(np.isfinite(se)) and np.all(np.isfinite(coef))):
        return "the fit has infinite or undefined standard errors"
    if len(se) and np.max(se) > 1e3:
        return "a coefficient is not identified (standard error above 1000)"
    return None


def analyse_tenure(data, options: ForecastOptions, covariates: pd.DataFrame | None = None,
                   encoding: dict | None = None, groups=None, group_name: str | None = None,
                   group_reference: str | None = None, causes: tuple[np.ndarray, dict] | None = None,
                   strata: tuple[str, np.ndarray] | None = None) -> dict:
    """All models for a tenure table (:class:`csim.forecast.data.SurvivalData`).

    ``causes``: (cause code per row, 0 = not churned; code → label) when the table says why each
    customer churned (:func:`csim.forecast.competing.cause_codes`): adds the competing-risks
    analysis (cumulative incidence per cause; a Cox model per cause with ``covariates``).
    ``strata``: (column, label per row): the covariate Cox model gets a baseline per label.
    """
    t, d, a = data.durations, data.events, data.entry
    notes = list(data.notes)
    diagnostics = Diagnostics()
    source = data.source or "data"
    duration_where = f"column '{data.columns['duration']}'" if data.columns.get("duration") else None
    if not np.any(d > 0):
        event = data.columns.get("event")
        raise InputError(source, f"column '{event}'" if event else None,
                         "no churn events: every row is censored; survival models need at least one")
    subjects = data.subjects
    result = {"input": {"kind": "tenure", "source": data.source,
                        "customers": int(subjects) if subjects is not None else int(len(t)), "churned": int(d.sum()),
                        "unit": data.unit, "left_truncated": int(np.sum(a > 0)) if a is not None else 0},
              "notes": notes}
    if subjects is not None:
        result["input"]["rows"] = int(len(t))
        result["input"]["counting_process"] = True
    with diagnostics.watch("kaplan_meier", "fit"):
        km = KaplanMeier().fit(t, d, entry=a)
        result["kaplan_meier"] = _km_result(km, options.at)
    fitted, family, discrete, skipped = {}, {}, {}, {}
    wanted = in_projection_order(options.models or projection_models())
    zero_events = int(np.sum((t <= 0) & (d > 0)))
    churn_tenures = len(np.unique(t[(d > 0) & (t > 0)]))
    truncated = a is not None and bool(np.any(a > 0))
    whole_ok = data.whole_periods and not np.any((t < 1) & (d > 0))
    # Whole-period tenures without left truncation: the data contract-renewal models describe, on
    # which a discrete-time hazard has their likelihood too (same AIC family).
    contract_ok = whole_ok and not truncated

    def unsupported(spec) -> str | None:
        """Why the data do not suit a model (read from its class's capabilities), or None."""
        cls = spec.cls
        if cls.needs_whole_periods and not (whole_ok and (cls.supports_entry or not truncated)):
            return (f"{spec.kind.replace('_', '-')} models need whole-period tenures, churn at tenure ≥ 1"
                    + ("" if cls.supports_entry else " and no left truncation"))
        if cls.has_density and zero_events:
            churns = f"{zero_events} churns at tenure 0 have" if zero_events != 1 else "1 churn at tenure 0 has"
            return f"{churns} zero density under a continuous model"
        # Tenures counted in whole periods are interval-censored: the discrete-time model treats
        # them as such (Kaplan–Meier on the grouped data when nothing else is in it).
        if cls.needs_period_grid and not is_coarse_grid(t):
            return "tenures are not on a whole-period grid (fewer than 95 % are whole periods)"
        need = cls.min_churn_tenures
        if churn_tenures < need:
            have = f"{churn_tenures} distinct" if churn_tenures else "no"
            return (f"its {need} parameters need churns at {need} or more different tenures; the data have "
                    f"{have} positive churn tenure{'s' if churn_tenures != 1 else ''}")
        return None

    for name in wanted:
        spec = MODELS[name]
        reason = unsupported(spec)
        if reason:
            _skip(name, reason, notes, skipped)
            continue
        model = _fit(name, lambda s=spec: s.make().fit(t, d, entry=a if s.cls.supports_entry else None),
                     diagnostics, notes, skipped)
        if model is not None:
            fitted[name] = model
            # AIC compares likelihoods of one kind: densities in time, or probabilities per period.
            steps = spec.cls.whole_period_steps
            family[name] = ("contract" if contract_ok else "discrete") if steps else "continuous"
            discrete[name] = steps
    if not fitted:
        raise _nothing_fitted(source, "--models" if options.models else duration_where, skipped)
    result["models"] = {name: _model_dict(name, model) for name, model in fitted.items()}
    result["model_choice"] = {"by_aic": _aic_table(fitted, family),
                              "note": "AIC compares models within a family only: contract models use a discrete "
                                      "likelihood (per renewal), continuous models a density in time."}
    k = options.backtest_periods or int(max(1, np.floor(np.max(t[d > 0]) / 2)))
    last_churn = float(np.floor(np.max(t[d > 0])))
    if last_churn - k > MAX_BACKTEST_PERIODS:
        notes.append(f"backtest skipped: {last_churn - k:,.6g} periods after tenure {k:g} to score (at most "
                     f"{MAX_BACKTEST_PERIODS:,}); give --backtest-periods closer to the last churn")
    elif k < last_churn:
        backtest = _backtests(lambda name: backtest_tenure(t, d, k, models=[name], entry=a), list(fitted), k,
                              diagnostics, notes)
        if backtest is not None:
            result["model_choice"]["backtest"] = backtest
    else:
        notes.append(f"backtest skipped: no churn after tenure {k:g} to score (the last churn is at {last_churn:g})")
    if covariates is not None and covariates.shape[1]:
        _covariate_models(result, t, d, a, covariates, encoding, zero_events, diagnostics, notes, strata)
        if contract_ok and "sbg" in fitted:
            _contract_covariates(result, t, d, covariates, encoding, diagnostics, notes)
        cox = result.get("_fitted_cox")
        if cox is not None and strata is not None:
            # Scoring held-out customers of a stratified model needs their stratum's baseline in
            # every fold; not offered yet.
            notes.append("prediction quality: not measured for a stratified Cox model (--strata)")
        elif cox is not None and getattr(cox, "at_bound_", None):
            notes.append("prediction quality: not measured, a Cox coefficient runs off to infinity (see above)")
        elif cox is not None and subjects is not None:
            # A customer's later rows hold covariate values nobody knew at the start: scoring a
            # prediction would need the path of the covariates ahead, which the table does not give.
            notes.append("prediction quality: not measured for a counting-process table (predicting a customer's "
                         "churn needs its covariates' future values)")
        elif cox is not None:
            _prediction_quality(result, t, d, a, covariates, options, diagnostics, notes)
    if groups is not None:
        _group_comparison(result, t, d, a, groups, group_name, group_reference, options, diagnostics, notes,
                          encoding=encoding)
    if causes is not None:
        _competing_risks(result, t, causes, a, covariates, options, data.unit, diagnostics, notes)
    initial = options.cohort_size or float(result["input"]["customers"])
    result["projections"] = _projections(fitted, options, initial, discrete, diagnostics)
    result["projections"]["cohort_size"] = initial
    _recommend(result, family)
    result["_fitted"] = fitted
    result["_km"] = km
    _finish_notes(result, diagnostics)
    return result


def _covariate_models(result, t, d, a, covariates, encoding, zero_events, diagnostics, notes, strata=None) -> None:
    labels = None if strata is None else strata[1]
    with diagnostics.watch("cox", "fit") as caught:
        try:
            cox = CoxPH().fit(t, d, entry=a, covariates=covariates, strata=labels)
            problem = _cox_problem(cox, caught)
            cox_dict = None if problem else cox.to_dict()
        except FIT_ERRORS as exc:
            cox, problem = None, f"the fit failed ({_one_line(exc)})"
    if problem:
        notes.append(f"cox: skipped, {problem} (a covariate may separate churned from active customers "
                     "perfectly, or a level may have no churn)")
    else:
        result["cox"] = cox_dict
        result["cox"]["encoding"] = encoding
        if strata is not None:
            result["cox"]["strata"] = {"column": strata[0], "levels": natural_sorted(set(labels))}
        notes.extend(f"cox: {note}" for note in getattr(cox, "notes_", None) or [])
        result["_fitted_cox"] = cox
        _ph_test(result, cox, t, d, a, covariates, encoding, diagnostics, notes, labels)
    if zero_events:
        notes.append("weibull_aft: skipped, churns at tenure 0 have zero density under a continuous model")
        return
    aft = _fit("weibull_aft", lambda: WeibullFitter().fit(t, d, entry=a, covariates=covariates), diagnostics,
               notes, {}, projected=False)
    if aft is not None:
        result["weibull_aft"] = _model_dict("weibull_aft", aft)


def _competing_risks(result, t, causes, a, covariates, options, unit, diagnostics, notes) -> None:
    """Cumulative incidence per churn cause (and a Cox model per cause with covariates)."""
    from csim.forecast.competing import competing_risks_analysis

    codes, labels = causes
    with diagnostics.watch("competing_risks", "fit"):
        try:
            analysis = competing_risks_analysis(t, codes, labels, entry=a, covariates=covariates, at=options.at,
                                                unit=unit)
        except FIT_ERRORS as exc:
            notes.append(f"competing risks: skipped ({_one_line(exc)})")
            return
    # The fitted objects stay out of forecast.json (underscore keys are private to the report).
    result["_cif"] = analysis.pop("_cif", None)
    result["_cause_models"] = analysis.pop("_cause_models", None)
    result["competing_risks"] = analysis


def _contract_covariates(result, t, d, covariates, encoding, diagnostics, notes) -> None:
    """sBG with the covariates on both alpha and beta (whole-period data): the renewal law per level."""
    fit = _fit("sbg_covariates", lambda: MODELS["sbg"].make().fit(t, d, covariates=covariates), diagnostics, notes,
               {}, projected=False)
    if fit is None:
        return
    out = _model_dict("sbg_covariates", fit)
    # One profile per level of each text covariate (its 0/1 column set, the reference level's all
    # 0); numeric covariates at their mean, since 0 may lie far outside the data.
    level_columns = {f"{name} = {level}": f"{name}[{level}]" for name, spec in (encoding or {}).items()
                     if spec.get("type") == "categorical" for level in natural_sorted(spec["levels"])}
    dummies = set(level_columns.values())
    base = {c: (0.0 if c in dummies else float(covariates[c].mean())) for c in covariates.columns}
    out["profiles_note"] = "numeric covariates at their mean" if any(c not in dummies for c in covariates.columns) else ""
    profiles = {label: ({column: 1.0} if column in covariates.columns else {})
                for label, column in level_columns.items()} or {"reference": {}}
    levels = []
    for label, profile in profiles.items():
        table = fit.parameters_at({**base, **profile})
        low, high = table.columns[2], table.columns[3]  # lower_95 / upper_95 (named by the level)
        row = {"profile": label}
        for parameter in ("alpha", "beta"):
            row[parameter] = _nan_to_none(float(table.loc[f"{parameter}_", "estimate"]))
            row[f"{parameter}_lower"] = _nan_to_none(float(table.loc[f"{parameter}_", low]))
            row[f"{parameter}_upper"] = _nan_to_none(float(table.loc[f"{parameter}_", high]))
        a, b = row["alpha"], row["beta"]
        row["mean_churn"] = None if a is None or b is None else a / (a + b)
        levels.append(row)
    out["levels"] = levels
    result["sbg_covariates"] = out


def ph_terms(columns, encoding: dict | None) -> dict[str, list[str]]:
    """Design columns of each input covariate (``company_size`` → its 0/1 level columns)."""
    columns = [str(c) for c in columns]
    terms: dict[str, list[str]] = {}
    for name, spec in (encoding or {}).items():
        if spec.get("type") == "categorical":
            cols = [f"{name}[{level}]" for level in spec["levels"] if level != spec["reference"]]
        else:
            cols = [name]
        cols = [c for c in cols if c in columns]
        if cols:
            terms[name] = cols
    return terms


def _ph_test(result, cox, t, d, a, covariates, encoding, diagnostics, notes, strata=None) -> None:
    """Grambsch–Therneau test of the covariate Cox model (transform "km"), or a note why not."""
    with diagnostics.watch("ph_test", "fit"):
        try:
            zph = cox_zph(cox, t, d, covariates, entry=a, strata=strata, transform="km",
                          terms=ph_terms(covariates.columns, encoding))
        except FIT_ERRORS as exc:
            notes.append(f"ph_test: proportional-hazards test skipped ({_one_line(exc)})")
            return
    out = zph.to_dict(PH_TEST_LEVEL)
    if zph.degenerate:
        notes.append(f"ph_test: the proportional-hazards test is undefined: {zph.degenerate}")
    else:
        terms = zph.table.drop(index="GLOBAL")
        out["figure_term"] = str(terms["p"].idxmin())  # the term drawn in ph_residuals.png
        result["_ph_test"] = zph
    result["ph_test"] = out


_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def natural_key(label) -> tuple:
    """Sort key comparing the numbers inside labels as numbers: "50-100" before "100-250".

    Text parts compare case-insensitively; labels equal under that rule keep their text order.
    """
    text = str(label)
    parts = _NUMBER.split(text)  # text, number, text, number, …, text
    key = tuple((0, float(part), "") if i % 2 else (1, 0.0, part.casefold()) for i, part in enumerate(parts))
    return key, text


def natural_sorted(labels) -> list[str]:
    """Distinct labels in natural order (see :func:`natural_key`)."""
    return sorted({str(x) for x in labels}, key=natural_key)


def _group_reference(levels: list[str], group_name, group_reference, encoding) -> str:
    """--reference for the group column, else the covariate encoding's reference, else the first level."""
    if group_reference is not None:
        return str(group_reference)
    spec = (encoding or {}).get(group_name)
    if spec and spec.get("type") == "categorical" and spec.get("reference") in levels:
        return spec["reference"]
    return levels[0]


def _group_comparison(result, t, d, a, groups, group_name, group_reference, options, diagnostics, notes,
                      encoding=None) -> None:
    levels = natural_sorted(pd.Series(np.asarray(groups)).astype(str))
    reference = _group_reference(levels, group_name, group_reference, encoding)
    with diagnostics.watch("groups", "fit") as caught:
        try:
            comparison = compare_groups(t, d, groups, entry=a, times=options.at, reference=reference)
        except FIT_ERRORS as exc:
            notes.append(f"groups: comparison skipped ({_one_line(exc)})")
            return
    # compare_groups lists groups in text order; show them in natural order.
    comparison["summary"] = comparison["summary"].loc[levels]
    if "survival_at" in comparison:
        comparison["survival_at"] = comparison["survival_at"][levels]
    cox_order = [f"group[{level}]" for level in levels if f"group[{level}]" in comparison["cox"].index]
    comparison["cox"] = comparison["cox"].loc[cox_order + [i for i in comparison["cox"].index if i not in cox_order]]
    cox_rows = _records(comparison["cox"], "covariate")
    se = comparison["cox"]["se"].to_numpy(float)
    if any(w.category.__name__ == "ConvergenceWarning" for w in caught) or not np.all(np.isfinite(se)) \
            or (len(se) and np.max(se) > 1e3):
        notes.append(f"groups: hazard ratios by {group_name} left out, the Cox fit did not converge (a group "
                     "without churn has a hazard ratio of 0)")
        cox_rows = []
    result["groups"] = {
        "column": group_name, "reference": comparison["reference"],
        "order": "natural: numbers inside labels compared as numbers",
        "summary": _records(comparison["summary"], "group"),
        "survival_at": _records(comparison["survival_at"]),
        "log_rank": _records(comparison["log_rank"], "test"),
        "cox": cox_rows,
        "cox_concordance": _nan_to_none(comparison["cox_concordance"]) if cox_rows else None,
    }
    labels = pd.Series(np.asarray(groups)).astype(str)
    with diagnostics.watch("groups", "fit"):
        result["_group_curves"] = {g: KaplanMeier().fit(t[(labels == g).to_numpy()], d[(labels == g).to_numpy()],
                                                        None if a is None else a[(labels == g).to_numpy()], label=g)
                                   for g in levels}


def _finish_notes(result: dict, diagnostics: Diagnostics) -> None:
    result["notes"].extend(diagnostics.notes())
    result["numerical_warnings"] = diagnostics.records()


def analyse_cohorts(labels: list[str], cohorts: list[list[float]], options: ForecastOptions,
                    source: str = "cohorts") -> dict:
    """sBG and BdW fits, backtest and projections for cohort survivor counts."""
    notes: list[str] = []
    diagnostics = Diagnostics()
    result = {"input": {"kind": "cohorts", "source": source,
                        "cohorts": [{"label": lab, "survivors": list(map(float, c))} for lab, c in zip(labels, cohorts)],
                        "unit": "periods"}, "notes": notes}
    # Survivor counts suit the models fitted per renewal from counts alone.
    survivor_models = model_names(kind="contract_renewal")
    asked = options.models or survivor_models
    wanted = [m for m in asked if m in survivor_models]
    for name in asked:
        if name not in survivor_models:
            notes.append(f"{name}: skipped, survivor counts take the contract-renewal models only "
                         f"({', '.join(survivor_models)})")
    if not wanted:
        raise InputError("--models", ",".join(asked), "survivor counts take the contract-renewal models only; "
                                                      f"choose one or more of {', '.join(survivor_models)}")
    for label, c in zip(labels, cohorts):
        if len(c) == 1:
            notes.append(f"cohort {label}: only its period-0 count ({c[0]:g} customers), so it holds no churn yet "
                         "and adds nothing to the fits")
    fitted, skipped = {}, {}
    longest = max(len(c) for c in cohorts) - 1
    periods_with_churn = len({t for c in cohorts for t in range(1, len(c)) if c[t] < c[t - 1]})
    for name in wanted:
        cls = MODELS[name].cls
        need = cls.min_churn_tenures
        if longest < cls.min_survivor_periods:
            periods = ", ".join(str(p) for p in range(cls.min_survivor_periods)) + f" and {cls.min_survivor_periods}"
            _skip(name, f"its {need} parameters need survivor counts for at least periods {periods}", notes, skipped)
            continue
        if periods_with_churn < 1:
            _skip(name, f"its {need} parameters need customers lost in at least one period", notes, skipped)
            continue
        model = _fit(name, lambda n=name: MODELS[n].make().fit_survivors(cohorts), diagnostics, notes, skipped)
        if model is not None:
            fitted[name] = model
    if not fitted:
        raise _nothing_fitted(source, "--models" if options.models else None, skipped)
    result["models"] = {name: _model_dict(name, model) for name, model in fitted.items()}
    for name, model in fitted.items():
        with diagnostics.watch(name, "projection"):
            result["models"][name]["retention_rate"] = [
                {"t": float(t), "rate": _nan_to_none(model.retention_rate(t))} for t in range(1, options.horizon + 1)]
    result["model_choice"] = {"by_aic": _aic_table(fitted, {n: "contract" for n in fitted})}
    k = options.backtest_periods or max(2, longest // 2)
    if 1 <= k < longest:
        backtest = _backtests(lambda name: backtest_cohorts(cohorts, k, models=[name]), list(fitted), k,
                              diagnostics, notes)
        if backtest is not None:
            result["model_choice"]["backtest"] = backtest
    else:
        notes.append(f"backtest skipped: needs at least {k + 1} observed periods")
    initial = options.cohort_size or float(sum(c[0] for c in cohorts))
    result["projections"] = _projections(fitted, options, initial, {n: True for n in fitted}, diagnostics)
    result["projections"]["cohort_size"] = initial
    # Per cohort: expected survivors from its current age onwards.
    grid = np.arange(0, options.horizon + 1, dtype=float)
    per_cohort = {}
    for name, model in fitted.items():
        with diagnostics.watch(name, "projection"):
            per_cohort[name] = {
                lab: _records(projection.expected_alive(model, grid[grid >= len(c) - 1], c[-1], age=len(c) - 1,
                                                        draws=options.draws, seed=options.seed))
                for lab, c in zip(labels, cohorts)}
    result["projections"]["per_cohort"] = per_cohort
    result["_fitted"] = fitted
    _finish_notes(result, diagnostics)
    return result


def _recommend(result: dict, family: dict) -> None:
    """Which model to project with: the backtest's choice (it scores the extrapolation a projection
    makes), with what AIC prefers within that model's family and the spread of the projections."""
    choice = result["model_choice"]
    backtest = choice.get("backtest")
    survival = result["projections"]["survival"]
    ends = {name: rows[-1]["survival"] for name, rows in survival.items() if rows and rows[-1].get("survival") is not None}
    spread = {"t": float(survival[next(iter(survival))][-1]["t"]) if survival else None,
              "lowest": min(ends.values()) if ends else None, "highest": max(ends.values()) if ends else None}
    if not backtest or not backtest["summary"]:
        best = min(choice["by_aic"], key=lambda r: r["aic"])["model"]
        choice["use_for_projection"] = {"model": best, "by": "aic", "aic_prefers": best, "agree": True,
                                        "projection_spread": spread}
        return
    pick = backtest["summary"][0]["model"]
    same_family = [r for r in choice["by_aic"] if r["family"] == family.get(pick)]
    aic_pick = min(same_family, key=lambda r: r["aic"])["model"] if same_family else pick
    choice["use_for_projection"] = {"model": pick, "by": "backtest", "aic_prefers": aic_pick,
                                    "agree": aic_pick == pick, "projection_spread": spread}


#: Folds of the cross-validation and share of customers held out for calibration.
CV_FOLDS, HOLDOUT_FRACTION = 5, 0.3


def _prediction_quality(result, t, d, a, covariates, options, diagnostics, notes) -> None:
    """The Cox model on customers it was not fitted to: cross-validated Brier skill over
    Kaplan–Meier and time-dependent AUC, and calibration at the ``--at`` tenures on a hold-out."""
    from csim.forecast import quality

    X = covariates.reset_index(drop=True).astype(float)
    cols = list(X.columns)
    left = a is not None and bool(np.any(np.asarray(a) > 0))
    data = X.assign(_t=np.asarray(t, float), _d=np.asarray(d, float),
                    _a=np.asarray(a, float) if a is not None else 0.0)
    with diagnostics.watch("cox", "prediction quality"):
        try:
            times = quality.evaluation_times(t, d)

            def fit_and_predict(train, test, grid):
                model = CoxPH().fit(train["_t"].to_numpy(), train["_d"].to_numpy(),
                                    entry=train["_a"].to_numpy() if left else None, covariates=train[cols])
                return model.survival_matrix(test[cols], grid)

            folds, _ = quality.cross_validate(fit_and_predict, data, folds=CV_FOLDS, seed=options.seed, times=times,
                                              duration="_t", event="_d", entry="_a" if left else None)
            quality_result = {
                "model": "cox", "folds": CV_FOLDS, "seed": options.seed, "times": [float(x) for x in times],
                "integrated_brier": float(folds["integrated_brier"].mean()),
                "integrated_brier_km": float(folds["integrated_brier_km"].mean()),
                "brier_skill": float(folds["brier_skill"].mean()),
                "brier_skill_range": [float(folds["brier_skill"].min()), float(folds["brier_skill"].max())],
                "mean_auc": float(folds["mean_auc"].mean()),
                "per_fold": _records(folds, "fold"),
                "definition": "5-fold cross-validation holding out customers: integrated Brier score with "
                              "censoring weights (Graf), skill = 1 − Brier/Brier of Kaplan–Meier fitted to the "
                              "same training customers; mean cumulative/dynamic AUC (Uno)"}
            train, test = quality.holdout_split(len(data), HOLDOUT_FRACTION, options.seed)
            model = CoxPH().fit(data["_t"].to_numpy()[train], data["_d"].to_numpy()[train],
                                entry=data["_a"].to_numpy()[train] if left else None, covariates=data[cols].iloc[train])
            last = float(np.max(np.asarray(t)[np.asarray(d) > 0]))
            calibration = []
            for horizon in [h for h in options.at if 0 < h <= last]:
                s = model.survival_matrix(data[cols].iloc[test], [horizon])[:, 0]
                table, summary = quality.calibration_at(data["_t"].to_numpy()[test], data["_d"].to_numpy()[test], s,
                                                        horizon, entry=data["_a"].to_numpy()[test] if left else None)
                calibration.append({"t": float(horizon), **{k: v for k, v in summary.items()},
                                    "table": _records(table.reset_index(drop=True), "group")})
            quality_result["calibration"] = {"holdout_share": HOLDOUT_FRACTION, "at": calibration}
            result["prediction_quality"] = quality_result
        except FIT_ERRORS as exc:
            notes.append(f"prediction quality: not measured ({_one_line(exc)})")
