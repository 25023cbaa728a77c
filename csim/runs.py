"""The run pipeline as a library function: scenario → engine → records → metrics, tables, figures, report.

``csim run`` and notebooks call :func:`run_scenario`; ``csim compare`` has its twin in
:func:`csim.compare.compare_scenarios`. Both are reachable from the top of the package as
``csim.run_scenario`` and ``csim.compare_scenarios``.
"""

from __future__ import annotations

import os
from pathlib import Path

from csim.scenario.model import Scenario

__all__ = ["run_scenario"]


def run_scenario(scenario: Scenario, reps: int | None = None, seed: int | None = None,
                 out: str | os.PathLike = "results/run", *, executor: str = "auto", workers: int | None = None,
                 scheduler: str | None = None, progress: bool = True, source: str | None = None) -> dict:
    """Simulate ``scenario`` and write every output file of a run into ``out``; return the summary.

    The library form of ``csim run`` (``csim.run_scenario``). ``reps`` and ``seed`` default to the
    scenario's. Writes ``summary.json``, ``monthly.csv``, ``events.parquet``, ``accounts.parquet``,
    the cohort retention tables, the figures, ``report.md`` and ``scenario.json``; each
    replication is checkpointed under ``out/.replications`` (a rerun resumes).
    """
    reps = scenario.replications if reps is None else int(reps)
    seed = scenario.seed if seed is None else int(seed)
    out = Path(out)
    from csim.engine.runner import simulate
    from csim.io import atomic_write_csv, atomic_write_text
    from csim.metrics import check_mrr_bridge, cohort_retention, monthly, summary as summarise
    from csim.plots import save_run_figures
    from csim.provenance import run_provenance, write_json
    from csim.report import write_run_report
    from csim.tables import write_parquet

    out.mkdir(parents=True, exist_ok=True)
    records = simulate(scenario, reps, seed, executor=executor, workers=workers, scheduler=scheduler,
                       checkpoint_dir=out / ".replications", progress=progress)
    table = monthly(records)
    check_mrr_bridge(table)
    result = summarise(records, table)
    provenance = run_provenance(scenario, seed, reps, source)
    result["provenance"] = provenance
    atomic_write_csv(table, out / "monthly.csv")
    for value in ("logos", "revenue"):
        atomic_write_csv(cohort_retention(records, value=value), out / f"cohort_retention_{value}.csv", index=True)
    write_parquet(records, "events", out / "events.parquet")
    write_parquet(records, "accounts", out / "accounts.parquet")
    figures = save_run_figures(table, out)
    write_run_report(out, result, figures, provenance)
    write_json(out / "summary.json", result)
    atomic_write_text(out / "scenario.json", scenario.model_dump_json(indent=2))
    return result

