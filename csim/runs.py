"""The run pipeline as a library function: scenario → engine → records → metrics, tables, figures, report.

``csim run`` and notebooks call :func:`run_scenario`; ``csim compare`` has its twin in
:func:`csim.compare.compare_scenarios`. Both are reachable from the top of the package as
``csim.run_scenario`` and ``csim.compare_scenarios``.
"""

from __future__ import annotations

import os

from csim.scenario.model import Scenario

__all__ = ["run_scenario"]


def run_scenario(scenario: Scenario, reps: int | None = None, seed: int | None = None,
                 out: str | os.PathLike = "results/run", *, executor: str = "auto", workers: int | None = None,
                 scheduler: str | None = None, progress: bool = True, source: str | None = None,
                 overrides: dict | None = None, keep_checkpoints: bool = False) -> dict:
    """Simulate ``scenario`` and write every output file of a run into ``out``; return the summary.

    The library form of ``csim run`` (``csim.run_scenario``). ``reps`` and ``seed`` default to the
    scenario's. Writes ``summary.json``, ``monthly.csv``, ``events.parquet``, ``accounts.parquet``,
    ``ledger.csv`` (:mod:`csim.ledger`), ``report.html`` (:mod:`csim.html_report`),
    the cohort retention tables, the figures, ``report.md`` and ``scenario.json`` (a scenario file
    that reproduces the run: ``csim run out/scenario.json``). The files appear together at the end
    or not at all; each replication is checkpointed meanwhile (a rerun resumes; see
    :func:`csim.io.checkpointed_output`), and the checkpoints are kept in ``out/.replications``
    after success only with ``keep_checkpoints``. ``overrides`` (the ``--set``
    values) are recorded in the provenance.
    """
    reps = scenario.replications if reps is None else int(reps)
    seed = scenario.seed if seed is None else int(seed)
    from csim.engine.runner import simulate
    from csim.io import atomic_write_csv, atomic_write_text, checkpointed_output
    from csim.html_report import write_html_report
    from csim.ledger import ledger_table
    from csim.metrics import check_mrr_bridge, cohort_retention, monthly, summary as summarise
    from csim.plots import save_run_figures
    from csim.provenance import run_provenance, write_json
    from csim.report import write_run_report
    from csim.tables import write_parquet

    with checkpointed_output(out, keep_checkpoints=keep_checkpoints) as (staging, checkpoints):
        records = simulate(scenario, reps, seed, executor=executor, workers=workers, scheduler=scheduler,
                           checkpoint_dir=checkpoints, progress=progress)
        table = monthly(records)
        check_mrr_bridge(table)
        result = summarise(records, table)
        provenance = run_provenance(scenario, seed, reps, source, overrides)
        result["provenance"] = provenance
        atomic_write_csv(table, staging / "monthly.csv")
        for value in ("logos", "revenue"):
            atomic_write_csv(cohort_retention(records, value=value), staging / f"cohort_retention_{value}.csv", index=True)
        write_parquet(records, "events", staging / "events.parquet")
        write_parquet(records, "accounts", staging / "accounts.parquet")
        # The history in the schema of a billing export: what a company's own ledger looks like.
        atomic_write_csv(ledger_table(records), staging / "ledger.csv")
        figures = save_run_figures(table, staging)
        write_run_report(staging, result, figures, provenance, scenario)
        write_json(staging / "summary.json", result)
        # The seed and replications of this run, so that the file alone reproduces it.
        reproducible = scenario.model_copy(update={"seed": seed, "replications": reps})
        atomic_write_text(staging / "scenario.json", reproducible.model_dump_json(indent=2) + "\n")
        write_html_report(staging)
    return result
