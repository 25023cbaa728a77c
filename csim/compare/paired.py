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

from csim.metrics import t_interval
from csim.metrics.registry import METRICS, Metric
from csim.metrics.relative import relative_values

__all__ = ["COMPARED", "CS_ROI_DEFINITION", "metric_values", "paired_statistics"]

CS_ROI_DEFINITION = METRICS["cs_roi"].definition

#: Metrics the comparison reports, in registry order (csim.metrics.registry).
COMPARED: dict[str, Metric] = {name: m for name, m in METRICS.items() if m.compare}


def metric_values(runs: Sequence) -> dict[str, dict[str, np.ndarray]]:
    """Per-replication values of every :data:`COMPARED` metric: ``{metric: {label: array}}``.

    All runs must cover the same replications (they do when made by
    :func:`csim.compare.run_scenarios`); arrays are in replication order. Relative metrics
    (CS ROI, value per CSM-hour) are against the first run and absent for it.
    """
    reps = [run.summary["replications"] for run in runs]
    if any(r != reps[0] for r in reps):
        raise ValueError("scenarios cover different replications; paired differences need the same ones")
    needed = set(COMPARED) | {"cumulative_revenue", "cs_cost", "acquisition_spend", "csm_hours_used"}
    values: dict[str, dict[str, np.ndarray]] = {name: {} for name in needed}
    for run in runs:
        for name in needed:
            if name in run.summary["metrics"]:
                values[name][run.label] = np.asarray(run.summary["metrics"][name]["per_replication"], float)
    margin = float(runs[0].records.meta.get("gross_margin", np.nan))
    relative, _ = relative_values(values, runs[0].label, margin)
    values.update(relative)
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
    for name, m in COMPARED.items():
        per = values[name]
        if not per:
            continue
        metrics[name] = {
            "unit": m.unit, "form": m.form, "definition": m.definition, "label": m.label, "better": m.better,
            "scenarios": {label: _interval(v, confidence) for label, v in per.items()},
            # A relative metric is already a comparison with the reference: its "difference" is its value.
            "paired_difference": {label: _paired(per[reference], v, confidence) if not m.relative
                                  else _paired(np.zeros_like(v), v, confidence)
                                  for label, v in per.items() if label != reference},
        }
    return {"reference": reference, "confidence": confidence,
            "replications": len(runs[0].summary["replications"]), "metrics": metrics}
