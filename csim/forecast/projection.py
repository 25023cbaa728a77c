"""Projecting survival, customers, residual lifetime and revenue beyond the data, with bands.

Works with any fitted model offering ``survival_at(theta, t)``, ``theta_`` and
``sample_theta`` (the parametric and contract-renewal fitters).

**Bands** are 95 % (by default) pointwise percentile bands from simulation of the sampling
distribution of the estimates: ``draws`` parameter vectors are drawn from the asymptotic
normal law of the MLE on the unconstrained scale, N(theta_hat, inverse observed information),
each gives a curve, and the 2.5 % / 97.5 % percentiles of the curves at each period form the
band (a parametric bootstrap of the parameters without refitting; Krinsky & Robb 1986). It
covers parameter uncertainty only: the realised count of a finite cohort varies further by
binomial noise around ``n·S(t)``.

Periods: ``t = 0, 1, 2, …`` in the data's unit (months for tenure tables; the contract period
for cohort tables). Money is per period and per customer (ARPA). Revenue conventions: a
customer active at the start of period ``t`` pays for period ``t`` (so period 0 is the first
payment); survivors' revenue grows by ``expansion_rate`` per period; cash in period ``t`` is
discounted by ``(1 + discount_rate)^t``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def _percentiles(values, level, axis=None):
    """(lower, upper) percentiles of a ``level`` band, ignoring NaN draws.

    A draw is NaN where its curve is undefined (e.g. 0/0 for a survival ratio that underflows,
    or every draw of a degenerate fit, which has no sampling distribution); the band is then
    NaN (null in JSON, "n/a" in reports) rather than a warning.
    """
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        lower, upper = np.nanpercentile(np.asarray(values, float), [tail, 100.0 - tail], axis=axis)
    return lower, upper


def _ratio(a, b):
    """a / b where a draw's 0/0 or x/0 is an undefined (NaN) draw, not a warning."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(a, float) / np.asarray(b, float)
    return np.where(np.isfinite(out), out, np.nan)


def _band(model, times, level, draws, seed, **profile):
    times = np.asarray(times, float)
    point = np.asarray(model.survival_at(model.theta_, times, **profile), float)
    curves = np.asarray(model.survival_at(model.sample_theta(draws, seed), times, **profile), float)
    lower, upper = _percentiles(curves, level, axis=0)
    return point, curves, lower, upper


def survival_band(model, times, level: float = 0.95, draws: int = 2000, seed: int = 0, **profile) -> pd.DataFrame:
    """Projected share still active at ``times`` (periods) with a ``level`` band.

    ``profile``: ``covariates={…}`` for AFT models. Returns columns survival, lower, upper.
    """
    point, _, lower, upper = _band(model, times, level, draws, seed, **profile)
    return pd.DataFrame({"survival": point, "lower": lower, "upper": upper},
                        index=pd.Index(np.asarray(times, float), name="t"))


def expected_alive(model, periods, initial: float, age: float = 0.0, level: float = 0.95,
                   draws: int = 2000, seed: int = 0, **profile) -> pd.DataFrame:
    """Expected customers still active at ``periods`` for a cohort.

    ``initial`` customers are active now at tenure ``age`` (0 = a new cohort); the projection
    is ``initial · S(t)/S(age)`` for ``t ≥ age``, with a band.
    """
    periods = np.asarray(periods, float)
    grid = np.append(periods, age)
    point, curves, _, _ = _band(model, grid, level, draws, seed, **profile)
    ratio = _ratio(curves[:, :-1], curves[:, -1:])
    lower, upper = _percentiles(ratio, level, axis=0)
    return pd.DataFrame({"customers": initial * _ratio(point[:-1], point[-1]),
                         "lower": initial * lower, "upper": initial * upper},
                        index=pd.Index(periods, name="t"))


