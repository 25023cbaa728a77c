"""Run every applicable model on one input and collect the results as plain data.

:func:`analyse_tenure` serves customer, subscription and simulated account tables;
:func:`analyse_cohorts` serves survivor tables. Both return a dict that
:mod:`csim.forecast.report` writes as ``forecast.json``, ``survival.csv``, figures and
``report.md``; fitted objects are kept under ``"_fitted"`` for the figures only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from csim.forecast import projection
from csim.forecast.backtest import backtest_cohorts, backtest_tenure
from csim.forecast.cohort import COHORT_MODELS
from csim.forecast.compare import compare_groups
from csim.forecast.cox import CoxPH
from csim.forecast.nonparametric import KaplanMeier
from csim.forecast.parametric import PARAMETRIC_MODELS, WeibullFitter


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


def _projections(fitted: dict, options: ForecastOptions, initial: float, discrete: dict) -> dict:
    grid = np.arange(0, options.horizon + 1, dtype=float)
    out = {"method": "pointwise 95% percentile bands from draws of the MLE's asymptotic normal law "
                     f"(parametric bootstrap of the parameters, {options.draws} draws, seed {options.seed})",
           "survival": {}, "customers": {}, "residual_lifetime": {}, "revenue": {}, "ltv": {}, "cohort_nrr": {}}
    kw = {"draws": options.draws, "seed": options.seed}
    for name, model in fitted.items():
        out["survival"][name] = _records(projection.survival_band(model, grid, **kw))
        out["customers"][name] = _records(projection.expected_alive(model, grid, initial, **kw))
        out["residual_lifetime"][name] = [projection.residual_lifetime(model, age, options.horizon, discrete[name], **kw)
                                          for age in [0.0, *options.at]]
        out["revenue"][name] = _records(projection.revenue_projection(
            model, options.horizon + 1, initial, options.arpa, options.expansion_rate, options.discount_rate,
            options.gross_margin, **kw))
        out["ltv"][name] = projection.lifetime_value(model, options.arpa, options.horizon + 1, options.gross_margin,
                                                     options.discount_rate, options.expansion_rate, **kw)
        window = min(12.0, float(options.horizon))
        out["cohort_nrr"][name] = projection.cohort_nrr(model, 0.0, window, options.expansion_rate, **kw)
    return out


def _aic_table(fitted: dict, family: dict) -> list[dict]:
    rows = [{"model": n, "family": family[n], "loglik": m.loglik_, "aic": m.aic_, "parameters": m.n_params}
            for n, m in fitted.items()]
    rows.sort(key=lambda r: (r["family"], r["aic"]))
    for fam in set(family.values()):
        best = min(r["aic"] for r in rows if r["family"] == fam)
        for r in rows:
            if r["family"] == fam:
                r["delta_aic"] = r["aic"] - best
    return rows


def analyse_tenure(data, options: ForecastOptions, covariates: pd.DataFrame | None = None,
                   encoding: dict | None = None, groups=None, group_name: str | None = None) -> dict:
    """All models for a tenure table (:class:`csim.forecast.data.SurvivalData`)."""
    t, d, a = data.durations, data.events, data.entry
    notes = list(data.notes)
    result = {"input": {"kind": "tenure", "source": data.source, "customers": int(len(t)), "churned": int(d.sum()),
                        "unit": data.unit, "left_truncated": int(np.sum(a > 0)) if a is not None else 0},
              "notes": notes}
    km = KaplanMeier().fit(t, d, entry=a)
    result["kaplan_meier"] = _km_result(km, options.at)
    fitted, family, discrete = {}, {}, {}
    wanted = options.models or list(PARAMETRIC_MODELS) + list(COHORT_MODELS)
    zero_events = int(np.sum((t <= 0) & (d > 0)))
    for name in [m for m in wanted if m in PARAMETRIC_MODELS]:
        if zero_events:
            notes.append(f"{name}: skipped, {zero_events} churns at tenure 0 have zero density under a continuous model")
            continue
        fitted[name] = PARAMETRIC_MODELS[name]().fit(t, d, entry=a)
        family[name], discrete[name] = "continuous", False
    contract_ok = data.whole_periods and (a is None or not np.any(a > 0)) and not np.any((t < 1) & (d > 0))
    for name in [m for m in wanted if m in COHORT_MODELS]:
        if not contract_ok:
            notes.append(f"{name}: skipped, contract-renewal models need whole-period tenures, churn at tenure ≥ 1 "
                         "and no left truncation")
            continue
        fitted[name] = COHORT_MODELS[name]().fit_durations(t, d)
        family[name], discrete[name] = "contract", True
    result["models"] = {name: model.to_dict() for name, model in fitted.items()}
    result["model_choice"] = {"by_aic": _aic_table(fitted, family),
                              "note": "AIC compares models within a family only: contract models use a discrete "
                                      "likelihood (per renewal), continuous models a density in time."}
    k = options.backtest_periods or int(max(1, np.floor(np.max(t[d > 0]) / 2))) if d.sum() else None
    if k is not None and fitted:
        try:
            summary, per_period = backtest_tenure(t, d, k, models=list(fitted), entry=a)
            result["model_choice"]["backtest"] = {"fit_until": k, "summary": _records(summary, "model"),
                                                  "per_period": per_period.to_dict(orient="records")}
        except ValueError as exc:
            notes.append(f"backtest skipped: {exc}")
    if covariates is not None and covariates.shape[1]:
        cox = CoxPH().fit(t, d, covariates, entry=a)
        result["cox"] = cox.to_dict()
        result["cox"]["encoding"] = encoding
        aft = WeibullFitter().fit(t, d, entry=a, covariates=covariates) if not zero_events else None
        if aft is not None:
            result["weibull_aft"] = aft.to_dict()
        result["_fitted_cox"] = cox
    if groups is not None:
        comparison = compare_groups(t, d, groups, entry=a, times=options.at)
        result["groups"] = {
            "column": group_name, "reference": comparison["reference"],
            "summary": _records(comparison["summary"], "group"),
            "survival_at": _records(comparison["survival_at"]),
            "log_rank": _records(comparison["log_rank"], "test"),
            "cox": _records(comparison["cox"], "covariate"),
            "cox_concordance": comparison["cox_concordance"],
        }
        labels = pd.Series(np.asarray(groups)).astype(str)
        result["_group_curves"] = {g: KaplanMeier().fit(t[(labels == g).to_numpy()], d[(labels == g).to_numpy()],
                                                        None if a is None else a[(labels == g).to_numpy()], label=g)
                                   for g in sorted(labels.unique())}
    initial = options.cohort_size or float(len(t))
    result["projections"] = _projections(fitted, options, initial, discrete)
    result["projections"]["cohort_size"] = initial
    result["_fitted"] = fitted
    result["_km"] = km
    return result


def analyse_cohorts(labels: list[str], cohorts: list[list[float]], options: ForecastOptions) -> dict:
    """sBG and BdW fits, backtest and projections for cohort survivor counts."""
    notes = []
    result = {"input": {"kind": "cohorts", "cohorts": [{"label": lab, "survivors": list(map(float, c))}
                                                        for lab, c in zip(labels, cohorts)],
                        "unit": "periods"}, "notes": notes}
    wanted = [m for m in (options.models or list(COHORT_MODELS)) if m in COHORT_MODELS]
    if not wanted:
        wanted = list(COHORT_MODELS)
        notes.append("cohort tables take the contract-renewal models only (sbg, bdw)")
    fitted = {name: COHORT_MODELS[name]().fit(cohorts) for name in wanted}
    result["models"] = {name: model.to_dict() for name, model in fitted.items()}
    for name, model in fitted.items():
        result["models"][name]["retention_rate"] = [
            {"t": float(t), "rate": float(model.retention_rate(t))} for t in range(1, options.horizon + 1)]
    result["model_choice"] = {"by_aic": _aic_table(fitted, {n: "contract" for n in fitted})}
    longest = max(len(c) for c in cohorts) - 1
    k = options.backtest_periods or max(2, longest // 2)
    if 1 <= k < longest:
        summary, per_period = backtest_cohorts(cohorts, k, models=wanted)
        result["model_choice"]["backtest"] = {"fit_until": k, "summary": _records(summary, "model"),
                                              "per_period": per_period.to_dict(orient="records")}
    else:
        notes.append(f"backtest skipped: needs at least {k + 1} observed periods")
    initial = options.cohort_size or float(sum(c[0] for c in cohorts))
    result["projections"] = _projections(fitted, options, initial, {n: True for n in fitted})
    result["projections"]["cohort_size"] = initial
    # Per cohort: expected survivors from its current age onwards.
    grid = np.arange(0, options.horizon + 1, dtype=float)
    result["projections"]["per_cohort"] = {
        name: {lab: _records(projection.expected_alive(model, grid[grid >= len(c) - 1], c[-1], age=len(c) - 1,
                                                        draws=options.draws, seed=options.seed))
               for lab, c in zip(labels, cohorts)}
        for name, model in fitted.items()}
    result["_fitted"] = fitted
    return result
