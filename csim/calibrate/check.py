"""The self-check: the calibrated scenario's simulated history against the observed one.

The history scenario (calibrated parameters, the input's first month and length, no initial book)
is simulated ``--check-reps`` times and each replication measured like the observed history: the
ledger's metrics by :mod:`csim.metrics` on both (logo churn, trailing-12-month GRR and NRR, MRR at
each year end and at the end, customers at the end, new customers), and Kaplan–Meier retention by
tenure (:class:`csim.forecast.KaplanMeier`); with two or more segments, each segment's logo churn
and retention too. A customer table or cohorts gives retention only.

The holdout check (``--holdout-from``) simulates the calibrated scenario from the holdout's first
day, its book the customers paying then, to the ledger's end, and compares customers, MRR, logo
churn, new customers and the book's GRR and NRR over those months (:func:`holdout_figures`) with
what the ledger shows after the date, under the same interval rule.

A history too large to simulate whole within :data:`csim.calibrate.calibration.SIMULATED_ACCOUNT_YEARS`
is simulated at 1/k of the company's size (its leads, or its book, divided by k); counts and money
are multiplied back by k (:func:`scale_figures`), rates and shares are not. Its intervals are then
those of a company k times smaller: wider than the company's own (a flagged figure is certainly off).

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

#: Columns of the check table (check.csv).
CHECK_COLUMNS = ["check", "metric", "segment", "label", "observed", "simulated_median", "low", "high", "interval",
                 "outside", "headline", "replications", "scale"]
#: Figures that are counts or money (see :func:`is_extensive`).
EXTENSIVE = ("ending_mrr", "ending_customers", "new_customers")

LABELS = {
    "logo_churn_annual": "logo churn, annualised",
    "grr_t12_window": "GRR, trailing 12 months (last year)",
    "nrr_t12_window": "NRR, trailing 12 months (last year)",
    "ending_mrr": "MRR at the end",
    "ending_customers": "customers at the end",
    "new_customers": "new customers over the history",
}
#: Labels of the holdout's figures that differ from the history's.
HOLDOUT_LABELS = {
    "logo_churn_annual": "logo churn over the holdout, annualised",
    "new_customers": "new customers over the holdout",
    "grr_holdout": "GRR of the book at the holdout start, over the holdout",
    "nrr_holdout": "NRR of the book at the holdout start, over the holdout",
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


def retention_figures(months: np.ndarray, churned: np.ndarray, replication: np.ndarray, points,
                      reps=None, suffix: str = "") -> dict[str, np.ndarray]:
    """Kaplan–Meier retention at ``points`` (months of tenure) per replication.

    ``reps``: the replications to give a value for, in order (default those in ``replication``; one
    without customers gets NaN); ``suffix`` is appended to each figure's name (``[segment]``).
    """
    from csim.forecast import KaplanMeier

    reps = np.unique(replication) if reps is None else np.asarray(reps)
    out = {f"retention_{t:g}m{suffix}": np.full(len(reps), np.nan) for t in points}
    for i, r in enumerate(reps):
        mine = replication == r
        if not mine.any():
            continue
        survival = KaplanMeier().fit(months[mine], churned[mine]).survival(np.asarray(points, float))
        for t, s in zip(points, survival):
            out[f"retention_{t:g}m{suffix}"][i] = s
    return out


def _segment_logo_churn(records: Records, reps: np.ndarray) -> dict[str, np.ndarray]:
    """``logo_churn_annual[segment]`` per replication (:func:`csim.metrics.summary` of each segment's
    records alone); only with two or more segments."""
    from csim.ledger import segment_records
    from csim.metrics import summary

    out = {}
    if len(records.segments) < 2:
        return out
    for name, part in segment_records(records).items():
        result = summary(part)
        values = pd.Series(result["metrics"]["logo_churn_annual"]["per_replication"], index=result["replications"],
                           dtype=float)
        out[f"logo_churn_annual[{name}]"] = values.reindex(reps).to_numpy(float)
    return out


def segment_retention(months: np.ndarray, churned: np.ndarray, replication: np.ndarray, segment: np.ndarray,
                      names, points: dict[str, list], reps) -> dict[str, np.ndarray]:
    """``retention_Tm[segment]`` per replication for each segment code of ``names`` (with two or
    more segments), at that segment's ``points``."""
    out = {}
    if len(names) < 2:
        return out
    for code, name in enumerate(names):
        mine = segment == code
        out.update(retention_figures(months[mine], churned[mine], replication[mine], points.get(name, []), reps,
                                     suffix=f"[{name}]"))
    return out


