"""Paired differences between scenarios run with common random numbers, and CS ROI.

For each metric and each scenario ``S`` after the first (the reference ``A``), replication
``r`` gives ``d_r = S_r - A_r``; the paired difference is the mean of ``d`` with its Student-t
interval over replications. Because ``S_r`` and ``A_r`` share their random world,
``var(d) = var(S) + var(A) - 2 cov(S, A)`` is far below ``var(S) + var(A)``, the variance the
difference would have if the scenarios were run on independent seeds. The ratio of the two
(``variance_ratio``) is what common random numbers bought: an independent comparison needs
``1 / variance_ratio`` times as many replications for an interval as narrow.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from csim.metrics import METRICS, t_interval
from csim.metrics.cs import cs_effort

__all__ = ["COMPARED", "CS_ROI_DEFINITION", "metric_values", "paired_statistics"]

CS_ROI_DEFINITION = (
    "(gross margin x (cumulative revenue of the scenario - cumulative revenue of the first scenario) "
    "- (CS cost of the scenario - CS cost of the first scenario)) / CS cost of the scenario, per replication; "
    "cumulative revenue = sum of month-end MRR over the run; CS cost = headcount x cost per CSM-year x years. "
    "Zero for the first scenario by construction; acquisition spend is left out."
)

#: Metrics the comparison reports, in order: name -> (unit, form, definition, better).
#: ``better`` is +1 when more is better, -1 when less is better, 0 when neither is a win.
COMPARED: dict[str, tuple[str, str, str, int]] = {}
for _name, _better in (
    ("ending_arr", 1), ("ending_customers", 1),
    ("nrr_t12_end", 1), ("grr_t12_end", 1), ("nrr_period_mean", 1), ("grr_period_mean", 1),
    ("logo_churn_annual", -1), ("ltv", 1), ("cac_payback_months", -1),
    ("expansion_share", 1), ("referral_share", 1), ("cs_cost", -1),
):
    COMPARED[_name] = (*METRICS[_name], _better)
COMPARED["cumulative_revenue"] = ("currency", "", "sum over months of month-end MRR (revenue collected in the run)", 1)
COMPARED["cs_roi"] = ("ratio", "relative to the first scenario", CS_ROI_DEFINITION, 1)
COMPARED["cs_utilisation"] = (*METRICS["cs_utilisation"], 0)
COMPARED["mean_touch_wait_days"] = (*METRICS["mean_touch_wait_days"], -1)
COMPARED["touches_expired_share"] = ("fraction", "", "touches dropped unserved at their deadline / touches requested", -1)


def _cumulative_revenue(run) -> np.ndarray:
    totals = run.monthly.groupby("replication")["mrr"].sum()
    return totals.reindex(run.summary["replications"]).to_numpy(float)


def _expired_share(run) -> np.ndarray:
    effort = cs_effort(run.records)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(effort["requests"] > 0, effort["expired"] / effort["requests"], np.nan)


def metric_values(runs: Sequence) -> dict[str, dict[str, np.ndarray]]:
    """Per-replication values of every :data:`COMPARED` metric: ``{metric: {label: array}}``.

    All runs must cover the same replications (they do when made by
    :func:`csim.compare.run_scenarios`); arrays are in replication order.
    """
    reps = [run.summary["replications"] for run in runs]
    if any(r != reps[0] for r in reps):
        raise ValueError("scenarios cover different replications; paired differences need the same ones")
    values: dict[str, dict[str, np.ndarray]] = {name: {} for name in COMPARED}
    for run in runs:
        for name in COMPARED:
            if name in run.summary["metrics"]:
                values[name][run.label] = np.asarray(run.summary["metrics"][name]["per_replication"], float)
        values["cumulative_revenue"][run.label] = _cumulative_revenue(run)
        values["touches_expired_share"][run.label] = _expired_share(run)
    reference = runs[0]
    margin = float(reference.records.meta.get("gross_margin", np.nan))
    base_revenue = values["cumulative_revenue"][reference.label]
    base_cost = values["cs_cost"][reference.label]
    for run in runs:
        cost = values["cs_cost"][run.label]
        gained = margin * (values["cumulative_revenue"][run.label] - base_revenue) - (cost - base_cost)
        with np.errstate(divide="ignore", invalid="ignore"):
            values["cs_roi"][run.label] = np.where(cost > 0, gained / cost, np.nan)
    return values


def _interval(values: np.ndarray, confidence: float) -> dict:
    i = t_interval(values, confidence)
    return {"mean": i.mean, "ci_low": i.low, "ci_high": i.high, "n": i.n}


def _paired(a: np.ndarray, b: np.ndarray, confidence: float) -> dict:
    both = np.isfinite(a) & np.isfinite(b)
    d = b[both] - a[both]
    out = _interval(d, confidence)
    out["excludes_zero"] = bool(out["n"] >= 2 and (out["ci_low"] > 0 or out["ci_high"] < 0))
    var_paired = float(d.var(ddof=1)) if d.size > 1 else float("nan")
    var_independent = float(a[both].var(ddof=1) + b[both].var(ddof=1)) if d.size > 1 else float("nan")
    out["var_paired"] = var_paired
    out["var_independent"] = var_independent
    out["variance_ratio"] = var_paired / var_independent if var_independent > 0 else float("nan")
    return out


def paired_statistics(runs: Sequence, confidence: float = 0.95,
                      values: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> dict:
    """Each scenario's mean and interval per metric, and its paired difference against the first.

    Returns a JSON-ready dict::

        {"reference": label, "confidence": 0.95, "replications": n,
         "metrics": {name: {"unit", "form", "definition", "better",
                            "scenarios": {label: {"mean", "ci_low", "ci_high", "n"}},
                            "paired_difference": {label: {"mean", "ci_low", "ci_high", "n",
                                "excludes_zero", "var_paired", "var_independent",
                                "variance_ratio"}}}}}

    ``paired_difference`` covers every scenario but the first; differences are
    scenario − first, in the metric's unit. ``better``: +1 more is better, −1 less is better,
    0 neither.
    """
    values = metric_values(runs) if values is None else values
    reference = runs[0].label
    metrics = {}
    for name, (unit, form, definition, better) in COMPARED.items():
        per = values[name]
        if reference not in per:
            continue
        metrics[name] = {
            "unit": unit, "form": form, "definition": definition, "better": better,
            "scenarios": {label: _interval(v, confidence) for label, v in per.items()},
            "paired_difference": {label: _paired(per[reference], v, confidence)
                                  for label, v in per.items() if label != reference},
        }
    return {"reference": reference, "confidence": confidence,
            "replications": len(runs[0].summary["replications"]), "metrics": metrics}
