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
                      sources: Sequence[str | None] | None = None, executor: str = "local",
                      workers: int | None = 2, progress: bool = True, survival: bool = True,
                      survival_replications: int | None = 10, equalize: str | None = None,
                      decompose: bool = False, small_team_command: str | None = None,
                      overrides: dict | None = None, keep_checkpoints: bool = False) -> dict:
    """Simulate ``scenarios`` on common random numbers and write every comparison output into ``out``.

    Writes ``comparison.json`` (per metric: each scenario's mean and 95 % interval, the paired
    difference against the first scenario with its interval, P(beats the first scenario), and
    the variance ratio of common random numbers), ``survival.json`` and ``survival_km.csv``
    (Kaplan–Meier, log-rank, Cox, paired accounts), ``breakdown.csv`` (paired differences by
    segment and channel), ``monthly.csv`` and ``cohort_revenue.csv`` (with a ``scenario``
    column), the figures and ``report.md``. Replications are checkpointed as they finish (a rerun
    resumes; kept in ``out/.replications`` after success only with ``keep_checkpoints``); the
    outputs appear together at the end or not at all (:func:`csim.io.checkpointed_output`).
    ``overrides`` (the ``--set`` values) are recorded in each scenario's provenance. The survival comparison pools the first
    ``survival_replications`` replications (None = all; see
    :func:`csim.compare.survival.survival_comparison`).

    ``equalize`` (``"csm_hours"`` or ``"cs_cost"``): scale each non-reference scenario's CS
    capacity until its effort matches the first scenario's (:mod:`csim.compare.equalize`); the
    paired statistics are then those at equal effort, and ``as_configured`` keeps the
    comparison as the files say. ``decompose``: re-run the compared pair with one mechanism
    channel off at a time (:mod:`csim.compare.decompose`) and write ``decomposition.csv``.
    Returns the ``comparison.json`` content.
    """
    from csim.io import checkpointed_output

    with checkpointed_output(out, keep_checkpoints=keep_checkpoints) as (staging, checkpoints):
        return _compare(scenarios, reps, seed, staging, checkpoints, sources=sources, executor=executor,
                        workers=workers, progress=progress, survival=survival,
                        survival_replications=survival_replications, equalize=equalize, decompose=decompose,
                        small_team_command=small_team_command, overrides=overrides)


def _compare(scenarios, reps, seed, out: Path, checkpoints: Path, *, sources, executor, workers, progress, survival,
             survival_replications, equalize, decompose, small_team_command, overrides) -> dict:
    """:func:`compare_scenarios` writing into the staging folder ``out``."""
    import pandas as pd

    from csim.compare.breakdown import breakdown
    from csim.compare.cohort import starting_cohort_revenue
    from csim.compare.effort import effort_summary
    from csim.compare.figures import save_comparison_figures
    from csim.compare.paired import CS_ROI_DEFINITION, paired_statistics
    from csim.compare.report import render_comparison_report
    from csim.compare.run import run_scenarios
    from csim.compare.survival import km_long_table, survival_comparison, survival_json

    timing = {}

    def simulate(batch: Sequence, say_resumed: bool = False) -> list:
        # Only the first batch can resume an interrupted command; later ones re-read this command's own runs.
        return run_scenarios(batch, reps, seed, sources=sources, executor=executor, workers=workers,
                             checkpoint_dir=checkpoints, progress=progress, overrides=overrides,
                             say_resumed=say_resumed)

    started = time.perf_counter()
    runs = simulate(scenarios, say_resumed=True)
    timing["simulate"] = time.perf_counter() - started

    as_configured = None
    equal_effort = None
    if equalize is not None and len(runs) > 1:
        started = time.perf_counter()
        as_configured = paired_statistics(runs)
        add_probability_beats(as_configured, runs)
        scenarios, equal_effort = _equalize(runs, equalize, simulate)
        runs = simulate(scenarios)  # every factor was run already: read back from the checkpoints
        timing["equalize"] = time.perf_counter() - started

    started = time.perf_counter()
    stats = paired_statistics(runs)
    add_probability_beats(stats, runs)
    parts = breakdown(runs) if len(runs) > 1 else {}
    if parts:
        atomic_write_csv(breakdown_table(parts), out / "breakdown.csv")
    timing["paired_statistics"] = time.perf_counter() - started

    decomposition = None
    if decompose and len(runs) > 1:
        started = time.perf_counter()
        decomposition = _decompose(runs, simulate)
        atomic_write_csv(decomposition_table(decomposition), out / "decomposition.csv")
        timing["decompose"] = time.perf_counter() - started

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
    effort = effort_summary(runs, {label: r.factor for label, r in (equal_effort or {}).items()})
    uncertain = _uncertain_parameters(runs, seed)
    atomic_write_text(out / "report.md", render_comparison_report(
        out, stats, surv, figures, provenance, small_team_command, effort=effort,
        equal_effort=None if equal_effort is None else {label: r.to_json() for label, r in equal_effort.items()},
        as_configured=None if as_configured is None else as_configured["metrics"],
        decomposition=decomposition, breakdown=parts, uncertain=uncertain))
    timing["tables_figures_report"] = time.perf_counter() - started

    result = {
        **stats,
        "scenarios": provenance,
        "cs_roi_definition": CS_ROI_DEFINITION,
        "common_random_numbers": crn_summary(stats),
        "survival": "survival.json" if surv is not None else None,
        "equal_effort": None if equal_effort is None else {label: r.to_json() for label, r in equal_effort.items()},
        "as_configured": None if as_configured is None else as_configured["metrics"],
        "effort": effort,
        "breakdown": parts,
        "decomposition": decomposition,
        "uncertain_parameters": uncertain,
        "timing_seconds": timing,
    }
    write_json(out / "comparison.json", result)
    from csim.html_report import write_html_report

    write_html_report(out)
    return result