def ledger_figures(records: Records, points, segment_points: dict[str, list] | None = None) -> dict[str, np.ndarray]:
    """Every figure of the ledger check, one value per replication of ``records`` (a ledger view).

    With two or more segments also each segment's logo churn and its retention at
    ``segment_points[segment]`` (default ``points``).
    """
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
    tenure, churned = (acc["end"] - acc["start"]) / MONTH_DAYS, acc["churned"].astype(bool)
    out.update(retention_figures(tenure, churned, acc["replication"], points, reps))
    out.update(_segment_logo_churn(records, reps))
    by_segment = segment_points or {name: list(points) for name in records.segments}
    out.update(segment_retention(tenure, churned, acc["replication"], acc["segment"], records.segments, by_segment,
                                 reps))
    return out


def holdout_figures(records: Records) -> dict[str, np.ndarray]:
    """The figures of the holdout check, one value per replication of ``records``: a ledger view
    whose day 0 is the holdout's first day (:func:`rebase`), the book then as its opening balance.

    Customers and MRR at the end, logo churn annualised over the holdout's months and new
    customers (:func:`csim.metrics.summary`); GRR and NRR of the book at the holdout's start over
    the whole holdout, the cohort form of :mod:`csim.metrics.retention`: MRR at the last month end
    of the customers paying at day 0 over their MRR then (GRR caps each at its MRR then); with two
    or more segments each segment's logo churn.
    """
    from csim.metrics import summary
    from csim.metrics.mrr import mrr_matrix

    result = summary(records)
    reps = np.asarray(result["replications"])
    out = {name: np.asarray(result["metrics"][name]["per_replication"], float)
           for name in ("ending_customers", "ending_mrr", "logo_churn_annual", "new_customers")}
    grr, nrr = np.full(len(reps), np.nan), np.full(len(reps), np.nan)
    for i, r in enumerate(reps):
        values = mrr_matrix(records, int(r)).values
        then, now = values[:, 0], values[:, -1]
        book = then > 0
        if book.any():
            nrr[i] = now[book].sum() / then[book].sum()
            grr[i] = np.minimum(now, then)[book].sum() / then[book].sum()
    out["grr_holdout"], out["nrr_holdout"] = grr, nrr
    out.update(_segment_logo_churn(records, reps))
    return out


def rebase(records: Records, months: int) -> Records:
    """``records`` with day 0 moved ``months`` whole months later (a ledger view's months are
    calendar months laid on whole multiples of 365.25/12 days, so they stay the calendar's).

    What happened before the new day 0 becomes the opening balance of :func:`csim.metrics.monthly`
    (an account paying then is not new; one that comes back is a reactivation); the horizon stays.
    Meant for ledger views, which have no leads and no touches.
    """
    from dataclasses import replace

    shift = months * MONTH_DAYS
    events = dict(records.events)
    events["time"] = events["time"] - shift
    events["cohort"] = (events["cohort"] - months).astype(events["cohort"].dtype)
    accounts = dict(records.accounts)
    for key in ("start", "entry", "end", "first_value_day"):
        accounts[key] = accounts[key] - shift
    accounts["cohort"] = (accounts["cohort"] - months).astype(accounts["cohort"].dtype)
    return replace(records, events=events, accounts=accounts, horizon_days=records.horizon_days - shift)


