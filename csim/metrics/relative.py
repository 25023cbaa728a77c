"""Metrics of a scenario relative to a reference scenario run on the same replications.

Both need the per-replication values of the two runs (common random numbers pair replication r
of one with replication r of the other):

* **CS ROI** (incremental) = (Δ gross profit − Δ CS cost − Δ acquisition spend) ÷ Δ CS cost, Δ =
  scenario − reference, gross profit = gross margin × revenue collected over the run. What each
  extra unit of CS spend returns after paying for itself and for any change in acquisition. Not
  defined (NaN, with the reason) where the CS costs are equal: there is no extra spend to return
  on — the case of a reallocation of the same team, where the paired difference in revenue is the
  answer.
* **Value per CSM-hour** = Δ gross profit ÷ Δ CSM-hours used; NaN where the hours are within 1 %
  of the reference's (an equal-effort comparison), for the same reason.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["relative_values", "EQUAL_HOURS"]

#: Relative difference in CSM-hours under which value per CSM-hour is not defined.
EQUAL_HOURS = 0.01


def relative_values(values: Mapping[str, Mapping[str, np.ndarray]], reference: str, margin: float
                    ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list[str]]]:
    """``({"cs_roi": {label: array}, "value_per_csm_hour": {...}}, nan_reasons)`` for every label
    but the reference; ``values[metric][label]`` are per-replication arrays of
    ``cumulative_revenue``, ``cs_cost``, ``acquisition_spend`` and ``csm_hours_used``."""
    out: dict[str, dict[str, np.ndarray]] = {"cs_roi": {}, "value_per_csm_hour": {}}
    reasons: dict[str, list[str]] = {}

    def delta(metric: str, label: str) -> np.ndarray:
        return np.asarray(values[metric][label], float) - np.asarray(values[metric][reference], float)

    for label in values["cumulative_revenue"]:
        if label == reference:
            continue
        profit = margin * delta("cumulative_revenue", label)
        cost = delta("cs_cost", label)
        acquisition = delta("acquisition_spend", label)
        hours = delta("csm_hours_used", label)
        base_hours = np.asarray(values["csm_hours_used"][reference], float)
        with np.errstate(divide="ignore", invalid="ignore"):
            roi = np.where(cost != 0, (profit - cost - acquisition) / cost, np.nan)
            equal_hours = np.abs(hours) <= EQUAL_HOURS * np.abs(base_hours)
            per_hour = np.where(equal_hours, np.nan, profit / hours)
        if (cost == 0).any():
            reasons.setdefault("cs_roi", []).append(f"{label}: CS cost equal to the reference's (no extra spend)")
        if equal_hours.any():
            reasons.setdefault("value_per_csm_hour", []).append(
                f"{label}: CSM-hours within {EQUAL_HOURS:.0%} of the reference's (equal effort)")
        out["cs_roi"][label] = roi
        out["value_per_csm_hour"][label] = per_hour
    return out, reasons
