"""One sweep task: one replication of one point's scenario, reduced to its headline metrics.

This is the only code a worker runs. It takes a validated :class:`~csim.scenario.model.Scenario`
(never a path: a worker on another machine needs only csim installed) and returns plain floats,
so results travel back cheaply and tabulate identically whatever the executor.
"""

from __future__ import annotations

import math

from csim.errors import LimitError
from csim.metrics.registry import METRICS
from csim.scenario.model import Scenario

__all__ = ["SWEEP_METRICS", "run_task"]

#: Metrics recorded per task: the headline metrics that one run defines (not relative ones).
SWEEP_METRICS = tuple(name for name, m in METRICS.items() if m.headline and not m.relative)


def run_task(scenario: Scenario, replication: int, seed: int) -> dict:
    """Simulate replication ``replication`` of ``scenario`` on root ``seed``.

    Returns ``{"metrics": {name: float}, "error": str | None}``; a run that outgrows a scenario
    limit (``max_accounts``) is recorded with NaN metrics and the error, not lost.
    """
    from csim.engine.world import simulate_replication
    from csim.metrics import monthly, summary

    try:
        records = simulate_replication(scenario, replication, seed)
    except LimitError as exc:
        return {"metrics": {name: math.nan for name in SWEEP_METRICS}, "error": str(exc)}
    result = summary(records, monthly(records))
    return {"metrics": {name: result["metrics"][name]["per_replication"][0] for name in SWEEP_METRICS},
            "error": None}
