"""Run several scenarios on the same replication seeds (common random numbers).

Replication ``r`` of every scenario draws from ``SeedSequence(seed, spawn_key=(r, ...))`` with
one shared root ``seed``; the engine keys each account's random numbers by the account's source
and index, so replication ``r`` of two strategies sees the same leads and the same account
dice. Differences between scenarios within a replication are then the strategies' doing, not
luck, and the paired difference across replications has a much smaller variance than the
difference of two independent runs (:mod:`csim.compare.paired` measures how much smaller).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from csim.records import Records
from csim.scenario.model import Scenario

__all__ = ["ScenarioRun", "run_scenarios", "unique_labels"]


@dataclass
class ScenarioRun:
    """One scenario's replications and what the comparison needs from them.

    Attributes
    ----------
    label:
        Unique name of the scenario in the comparison (its ``name``, suffixed ``#2``, ``#3``
        when two scenarios share a name).
    scenario:
        The validated scenario as run.
    source:
        The file it came from (None for a scenario built in code).
    records:
        All replications' records.
    monthly:
        :func:`csim.metrics.monthly` table (one row per replication and month).
    summary:
        :func:`csim.metrics.summary` result, with per-replication values.
    provenance:
        Scenario hash, seed, replications, package version (:func:`csim.provenance.run_provenance`).
    """

    label: str
    scenario: Scenario
    source: str | None
    records: Records
    monthly: pd.DataFrame
    summary: dict
    provenance: dict = field(default_factory=dict)


def unique_labels(names: Sequence[str]) -> list[str]:
    """Scenario names made unique in order: a repeated name gets ``#2``, ``#3``, …"""
    seen: dict[str, int] = {}
    labels = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return labels


def run_scenarios(
    scenarios: Sequence[Scenario],
    reps: int,
    seed: int,
    *,
    sources: Sequence[str | os.PathLike | None] | None = None,
    executor: str = "local",
    workers: int | None = 2,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
    overrides: dict | None = None,
    say_resumed: bool = True,
) -> list[ScenarioRun]:
    """Simulate every scenario on replications ``0 .. reps-1`` of the same root ``seed``.

    Parameters
    ----------
    scenarios:
        At least one scenario; the first is the reference of every paired difference.
    reps, seed:
        Replications per scenario and the shared root seed (common random numbers).
    sources:
        File of each scenario, for provenance.
    executor, workers:
        As :func:`csim.engine.runner.simulate` (default: two local processes).
    checkpoint_dir:
        Checkpoint each replication there and resume from it (per scenario hash and seed).
    overrides:
        ``--set`` values applied to every scenario, for provenance.
    say_resumed:
        As :func:`csim.engine.runner.simulate`.
    """
    from csim.engine.runner import simulate
    from csim.metrics import check_mrr_bridge, monthly, summary
    from csim.provenance import run_provenance

    sources = list(sources) if sources is not None else [None] * len(scenarios)
    labels = unique_labels([s.name for s in scenarios])
    runs = []
    for label, scenario, source in zip(labels, scenarios, sources):
        records = simulate(scenario, reps, seed, executor=executor, workers=workers,
                           checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir),
                           progress=progress, say_resumed=say_resumed)
        table = monthly(records)
        check_mrr_bridge(table)
        runs.append(ScenarioRun(label, scenario, None if source is None else str(source), records, table,
                                summary(records, table), run_provenance(scenario, seed, reps, source, overrides)))
    return runs
