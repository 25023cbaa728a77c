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

from csim.forecast.cohort import COHORT_MODELS
from csim.forecast.discrete import DISCRETE_MODELS
from csim.forecast.nonparametric import KaplanMeier
from csim.forecast.parametric import PARAMETRIC_MODELS


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


def backtest_cohorts(cohorts, fit_periods: int, models=("sbg", "bdw")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit each contract-renewal model on periods 0…``fit_periods`` and score the later periods.

    ``cohorts``: one survivor list or a list of them. Errors are in customers (summed over
    cohorts at each period). Returns ``(summary, per_period)``; summary has one row per model
    (mape in %, mean/max absolute error in customers, AIC of the fit).
    """
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
        fitted = COHORT_MODELS[name]().fit(training)
        actual = np.array([sum(c[t] for c in cohorts if len(c) > t) for t in held])
        predicted = np.array([sum(c[0] * fitted.survival(t) for c in cohorts if len(c) > t) for t in held])
        fits.append(_score(name, fitted, held, actual, predicted, rows))
    return _summarise(rows, fits)


def backtest_tenure(durations, events, fit_until: float, models=tuple(PARAMETRIC_MODELS), entry=None,
                    times=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit each model on tenure cut at ``fit_until`` periods; score S(t) beyond it against full-data KM.

    ``models``: names from :data:`PARAMETRIC_MODELS` and :data:`COHORT_MODELS` (the latter
    only for whole-period tenures). ``times``: held-out tenures to score (default: every
    whole period after ``fit_until`` up to the last churn). Returns ``(summary, per_period)``.
    """
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
        if name in COHORT_MODELS:
            fitted = COHORT_MODELS[name]().fit_durations(cut_t, cut_d)
        elif name in DISCRETE_MODELS:
            fitted = DISCRETE_MODELS[name]().fit(cut_t, cut_d, entry=cut_a)
        else:
            fitted = PARAMETRIC_MODELS[name]().fit(cut_t, cut_d, entry=cut_a)
        fits.append(_score(name, fitted, times, actual, fitted.survival(times), rows))
    return _summarise(rows, fits)
