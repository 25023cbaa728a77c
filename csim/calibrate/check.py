"""The self-check: the calibrated scenario's simulated history against the observed one.

The history scenario (calibrated parameters, the input's first month and length, no initial book)
is simulated ``--check-reps`` times and each replication measured like the observed history: the
ledger's metrics by :mod:`csim.metrics` on both (logo churn, trailing-12-month GRR and NRR, MRR at
each year end and at the end, customers at the end, new customers), and Kaplan–Meier retention by
tenure (:class:`csim.forecast.KaplanMeier`). A customer table or cohorts gives retention only.

Each figure gets the median of the replications and a 95 % **simulation interval**: the range one
history of the calibrated world falls in with probability 0.95 — a prediction interval for one
history, not an interval of the mean. With 39 replications or more it is the 2.5–97.5 percentile
range of the replications (a new history falls outside the range of R draws with probability
2/(R + 1), so fewer than 39 cannot give 95 %); with fewer it is the normal-theory prediction
interval mean ± t(0.975, R − 1)·s·√(1 + 1/R). An observed figure outside its interval is flagged.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from csim.records import MONTH_DAYS, Records

#: Tenures (months) at which retention is compared.
RETENTION_MONTHS = (3, 6, 12, 24)
#: Replications from which the interval is the percentile range (see the module doc).
PERCENTILE_REPS = 39
#: Figures of the ledger check that count as headline metrics.
HEADLINE = ("logo_churn_annual", "grr_t12_window", "nrr_t12_window", "ending_mrr", "ending_customers") + tuple(
    f"retention_{t}m" for t in RETENTION_MONTHS)

LABELS = {
    "logo_churn_annual": "logo churn, annualised",
    "grr_t12_window": "GRR, trailing 12 months (last year)",
    "nrr_t12_window": "NRR, trailing 12 months (last year)",
    "ending_mrr": "MRR at the end",
    "ending_customers": "customers at the end",
    "new_customers": "new customers over the history",
}


def simulation_interval(values, level: float = 0.95) -> tuple[float, float, float, str]:
    """Median and 95 % simulation interval of per-replication ``values`` (see the module doc);
    ``(median, low, high, method)`` with NaN where fewer than 2 values are finite."""
    from scipy import stats

    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return (float(x[0]) if len(x) else float("nan")), float("nan"), float("nan"), "too few replications"
    median = float(np.median(x))
    tail = (1.0 - level) / 2.0
    if len(x) >= PERCENTILE_REPS:
        low, high = np.percentile(x, [100 * tail, 100 * (1 - tail)])
        return median, float(low), float(high), "percentiles"
    half = float(stats.t.ppf(1 - tail, len(x) - 1)) * float(np.std(x, ddof=1)) * math.sqrt(1 + 1 / len(x))
    return median, float(np.mean(x)) - half, float(np.mean(x)) + half, "normal prediction"


def retention_figures(months: np.ndarray, churned: np.ndarray, replication: np.ndarray,
                      points) -> dict[str, np.ndarray]:
    """Kaplan–Meier retention at ``points`` (months of tenure) per replication."""
    from csim.forecast import KaplanMeier

    reps = np.unique(replication)
    out = {f"retention_{t:g}m": np.full(len(reps), np.nan) for t in points}
    for i, r in enumerate(reps):
        mine = replication == r
        if not mine.any():
            continue
        survival = KaplanMeier().fit(months[mine], churned[mine]).survival(np.asarray(points, float))
        for t, s in zip(points, survival):
            out[f"retention_{t:g}m"][i] = s
    return out


def ledger_figures(records: Records, points) -> dict[str, np.ndarray]:
    """Every figure of the ledger check, one value per replication of ``records`` (a ledger view)."""
    from csim.metrics import monthly, summary

    table = monthly(records)
    result = summary(records, table)
    reps = np.asarray(result["replications"])
    out = {name: np.asarray(result["metrics"][name]["per_replication"], float) for name in LABELS}
    months = records.horizon_months
    for m in range(11, months - 1, 12):  # the MRR path: every year end before the last month
        at = table[table["month"] == m].set_index("replication")["mrr"].reindex(reps)
        out[f"mrr_month_{m + 1}"] = at.to_numpy(float)
    acc = records.accounts
    out.update(retention_figures((acc["end"] - acc["start"]) / MONTH_DAYS, acc["churned"].astype(bool),
                                 acc["replication"], points))
    return out


def retention_points(observed_months: np.ndarray, candidates=RETENTION_MONTHS) -> list[float]:
    """The tenures of ``candidates`` the observed customers reach (Kaplan–Meier says nothing beyond)."""
    top = float(np.max(observed_months)) if len(observed_months) else 0.0
    return [t for t in candidates if t <= top]


def label(name: str) -> str:
    """A figure's name in words."""
    if name.startswith("retention_"):
        return f"retention at {name[len('retention_'):-1]} months of tenure"
    if name.startswith("mrr_month_"):
        return f"MRR at the end of month {name[len('mrr_month_'):]}"
    return LABELS.get(name, name)


#: Figures that are shares of a whole (at most 1); every figure here is at least 0.
_SHARES = ("logo_churn_annual", "grr_t12_window")


def check_table(observed: dict[str, float], simulated: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per figure: observed, simulated median, 95 % simulation interval, outside it or not.

    A normal-theory interval is cut to the figure's range (at least 0; shares and retention at
    most 1): with few replications of a small history it can reach past it.
    """
    rows = []
    for name, value in observed.items():
        if name not in simulated or not np.isfinite(value):
            continue
        median, low, high, method = simulation_interval(simulated[name])
        low = max(low, 0.0)
        if name in _SHARES or name.startswith("retention_"):
            high = min(high, 1.0)
        outside = bool(np.isfinite(low) and (value < low or value > high))
        rows.append({"metric": name, "label": label(name), "observed": float(value), "simulated_median": median,
                     "low": low, "high": high, "interval": method, "outside": outside,
                     "headline": name in HEADLINE, "replications": int(np.isfinite(simulated[name]).sum())})
    return pd.DataFrame(rows, columns=["metric", "label", "observed", "simulated_median", "low", "high", "interval",
                                       "outside", "headline", "replications"])


def _number(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def format_check(table: pd.DataFrame) -> list[str]:
    """The check table as console lines (compact), with the count of figures outside."""
    if table.empty:
        return ["self-check: no figure to compare"]
    width = max(len(s) for s in table["label"])
    lines = [f"{'':{width}}  {'observed':>10}  {'simulated':>10}  95 % simulation interval"]
    for row in table.itertuples():
        mark = "  << outside" if row.outside else ""
        lines.append(f"{row.label:{width}}  {_number(row.observed):>10}  {_number(row.simulated_median):>10}  "
                     f"[{_number(row.low)}, {_number(row.high)}]{mark}")
    n_out = int(table["outside"].sum())
    reps = int(table["replications"].max())
    lines.append(f"{n_out} of {len(table)} observed figures outside their 95 % simulation interval "
                 f"({reps} simulated histories; a prediction interval for one history, not for the mean)")
    return lines