def residual_lifetime(model, age: float, horizon: float, discrete: bool, level: float = 0.95,
                      draws: int = 2000, seed: int = 0, steps_per_period: int = 20, **profile) -> dict:
    """Expected further tenure of a customer active at tenure ``age``, capped at ``horizon`` periods.

    Continuous models: ∫_age^(age+horizon) S(t) dt / S(age) (trapezoid rule on
    ``steps_per_period`` points per period). Contract models (``discrete=True``): expected
    further renewals, Σ_{t=age+1}^{age+horizon} S(t)/S(age). The cap keeps the value finite
    for heavy-tailed fits (a log-logistic with shape ≤ 1 has no mean) and says what it means:
    "expected periods of the next ``horizon``". Returns estimate, lower, upper (periods).
    """
    if discrete:
        grid = age + np.arange(0, int(horizon) + 1, dtype=float)
    else:
        grid = age + np.linspace(0.0, horizon, int(horizon * steps_per_period) + 1)

    def value(s):
        rel = _ratio(s, s[..., :1])
        if discrete:
            return rel[..., 1:].sum(axis=-1)
        return np.trapezoid(rel, grid, axis=-1)

    point = np.asarray(model.survival_at(model.theta_, grid, **profile), float)
    theta = model.sample_theta(draws, seed)
    # The curves of all draws on a fine grid can be large (draws × 20·horizon); only one number
    # per draw is kept, so evaluate them a block of draws at a time (same draws, same result).
    block = max(1, int(2_000_000 // max(len(grid), 1)))
    values = np.concatenate([value(np.asarray(model.survival_at(theta[i:i + block], grid, **profile), float))
                             for i in range(0, len(theta), block)]) if len(theta) else np.empty(0)
    lower, upper = _percentiles(values, level)
    return {"age": float(age), "horizon": float(horizon), "estimate": float(value(point)),
            "lower": float(lower), "upper": float(upper)}


def revenue_projection(model, periods: int, initial_customers: float, arpa: float, expansion_rate: float = 0.0,
                       discount_rate: float = 0.0, gross_margin: float = 1.0, level: float = 0.95,
                       draws: int = 2000, seed: int = 0, **profile) -> pd.DataFrame:
    """Per-period cohort forecast: customers, revenue, NRR and discounted value, with bands.

    Parameters
    ----------
    periods : number of periods to project (t = 0 … periods − 1).
    initial_customers : cohort size at t = 0.
    arpa : revenue per customer per period at t = 0 (any currency).
    expansion_rate : growth of a surviving customer's revenue per period (0.01 = +1 %/period).
    discount_rate : per period (annual d → monthly (1 + d)^(1/12) − 1).
    gross_margin : share of revenue kept (1 = revenue LTV).

    Columns: ``retention`` S(t) with ``retention_lower/upper``; ``customers``; ``revenue``
    = N0·ARPA·(1+g)^t·S(t) with band; ``period_nrr`` = S(t)/S(t−1)·(1+g) (revenue kept and
    grown from the customers present at t−1; NaN at t = 0); ``cumulative_value`` =
    Σ_{u≤t} margin·revenue_u/(1+d)^u with band.
    """
    t = np.arange(periods, dtype=float)
    point, curves, _, _ = _band(model, t, level, draws, seed, **profile)
    growth = (1.0 + expansion_rate) ** t
    discount = (1.0 + discount_rate) ** -t
    def bounds(x):
        return _percentiles(x, level, axis=0)

    revenue_draws = initial_customers * arpa * growth * curves
    value_draws = np.cumsum(gross_margin * revenue_draws * discount, axis=-1)
    revenue = initial_customers * arpa * growth * point
    s_lo, s_hi = bounds(curves)
    r_lo, r_hi = bounds(revenue_draws)
    v_lo, v_hi = bounds(value_draws)
    period_nrr = np.full(periods, np.nan)
    period_nrr[1:] = _ratio(point[1:], point[:-1]) * (1.0 + expansion_rate)
    return pd.DataFrame({
        "retention": point, "retention_lower": s_lo, "retention_upper": s_hi,
        "customers": initial_customers * point,
        "revenue": revenue, "revenue_lower": r_lo, "revenue_upper": r_hi,
        "period_nrr": period_nrr,
        "cumulative_value": np.cumsum(gross_margin * revenue * discount),
        "cumulative_value_lower": v_lo, "cumulative_value_upper": v_hi,
    }, index=pd.Index(t, name="t"))


def cohort_nrr(model, age: float, window: float = 12.0, expansion_rate: float = 0.0, level: float = 0.95,
               draws: int = 2000, seed: int = 0, **profile) -> dict:
    """Trailing-window cohort NRR at tenure ``age``: S(age+window)/S(age)·(1+g)^window.

    The SaaS Capital form (revenue now from the customers present ``window`` periods ago ÷
    their revenue then) under the model's retention and a constant expansion rate ``g`` per
    period. Monthly period NRRs do not compound to this figure; both are reported by name.
    """
    grid = np.array([age, age + window], float)
    point, curves, _, _ = _band(model, grid, level, draws, seed, **profile)
    factor = (1.0 + expansion_rate) ** window
    lower, upper = _percentiles(_ratio(curves[:, 1], curves[:, 0]) * factor, level)
    return {"age": float(age), "window": float(window), "nrr": float(_ratio(point[1], point[0]) * factor),
            "lower": float(lower), "upper": float(upper)}


def lifetime_value(model, arpa: float, horizon: int, gross_margin: float = 1.0, discount_rate: float = 0.0,
                   expansion_rate: float = 0.0, level: float = 0.95, draws: int = 2000, seed: int = 0,
                   **profile) -> dict:
    """Expected discounted value of a new customer over ``horizon`` periods, with a band.

    LTV = Σ_{t=0}^{horizon−1} ARPA·margin·(1+g)^t·S(t)/(1+d)^t (per-period rates). The
    horizon cap is deliberate: with expansion ≥ churn + discount the infinite sum diverges.
    """
    table = revenue_projection(model, horizon, 1.0, arpa, expansion_rate, discount_rate, gross_margin,
                               level, draws, seed, **profile)
    last = table.iloc[-1]
    return {"horizon": int(horizon), "ltv": float(last["cumulative_value"]),
            "lower": float(last["cumulative_value_lower"]), "upper": float(last["cumulative_value_upper"])}
