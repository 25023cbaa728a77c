"""Choosing a model by how well it projects: fit on the first k periods, score the rest.

* Cohort survivor tables: each model is fitted on counts for periods 0…k of every cohort and
  projects the later periods; the error is against the observed survivors.
* Tenure tables: the data are cut at tenure k (later churns become "active at k"), each model
  is fitted on the cut data and its survival beyond k is compared with the Kaplan–Meier curve
  of the full data (the best non-parametric account of what happened). This scores
  extrapolation in tenure, which is what a projection of a young book needs.

Per model: absolute error and absolute percentage error per held-out period, MAPE and mean
absolute error over them, plus AIC on the fitted part (comparable between models fitted to
the same data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csim.forecast.nonparametric import KaplanMeier
from csim.forecast.registry import model_names, spec


def _score(name, fitted, periods, actual, predicted, rows):
    for t, a, p in zip(periods, actual, predicted):
        rows.append({"model": name, "t": float(t), "actual": float(a), "predicted": float(p),
                     "abs_error": float(abs(p - a)),
                     "abs_pct_error": float(abs(p - a) / a * 100.0) if a > 0 else np.nan})
    return {"model": name, "aic_fit": float(fitted.aic_)}


def _summarise(rows, fits) -> tuple[pd.DataFrame, pd.DataFrame]:
    per_period = pd.DataFrame(rows)
    summary = per_period.groupby("model", sort=False).agg(mape=("abs_pct_error", "mean"),
                                                          mean_abs_error=("abs_error", "mean"),
                                                          max_abs_error=("abs_error", "max"))
    summary = summary.join(pd.DataFrame(fits).set_index("model")).sort_values("mape")
    return summary, per_period


def backtest_cohorts(cohorts, fit_periods: int, models=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit each contract-renewal model on periods 0…``fit_periods`` and score the later periods.

    ``cohorts``: one survivor list or a list of them. ``models``: registry names of models with
    ``fit_survivors`` (default: every contract-renewal model). Errors are in customers (summed
    over cohorts at each period). Returns ``(summary, per_period)``; summary has one row per
    model (mape in %, mean/max absolute error in customers, AIC of the fit).
    """
    models = model_names(kind="contract_renewal") if models is None else models
    if len(cohorts) and np.ndim(cohorts[0]) == 0:
        cohorts = [cohorts]
    cohorts = [np.asarray(c, float) for c in cohorts]
    longest = max(len(c) for c in cohorts) - 1
    if fit_periods < 1 or fit_periods >= longest:
        raise ValueError(f"fit_periods must be between 1 and {longest - 1}: some periods must be held out")
    training = [c[: fit_periods + 1] for c in cohorts]
    held = np.arange(fit_periods + 1, longest + 1)
    rows, fits = [], []
    for name in models:
        fitted = spec(name).make().fit_survivors(training)
        actual = np.array([sum(c[t] for c in cohorts if len(c) > t) for t in held])
        predicted = np.array([sum(c[0] * fitted.survival(t) for c in cohorts if len(c) > t) for t in held])
        fits.append(_score(name, fitted, held, actual, predicted, rows))
    return _summarise(rows, fits)


def backtest_tenure(durations, events, fit_until: float, models=None, entry=None,
                    times=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit each model on tenure cut at ``fit_until`` periods; score S(t) beyond it against full-data KM.

    ``models``: registry names of projection models
    (:func:`csim.forecast.registry.projection_models`; default: the parametric ones), each
    fitted without covariates and with the entry tenures when it supports them (models with
    ``needs_whole_periods`` only on whole-period tenures). ``times``: held-out tenures to score
    (default: every whole period after ``fit_until`` up to the last churn). Returns
    ``(summary, per_period)``.
    """
    models = model_names(kind="parametric") if models is None else models
    t = np.asarray(durations, float)
    d = np.asarray(events, float)
    a = None if entry is None else np.asarray(entry, float)
    keep = np.ones(len(t), bool) if a is None else a < fit_until
    cut_t = np.minimum(t, fit_until)[keep]
    cut_d = np.where(t <= fit_until, d, 0.0)[keep]
    cut_a = None if a is None else a[keep]
    km = KaplanMeier().fit(t, d, entry=a)
    if times is None:
        times = np.arange(np.floor(fit_until) + 1, np.floor(t[d > 0].max()) + 1)
    times = np.asarray(times, float)
    if len(times) == 0:
        raise ValueError("no churn after the cut: nothing to score")
    actual = km.survival(times)
    rows, fits = [], []
    for name in models:
        model = spec(name)
        fitted = model.make().fit(cut_t, cut_d, entry=cut_a if model.cls.supports_entry else None)
        fits.append(_score(name, fitted, times, actual, fitted.survival(times), rows))
    return _summarise(rows, fits)
