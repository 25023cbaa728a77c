"""Run a comparison and write its files: comparison.json, survival, tables, figures, report.md."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from csim.io import atomic_write_csv, atomic_write_text
from csim.provenance import write_json

__all__ = ["compare_scenarios", "crn_summary"]

CRN_DEFINITION = (
    "variance_ratio = var(paired differences) / (var(scenario) + var(first scenario)) over replications: "
    "the variance of the paired difference under common random numbers over the variance the difference of "
    "two independent runs would have; an independent comparison needs 1/variance_ratio times the replications "
    "for the same interval width"
)


def crn_summary(stats: dict) -> dict:
    """What common random numbers bought: the variance ratio of every metric and scenario."""
    ratios = {name: {label: d["variance_ratio"] for label, d in m["paired_difference"].items()}
              for name, m in stats["metrics"].items()}
    finite = [r for per in ratios.values() for r in per.values() if np.isfinite(r)]
    return {"definition": CRN_DEFINITION, "variance_ratio": ratios,
            "median_variance_ratio": float(np.median(finite)) if finite else float("nan")}


def compare_scenarios(scenarios: Sequence, reps: int, seed: int, out: str | os.PathLike, *,
                      sources: Sequence[str | None] | None = None, executor: str = "joblib",
                      workers: int | None = 2, progress: bool = True, survival: bool = True,
                      survival_replications: int | None = 10,
                      small_team_command: str | None = None) -> dict:
    """Simulate ``scenarios`` on common random numbers and write every comparison output into ``out``.

    Writes ``comparison.json`` (per metric: each scenario's mean and 95 % interval, the paired
    difference against the first scenario with its interval, and the variance ratio of common
    random numbers), ``survival.json`` and ``survival_km.csv`` (Kaplan–Meier, log-rank, Cox,
    paired accounts), ``monthly.csv`` and ``cohort_revenue.csv`` (with a ``scenario`` column),
    the figures and ``report.md``. Replications are checkpointed under ``out/.replications``
    (a rerun resumes). The survival comparison pools the first ``survival_replications``
    replications (None = all; see :func:`csim.compare.survival.survival_comparison`).
    Returns the ``comparison.json`` content.
    """
    from csim.compare.cohort import starting_cohort_revenue
    from csim.compare.figures import save_comparison_figures
    from csim.compare.paired import CS_ROI_DEFINITION, paired_statistics
    from csim.compare.report import render_comparison_report
    from csim.compare.run import run_scenarios
    from csim.compare.survival import km_long_table, survival_comparison, survival_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timing = {}
    started = time.perf_counter()
    runs = run_scenarios(scenarios, reps, seed, sources=sources, executor=executor, workers=workers,
                         checkpoint_dir=out / ".replications", progress=progress)
    timing["simulate"] = time.perf_counter() - started

    started = time.perf_counter()
    stats = paired_statistics(runs)
    timing["paired_statistics"] = time.perf_counter() - started

    started = time.perf_counter()
    surv = survival_comparison(runs, replications=survival_replications) if survival and len(runs) > 1 else None
    if surv is not None:
        write_json(out / "survival.json", survival_json(surv))
        atomic_write_csv(km_long_table(surv), out / "survival_km.csv")
    timing["survival"] = time.perf_counter() - started

    started = time.perf_counter()
    cohorts = {run.label: starting_cohort_revenue(run) for run in runs}
    atomic_write_csv(pd.concat([c.assign(scenario=label) for label, c in cohorts.items()], ignore_index=True),
               out / "cohort_revenue.csv")
    atomic_write_csv(pd.concat([run.monthly.assign(scenario=run.label) for run in runs], ignore_index=True),
               out / "monthly.csv")
    figures = save_comparison_figures(runs, surv, cohorts, out)
    provenance = [{"label": run.label, **run.provenance} for run in runs]
    atomic_write_text(out / "report.md", render_comparison_report(out, stats, surv, figures, provenance,
                                                                   small_team_command))
    timing["tables_figures_report"] = time.perf_counter() - started

    result = {
        **stats,
        "scenarios": provenance,
        "cs_roi_definition": CS_ROI_DEFINITION,
        "common_random_numbers": crn_summary(stats),
        "survival": "survival.json" if surv is not None else None,
        "timing_seconds": timing,
    }
    write_json(out / "comparison.json", result)
    return result