def retention_points(observed_months: np.ndarray, candidates=RETENTION_MONTHS) -> list[float]:
    """The tenures of ``candidates`` the observed customers reach (Kaplan–Meier says nothing beyond)."""
    top = float(np.max(observed_months)) if len(observed_months) else 0.0
    return [t for t in candidates if t <= top]


def split_name(name: str) -> tuple[str, str]:
    """A figure's name without its segment, and the segment ("" for the whole company)."""
    if name.endswith("]") and "[" in name:
        head, _, segment = name[:-1].partition("[")
        return head, segment
    return name, ""


def label(name: str, check: str = "history") -> str:
    """A figure's name in words (``check``: "history" or "holdout")."""
    name, segment = split_name(name)
    if name.startswith("retention_"):
        text = f"retention at {name[len('retention_'):-1]} months of tenure"
    elif name.startswith("mrr_month_"):
        text = f"MRR at the end of month {name[len('mrr_month_'):]}"
    else:
        text = (HOLDOUT_LABELS.get(name) if check == "holdout" else None) or LABELS.get(name, name)
    return f"{segment}: {text}" if segment else text


def is_extensive(name: str) -> bool:
    """A count or an amount of money, which grows with the company's size (not a rate or a share)."""
    name, _ = split_name(name)
    return name in EXTENSIVE or name.startswith("mrr_month_")


def scale_figures(figures: dict[str, np.ndarray], factor: float) -> dict[str, np.ndarray]:
    """Figures of a history simulated at 1/``factor`` of the company's size: counts and money
    multiplied by ``factor``, rates and shares left as they are."""
    if factor == 1:
        return figures
    return {k: np.asarray(v, float) * factor if is_extensive(k) else v for k, v in figures.items()}


#: Figures that are shares of a whole (at most 1); every figure here is at least 0.
_SHARES = ("logo_churn_annual", "grr_t12_window", "grr_holdout")


def check_table(observed: dict[str, float], simulated: dict[str, np.ndarray], check: str = "history",
                scale: float = 1.0) -> pd.DataFrame:
    """One row per figure: observed, simulated median, 95 % simulation interval, outside it or not.

    A normal-theory interval is cut to the figure's range (at least 0; shares and retention at
    most 1): with few replications of a small history it can reach past it. A figure fewer than two
    simulated histories give is left out. ``check``: "history"
    (the self-check) or "holdout"; ``scale``: the share of the company's size each simulated
    history had, recorded with every row. Figures of one segment (``name[segment]``) are never
    headline figures.
    """
    rows = []
    for name, value in observed.items():
        if name not in simulated or not np.isfinite(value):
            continue
        median, low, high, method = simulation_interval(simulated[name])
        if not np.isfinite(low):
            continue  # fewer than 2 simulated histories give the figure (a segment too small): no interval
        low = max(low, 0.0)
        head, segment = split_name(name)
        if head in _SHARES or head.startswith("retention_"):
            high = min(high, 1.0)
        outside = bool(np.isfinite(low) and (value < low or value > high))
        rows.append({"check": check, "metric": name, "segment": segment, "label": label(name, check),
                     "observed": float(value), "simulated_median": median, "low": low, "high": high,
                     "interval": method, "outside": outside,
                     "headline": not segment and (head in HEADLINE or check == "holdout"),
                     "replications": int(np.isfinite(simulated[name]).sum()), "scale": float(scale)})
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def _number(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def format_check(table: pd.DataFrame) -> list[str]:
    """The rows of one check (history or holdout) as console lines (compact), with the count of
    figures outside and, for a history simulated at a fraction of the company's size, what that means."""
    if table.empty:
        return ["no figure to compare"]
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
    scale = float(table["scale"].min()) if "scale" in table else 1.0
    if scale < 1:
        lines.append(f"each simulated history was 1/{1 / scale:.0f} of the company's size (counts and money multiplied "
                     "back): the intervals are those of that smaller company, wider than the company's own")
    return lines
