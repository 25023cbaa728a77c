"""Headline metrics per replication and across replications (mean and t-interval).

A metric that cannot be computed in a replication is NaN there, never a crash or an infinity;
``summary(...)["nan_reasons"][name]`` says why (e.g. LTV with no logo churn observed is
unbounded, so it is reported as NaN with that reason). Intervals use only finite values.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from csim.metrics.cs import SATURATED, cs_effort, csm_hours_available, team_by_month
from csim.metrics.intervals import t_interval
from csim.metrics.monthly import monthly as monthly_table
from csim.metrics.retention import T12_LAG, annualise, replications_of
from csim.metrics.registry import METRICS
from csim.records import CHANNELS, MONTH_DAYS, Records

__all__ = ["summary", "summary_frame", "METRICS", "SUMMARY_METRICS", "WINDOW_MONTHS"]

#: Length of the window of the *_window metrics, months (the last months of the run).
WINDOW_MONTHS = 12

DAYS_PER_YEAR = 365.25
REFERRAL = CHANNELS.index("referral")

#: The registry's metrics computed on one run (relative ones need a reference: csim.metrics.relative).
SUMMARY_METRICS = tuple(name for name, m in METRICS.items() if not m.relative)


class _Collector:
    """Per-replication metric arrays plus the reasons behind their NaNs."""

    def __init__(self, n: int):
        self.n = n
        self.values: dict[str, np.ndarray] = {}
        self.reasons: dict[str, list[str]] = {}

    def put(self, name: str, values, *nan_reasons: tuple[np.ndarray | bool, str]) -> np.ndarray:
        """Store ``values``; each (condition, reason) pair makes rows NaN where the condition holds."""
        out = np.broadcast_to(np.asarray(values, dtype=np.float64), (self.n,)).copy()
        for condition, reason in nan_reasons:
            condition = np.broadcast_to(np.asarray(condition, dtype=bool), (self.n,))
            if condition.any():
                self.reasons.setdefault(name, []).append(reason)
            out[condition] = np.nan
        out[~np.isfinite(out)] = np.nan
        self.values[name] = out
        return out


def _ratio(numerator, denominator) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / denominator


def _meta_number(meta: Mapping, key: str) -> float:
    value = meta.get(key)
    return float("nan") if value is None else float(value)


def _per_replication(records: Records, frame: pd.DataFrame, reps: np.ndarray) -> _Collector:
    n_months = records.horizon_months
    c = _Collector(reps.size)
    # Run-level rates leave out the warm-up months (the fresh-start transient); ending values do not.
    warmup = int(records.meta.get("warmup_months", 0) or 0)
    rates = frame[frame["month"] >= warmup]
    g = rates.groupby("replication")
    total = g[["new", "expansion", "churn", "contraction", "mrr", "mrr_start", "customers", "logos_churned",
               "customers_start", "acquisition_spend"]].sum().reindex(reps, fill_value=0)
    c.put("cumulative_revenue", frame.groupby("replication")["mrr"].sum().reindex(reps, fill_value=0))
    last = frame[frame["month"] == n_months - 1].set_index("replication").reindex(reps)
    no_months = n_months < 1
    c.put("ending_mrr", last["mrr"], (no_months, "run has no whole month"))
    c.put("ending_arr", last["arr"], (no_months, "run has no whole month"))
    c.put("ending_customers", last["customers"], (no_months, "run has no whole month"))
    t12_reasons = ((n_months <= T12_LAG, f"run shorter than {T12_LAG + 1} months"),
                   (last["nrr_t12"].isna().to_numpy() & (n_months > T12_LAG), f"no paying customers {T12_LAG} months before the last month end"))
    c.put("nrr_t12_end", last["nrr_t12"], *t12_reasons)
    c.put("grr_t12_end", last["grr_t12"], *t12_reasons)
    period = g[["nrr_period", "grr_period"]].mean().reindex(reps)
    no_base = period["nrr_period"].isna().to_numpy()
    c.put("nrr_period_mean", period["nrr_period"], (no_base, "no month with paying customers at its start"))
    c.put("grr_period_mean", period["grr_period"], (no_base, "no month with paying customers at its start"))

    at_risk = total["customers_start"].to_numpy()
    churn_m = c.put("logo_churn_monthly", _ratio(total["logos_churned"], at_risk),
                    (at_risk == 0, "no paying customers at any month start"))
    c.put("logo_churn_annual", annualise(churn_m), (np.isnan(churn_m), "monthly logo churn undefined"))

    # The last WINDOW_MONTHS months: a year of a drifting system, not its last month.
    window = frame[frame["month"] >= n_months - WINDOW_MONTHS].groupby("replication")
    for name, column in (("nrr_t12_window", "nrr_t12"), ("grr_t12_window", "grr_t12")):
        c.put(name, window[column].mean().reindex(reps),
              (n_months <= T12_LAG, f"run shorter than {T12_LAG + 1} months"))
    window_sums = window[["logos_churned", "customers_start"]].sum().reindex(reps, fill_value=0)
    window_at_risk = window_sums["customers_start"].to_numpy()
    window_churn = _ratio(window_sums["logos_churned"], window_at_risk)
    c.put("logo_churn_annual_window", annualise(window_churn),
          (window_at_risk == 0, "no paying customers at any month start of the window"))

    acc = records.accounts
    rep_index = np.searchsorted(reps, acc["replication"])
    acquired = (acc["start"] >= warmup * MONTH_DAYS) & (acc["start"] < records.horizon_days)
    new_customers = c.put("new_customers", np.bincount(rep_index[acquired], minlength=reps.size))
    first_mrr = np.bincount(rep_index[acquired], weights=acc["initial_mrr"][acquired] / 100.0, minlength=reps.size)
    referral = np.bincount(rep_index[acquired & (acc["channel"] == REFERRAL)], minlength=reps.size)
    spend = c.put("acquisition_spend", total["acquisition_spend"])
    no_new = (new_customers == 0, "no accounts acquired in the run")
    cac = c.put("cac", _ratio(spend, new_customers), no_new)
    c.put("referral_share", _ratio(referral, new_customers), no_new)

    customer_months = total["customers"].to_numpy()
    arpa = c.put("arpa", _ratio(total["mrr"], customer_months), (customer_months == 0, "no paying customer-months"))
    margin = _meta_number(records.meta, "gross_margin")
    no_margin = (np.isnan(margin), "meta gross_margin missing")
    no_churn = (churn_m == 0, "no logo churn observed: lifetime unbounded")
    churn_nan = (np.isnan(churn_m), "monthly logo churn undefined")
    ltv = c.put("ltv", _ratio(arpa * margin, churn_m), no_churn, churn_nan, no_margin)
    c.put("ltv_revenue", _ratio(arpa, churn_m), no_churn, churn_nan)
    # Discounted form: value per month decays by discounting and churn and grows with net expansion
    # of the existing book; the geometric series converges only while discount + churn > growth.
    discount_m = (1.0 + _meta_number(records.meta, "discount_rate_annual")) ** (1.0 / 12.0) - 1.0
    growth_m = _ratio(total["expansion"] - total["contraction"], total["mrr_start"])
    denominator = discount_m + churn_m - growth_m
    c.put("ltv_discounted", _ratio(arpa * margin, denominator), no_margin, churn_nan,
          (np.isnan(discount_m), "meta discount_rate_annual missing"),
          (np.isnan(growth_m), "no MRR at any month start"),
          (denominator <= 0, "net expansion outpaces churn plus discounting: the discounted LTV diverges"))
    c.put("ltv_cac", _ratio(ltv, cac), (np.isnan(ltv), "LTV undefined"), (np.isnan(cac), "CAC undefined"),
          (cac == 0, "CAC is zero"))
    new_arpa = c.put("new_customer_arpa", _ratio(first_mrr, new_customers), no_new)
    c.put("cac_per_new_arr", _ratio(spend, 12.0 * first_mrr), no_new, (first_mrr == 0, "no new MRR"))
    c.put("cac_payback_months", _ratio(cac, new_arpa * margin), (np.isnan(cac), "CAC undefined"),
          (np.isnan(new_arpa), "new-customer ARPA undefined"), no_margin)

    gains = (total["new"] + total["expansion"]).to_numpy()
    losses = (total["churn"] + total["contraction"]).to_numpy()
    c.put("quick_ratio", _ratio(gains, losses), (losses == 0, "no churn or contraction MRR: ratio unbounded"))
    c.put("expansion_share", _ratio(total["expansion"], gains), (gains == 0, "no new or expansion MRR"))

    years = records.horizon_days / DAYS_PER_YEAR
    cost_per_year = _meta_number(records.meta, "csm_cost_per_year")
    team_cost = np.full(reps.size, _meta_number(records.meta, "cs_headcount") * cost_per_year * years)
    available = np.full(reps.size, csm_hours_available(records.meta, records.horizon_days))
    for k, r in enumerate(reps):  # the team month by month, where the records have it
        team = team_by_month(records, int(r), n_months)
        if team is not None:
            available[k] = np.nansum(team[0])
            team_cost[k] = team[1].sum() / DAYS_PER_YEAR * cost_per_year
    c.put("cs_cost", team_cost, (np.isnan(team_cost), "meta cs_headcount or csm_cost_per_year missing"))
    revenue = c.values["cumulative_revenue"]
    c.put("gross_profit_after_cs", revenue * margin - team_cost, no_margin,
          (np.isnan(team_cost), "CS cost undefined"))

    effort = cs_effort(records)
    c.put("csm_hours_used", effort["csm_hours"])
    requests = effort["requests"]
    no_requests = (requests == 0, "no touch requested")
    c.put("touches_expired_share", _ratio(effort["expired"], requests), no_requests)
    c.put("cs_unserved_share", effort["unserved_share"], no_requests)
    c.put("cs_backlog_at_horizon", effort["waiting"])
    t = records.touches
    t_index = np.searchsorted(reps, t["replication"])
    finished = np.isfinite(t["finished"]) & (t["finished"] < records.horizon_days)
    hours = np.bincount(t_index[finished], weights=t["csm_hours"][finished], minlength=reps.size)
    no_capacity = (~(available > 0), "no CSM capacity (cs_headcount or cs_hours_per_week missing or zero)")
    c.put("cs_utilisation", _ratio(hours, available), no_capacity)
    busy = rates.pivot(index="replication", columns="month", values="cs_utilisation").reindex(reps)
    c.put("cs_months_saturated", (busy.to_numpy() > SATURATED).sum(axis=1), no_capacity)
    started = np.isfinite(t["started"]) & (t["started"] < records.horizon_days)
    waits = np.bincount(t_index[started], weights=(t["started"] - t["requested"])[started], minlength=reps.size)
    n_started = np.bincount(t_index[started], minlength=reps.size)
    c.put("mean_touch_wait_days", _ratio(waits, n_started), (n_started == 0, "no touch started"))
    return c


def summary(records: Records, frame: pd.DataFrame | None = None, confidence: float = 0.95) -> dict:
    """Headline metrics of a run: per replication and across replications.

    Parameters
    ----------
    records:
        The run's records (``meta`` supplies gross margin, CS team size and cost).
    frame:
        The :func:`csim.metrics.monthly` table of these records, if already computed.
    confidence:
        Level of the two-sided t-interval across replications (default 0.95).

    Returns
    -------
    A JSON-ready dict::

        {"scenario_name": str | None, "replications": [int, ...], "months": int,
         "confidence": float,
         "metrics": {name: {"mean", "ci_low", "ci_high", "n", "unit", "form", "definition",
                            "per_replication": [float, ...]}},
         "nan_reasons": {name: [str, ...]}}

    Metric names, units and definitions are in :data:`METRICS`; ``form`` names the NRR/GRR
    variant. ``n`` counts the replications where the metric is finite; with ``n < 2`` the
    interval is NaN.
    """
    frame = monthly_table(records) if frame is None else frame
    reps = replications_of(records)
    collected = _per_replication(records, frame, reps)
    metrics = {}
    for name in SUMMARY_METRICS:
        m = METRICS[name]
        values = collected.values[name]
        interval = t_interval(values, confidence)
        metrics[name] = {
            "mean": interval.mean,
            "ci_low": interval.low,
            "ci_high": interval.high,
            "n": interval.n,
            "unit": m.unit,
            "form": m.form,
            "definition": m.definition,
            "label": m.label,
            "better": m.better,
            "per_replication": [float(v) for v in values],
        }
    return {
        "scenario_name": records.meta.get("scenario_name"),
        "replications": [int(r) for r in reps],
        "months": records.horizon_months,
        "warmup_months": int(records.meta.get("warmup_months", 0) or 0),
        "confidence": confidence,
        "metrics": metrics,
        "nan_reasons": collected.reasons,
        "by_segment": _acquisition_by_segment(records, reps, confidence),
        "cs_by_play": _effort_by_play(records),
    }


def _effort_by_play(records: Records) -> list[dict]:
    """Touch requests and their fates per play (means over replications), from the touches table:
    ``[{"play", "touch", "requests", "done", "expired", "cancelled", "waiting", "csm_hours"}]``."""
    from csim.records import TOUCH_OUTCOMES
    from csim.strategy import TOUCH_KINDS

    t = records.touches
    if t["play"].size == 0:
        return []
    effort = cs_effort(records, by_play=True)
    rows = []
    for i in range(effort["requests"].shape[1]):
        kinds = t["touch"][t["play"] == i]
        row = {"play": i, "touch": TOUCH_KINDS[int(kinds[0])] if kinds.size else None}
        for key in ("requests", *TOUCH_OUTCOMES, "csm_hours"):
            row[key] = float(effort[key][:, i].mean())
        rows.append(row)
    return rows


def _acquisition_by_segment(records: Records, reps: np.ndarray, confidence: float) -> dict:
    """CAC, new-customer ARPA and CAC payback per segment (same definitions as the run-level metrics,
    on the segment's leads and new accounts): ``{segment: {metric: {"mean", "ci_low", "ci_high", "n"}}}``."""
    warmup_days = int(records.meta.get("warmup_months", 0) or 0) * MONTH_DAYS
    margin = _meta_number(records.meta, "gross_margin")
    acc, leads = records.accounts, records.leads
    acquired = (acc["start"] >= warmup_days) & (acc["start"] < records.horizon_days)
    arrived = (leads["arrived"] >= warmup_days) & (leads["arrived"] < records.horizon_days)
    out = {}
    for code, name in enumerate(records.segments):
        mine = acquired & (acc["segment"] == code)
        index = np.searchsorted(reps, acc["replication"][mine])
        new = np.bincount(index, minlength=reps.size).astype(float)
        first = np.bincount(index, weights=acc["initial_mrr"][mine] / 100.0, minlength=reps.size)
        spent = arrived & (leads["segment"] == code)
        spend = np.bincount(np.searchsorted(reps, leads["replication"][spent]), weights=leads["cost"][spent],
                            minlength=reps.size)
        cac = np.where(new > 0, _ratio(spend, new), np.nan)
        arpa = np.where(new > 0, _ratio(first, new), np.nan)
        payback = _ratio(cac, arpa * margin)
        out[name] = {}
        for metric, values in (("cac", cac), ("new_customer_arpa", arpa), ("cac_payback_months", payback)):
            values = np.where(np.isfinite(values), values, np.nan)
            i = t_interval(values, confidence)
            out[name][metric] = {"mean": i.mean, "ci_low": i.low, "ci_high": i.high, "n": i.n}
    return out


def summary_frame(result: dict) -> pd.DataFrame:
    """The ``metrics`` part of a :func:`summary` result as a table, one row per metric."""
    rows = [{"metric": name, **{k: v for k, v in m.items() if k != "per_replication"}}
            for name, m in result["metrics"].items()]
    columns = ["metric", "mean", "ci_low", "ci_high", "n", "unit", "form", "definition"]
    table = pd.DataFrame(rows, columns=columns)
    table["nan_reason"] = ["; ".join(result["nan_reasons"].get(name, [])) for name in table["metric"]]
    return table