def add_probability_beats(stats: dict, runs: Sequence) -> None:
    """Add P(beats the reference) (:func:`csim.compare.uncertainty.probability_beats`) to every
    paired difference of ``stats`` (in place), and what each difference moves with."""
    from csim.compare.paired import metric_values
    from csim.compare.uncertainty import probability_beats

    values = metric_values(runs)
    reference = stats["reference"]
    for name, m in stats["metrics"].items():
        for label, d in m["paired_difference"].items():
            base = values[name].get(reference)
            if base is None:  # a relative metric (CS ROI): its sign is the answer, not a win over the reference
                base = np.zeros_like(values[name][label])
            d["p_beats"] = probability_beats(base, values[name][label], m["better"])


def _equalize(runs: Sequence, target: str, simulate) -> tuple[list, dict]:
    """Scale each non-reference scenario's capacity to the reference's effort; see csim.compare.equalize."""
    from csim.compare.equalize import effort_value, scale_capacity, solve_capacity_factor

    reference = runs[0]
    goal = effort_value(target, reference.records, reference.summary)
    scenarios = [reference.scenario]
    results = {}
    for run in runs[1:]:
        def effort(factor: float, scenario=run.scenario) -> float:
            scaled = simulate([scale_capacity(scenario, factor)])[0]
            return effort_value(target, scaled.records, scaled.summary)

        result = solve_capacity_factor(effort, goal, effort_value(target, run.records, run.summary), target)
        results[run.label] = result
        scenarios.append(scale_capacity(run.scenario, result.factor))
    return scenarios, results


def _decompose(runs: Sequence, simulate) -> dict:
    """Paired differences with each mechanism channel switched off; see csim.compare.decompose."""
    from csim.compare.decompose import CHANNELS, DECOMPOSED_METRICS, decompose, switch_off
    from csim.compare.paired import metric_values

    scenarios = [run.scenario for run in runs]
    variants = {"full": [], "none": [c.name for c in CHANNELS],
                **{f"without:{c.name}": [c.name] for c in CHANNELS}}
    reference = runs[0].label
    differences: dict[str, dict] = {run.label: {} for run in runs[1:]}
    for variant, channels in variants.items():
        variant_runs = runs if not channels else simulate([switch_off(s, channels) for s in scenarios])
        values = metric_values(variant_runs)
        for run, variant_run in zip(runs[1:], variant_runs[1:]):
            differences[run.label][variant] = {
                m: values[m][variant_run.label] - values[m][reference] for m in DECOMPOSED_METRICS}
    return {label: decompose(d) for label, d in differences.items()}


def decomposition_table(decomposition: dict) -> pd.DataFrame:
    """decomposition.csv: one row per scenario, metric and term (whole, channel, interaction, no channel)."""
    rows = []
    for label, metrics in decomposition.items():
        for metric, d in metrics.items():
            terms = [("whole", "", d["whole"]), *[(c["channel"], c["label"], c) for c in d["channels"]],
                     ("interaction", "channels acting together (whole − sum of contributions)", d["interaction"]),
                     ("no_channel", "difference left with every channel off", d["no_channel"])]
            for term, words, stat in terms:
                rows.append({"scenario": label, "metric": metric, "term": term, "label": words,
                             "mean": stat["mean"], "ci_low": stat["ci_low"], "ci_high": stat["ci_high"],
                             "share": stat.get("share", float("nan")), "n": stat["n"]})
    return pd.DataFrame(rows)


def breakdown_table(parts: dict) -> pd.DataFrame:
    """breakdown.csv: one row per part (segment or channel), metric and scenario."""
    rows = []
    for part, metrics in parts.items():
        kind, _, name = part.partition(":")
        for metric, entry in metrics.items():
            for label, d in entry["paired_difference"].items():
                rows.append({"part": kind, "name": name, "metric": metric, "scenario": label,
                             "scenario_mean": entry["scenarios"][label],
                             "reference_mean": entry["scenarios"][next(iter(entry["scenarios"]))],
                             "difference": d["mean"], "ci_low": d["ci_low"], "ci_high": d["ci_high"], "n": d["n"]})
    return pd.DataFrame(rows)


#: Differences whose dependence on the uncertain parameters the report shows.
SENSITIVITY_METRICS = ("ending_arr", "logo_churn_annual", "cumulative_revenue")


def _uncertain_parameters(runs: Sequence, seed: int) -> dict:
    """The per-replication draws of every uncertain parameter and their rank correlation with
    each paired difference (:func:`csim.compare.uncertainty.rank_correlations`)."""
    from csim.compare.paired import metric_values
    from csim.compare.uncertainty import rank_correlations
    from csim.engine.parameters import parameter_draws

    from csim.scenario.uncertain import uncertain_parameters

    replications = runs[0].summary["replications"]
    draws: dict[str, np.ndarray] = {}
    priors: dict[str, dict] = {}
    for run in runs:
        draws.update(parameter_draws(run.scenario, seed, replications))
        for p in uncertain_parameters(run.scenario):
            priors.setdefault(p.key, {"distribution": p.distribution.describe(), "source": p.distribution.source,
                                      "scenarios": []})
            if run.label not in priors[p.key]["scenarios"]:
                priors[p.key]["scenarios"].append(run.label)
    out = {"draws": {key: [float(x) for x in v] for key, v in draws.items()}, "priors": priors, "correlations": {}}
    if not draws or len(runs) < 2:
        return out
    values = metric_values(runs)
    reference = runs[0].label
    for run in runs[1:]:
        out["correlations"][run.label] = {
            metric: rank_correlations(draws, values[metric][run.label] - values[metric][reference])
            for metric in SENSITIVITY_METRICS}
    return out
