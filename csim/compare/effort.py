"""The CS effort each scenario used: hours, cost, how busy the team was, what it left undone.

A comparison between strategies is only fair when the reader sees the effort behind each: a
strategy that keeps the team busier buys its result with hours the other left idle, and a
saturated team measures the queue more than the strategy. Per scenario, over replications:
CSM-hours used, CS cost, mean utilisation, months above :data:`SATURATED`, requests made and
what became of them (served, expired at their deadline, cancelled when the account churned,
still waiting at the horizon), per play as well.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from csim.metrics import t_interval
from csim.records import TOUCH_OUTCOMES

__all__ = ["SATURATED", "effort_summary"]

#: Utilisation above which a month counts as saturated (the report's warning threshold).
SATURATED = 0.85


def _stat(values: np.ndarray) -> dict:
    i = t_interval(np.asarray(values, float))
    return {"mean": i.mean, "ci_low": i.low, "ci_high": i.high, "n": i.n}


def _outcome_counts(touches: dict, reps: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    index = np.searchsorted(reps, touches["replication"][mask])
    outcome = touches["outcome"][mask]
    counts = {"requests": np.bincount(index, minlength=reps.size).astype(float)}
    for code, name in enumerate(TOUCH_OUTCOMES):
        counts[name] = np.bincount(index[outcome == code], minlength=reps.size).astype(float)
    return counts


def effort_summary(runs: Sequence, capacity_factors: dict[str, float] | None = None) -> dict:
    """Effort per scenario label (JSON-ready).

    ``{label: {"capacity_factor", "csm_hours", "cs_cost", "utilisation", "months_above_saturation",
    "saturated_months" (month indices where the mean utilisation over replications is above
    :data:`SATURATED`), "requests", <one entry per touch outcome>, "unserved_share",
    "by_play": [{"play", "touch", "requests", <outcomes>, "csm_hours"}]}}``. Counts and hours are
    means over replications with their t-interval; CSM-hours count touches served in the run.
    """
    from csim.compare.equalize import csm_hours_used

    out = {}
    for run in runs:
        reps = np.asarray(run.summary["replications"])
        t = run.records.touches
        everything = np.ones(t["replication"].size, dtype=bool)
        counts = _outcome_counts(t, reps, everything)
        unserved = counts.get("expired", 0) + counts.get("waiting", 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            unserved_share = np.where(counts["requests"] > 0, unserved / counts["requests"], np.nan)
        util = run.monthly.pivot(index="replication", columns="month", values="cs_utilisation")
        util = util.reindex(reps)
        above = (util.to_numpy() > SATURATED).sum(axis=1).astype(float)
        mean_by_month = util.mean(axis=0).to_numpy()
        by_play = []
        plays = run.scenario.strategy.plays
        for i, play in enumerate(plays):
            mask = t["play"] == i
            c = _outcome_counts(t, reps, mask)
            served = np.isfinite(t["finished"]) & mask
            hours = np.bincount(np.searchsorted(reps, t["replication"][served]), weights=t["csm_hours"][served],
                                minlength=reps.size)
            by_play.append({"play": i, "touch": play.touch, "trigger": play.trigger,
                            **{k: float(np.mean(v)) for k, v in c.items()}, "csm_hours": float(np.mean(hours))})
        out[run.label] = {
            "capacity_factor": (capacity_factors or {}).get(run.label, 1.0),
            "csm_hours": _stat(csm_hours_used(run.records)),
            "cs_cost": _stat(run.summary["metrics"]["cs_cost"]["per_replication"]),
            "utilisation": _stat(run.summary["metrics"]["cs_utilisation"]["per_replication"]),
            "months_above_saturation": _stat(above),
            "saturated_months": [int(m) for m in np.flatnonzero(mean_by_month > SATURATED)],
            **{k: _stat(v) for k, v in counts.items()},
            "unserved_share": _stat(unserved_share),
            "by_play": by_play,
        }
    return out

