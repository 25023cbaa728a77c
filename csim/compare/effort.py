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
from csim.metrics.cs import SATURATED, cs_effort
from csim.records import TOUCH_OUTCOMES

__all__ = ["SATURATED", "effort_summary"]


def _stat(values: np.ndarray) -> dict:
    i = t_interval(np.asarray(values, float))
    return {"mean": i.mean, "ci_low": i.low, "ci_high": i.high, "n": i.n}


def effort_summary(runs: Sequence, capacity_factors: dict[str, float] | None = None) -> dict:
    """Effort per scenario label (JSON-ready).

    ``{label: {"capacity_factor", "csm_hours", "cs_cost", "utilisation", "months_above_saturation",
    "saturated_months" (month indices where the mean utilisation over replications is above
    :data:`SATURATED`), "requests", <one entry per touch outcome>, "unserved_share",
    "backlog_at_horizon", "by_play": [{"play", "touch", "trigger", "requests", <outcomes>,
    "csm_hours"}]}}``. Counts and hours are means over replications with their t-interval
    (:func:`csim.metrics.cs.cs_effort`); CSM-hours count hours worked within the run.
    """
    out = {}
    for run in runs:
        reps = np.asarray(run.summary["replications"])
        effort = cs_effort(run.records)
        per_play = cs_effort(run.records, by_play=True)
        util = run.monthly.pivot(index="replication", columns="month", values="cs_utilisation").reindex(reps)
        above = (util.to_numpy() > SATURATED).sum(axis=1).astype(float)
        mean_by_month = util.mean(axis=0).to_numpy()
        backlog = run.monthly.groupby("replication")["cs_backlog"].last().reindex(reps).to_numpy(float)
        by_play = []
        for i, play in enumerate(run.scenario.strategy.plays):
            row = {"play": i, "touch": play.touch, "trigger": play.trigger}
            for key in ("requests", *TOUCH_OUTCOMES, "csm_hours"):
                column = per_play[key][:, i] if i < per_play[key].shape[1] else np.zeros(reps.size)
                row[key] = float(np.mean(column))
            by_play.append(row)
        out[run.label] = {
            "capacity_factor": (capacity_factors or {}).get(run.label, 1.0),
            "csm_hours": _stat(effort["csm_hours"]),
            "cs_cost": _stat(run.summary["metrics"]["cs_cost"]["per_replication"]),
            "utilisation": _stat(run.summary["metrics"]["cs_utilisation"]["per_replication"]),
            "months_above_saturation": _stat(above),
            "saturated_months": [int(m) for m in np.flatnonzero(mean_by_month > SATURATED)],
            **{key: _stat(effort[key]) for key in ("requests", *TOUCH_OUTCOMES, "unserved_share")},
            "backlog_at_horizon": _stat(backlog),
            "by_play": by_play,
        }
    return out
