"""``csim sweep analyze``: from a sweep directory's task files to tables, indices, figures and report.

Answers the three questions a single comparison cannot:

1. *Which lever matters most?* — main effects, a tornado and the global index of the design
   (:mod:`csim.sweep.sensitivity`);
2. *Where does the versus scenario stop beating the base?* — scenario discovery with PRIM on the
   points where the paired difference's interval excludes zero in the versus scenario's favour
   (:mod:`csim.sweep.discovery`);
3. *How many CSMs?* — team sizing on gross profit after CS cost (:mod:`csim.sweep.sizing`).

Everything is recomputed from ``tasks/`` and ``sweep.json``, so it can be rerun with another
metric at any time, and a partial sweep can be looked at with ``complete=False``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from csim.errors import InputError
from csim.io import atomic_write_csv
from csim.metrics.registry import METRICS
from csim.provenance import write_json
from csim.sweep.design import unit_design
from csim.sweep.sensitivity import global_indices, main_effects, tornado
from csim.sweep.sizing import pareto_front, team_parameter, team_sizing
from csim.sweep.store import read_definition
from csim.sweep.tables import DIFFERENCE, parameter_names, points_table, results_table, scenario_labels
from csim.sweep.tasks import SWEEP_METRICS
from csim.tables import write_frame_parquet

__all__ = ["DEFAULT_METRIC", "INDEX_METRICS", "analyze", "check_options", "winning_region", "discovery_sentence"]

DEFAULT_METRIC = "ending_arr"
#: Outcomes whose sensitivity indices are tabulated besides the chosen metric.
INDEX_METRICS = ("nrr_t12_window", "gross_profit_after_cs", "logo_churn_annual", "cs_cost", "mean_touch_wait_days")


def winning_region(points: pd.DataFrame, names: list[str], metric: str, labels: dict) -> dict:
    """Classify points by who wins on ``metric`` and find the versus scenario's winning region."""
    from csim.sweep.discovery import prim

    better = METRICS[metric].better or 1
    diff = points[points["scenario"] == DIFFERENCE].reset_index(drop=True)
    low, high = diff[f"{metric}_low"], diff[f"{metric}_high"]
    wins = (low > 0) if better > 0 else (high < 0)
    loses = (high < 0) if better > 0 else (low > 0)
    outcome = np.where(wins, "versus wins", np.where(loses, "base wins", "not settled"))
    table = diff[["point", *names, metric, f"{metric}_low", f"{metric}_high"]].assign(outcome=outcome)
    x = diff[names].copy()
    categorical = [n for n in names if not pd.api.types.is_numeric_dtype(x[n])]
    boxes = prim(x, wins.to_numpy(), categorical=categorical) if names else []
    return {"table": table, "boxes": boxes, "wins": int(wins.sum()), "loses": int(loses.sum()),
            "points": int(len(diff)), "better": better, "labels": labels}


def _negation(box) -> str:
    """Words for the region outside ``box``: where the versus scenario stops winning."""
    parts = []
    for name, (low, high) in box.limits.items():
        if low == high:
            parts.append(f"{name} ≠ {low:.3g}")
            continue
        if math.isfinite(low):
            parts.append(f"{name} < {low:.3g}")
        if math.isfinite(high):
            parts.append(f"{name} > {high:.3g}")
    for name, allowed in box.categories.items():
        parts.append(f"{name} is not {' or '.join(map(str, allowed))}")
    return " or ".join(parts)


def discovery_sentence(found: dict, labels: dict, metric: str) -> str:
    """The plain sentence of scenario discovery."""
    other, base = labels["versus"], labels["base"]
    from csim.sweep.report import lower_label

    label = lower_label(METRICS[metric].label)
    n, wins = found["points"], found["wins"]
    head = f"{other} beats {base} on {label} (its 95 % interval excludes zero) at {wins} of {n} points"
    if wins == 0:
        return f"{head}: it wins nowhere in the swept region" + (
            f", and {base} wins at {found['loses']}." if found["loses"] else ".")
    if wins == n:
        return f"{head}: it wins everywhere in the swept region."
    if not found["boxes"]:
        return (f"{head}; no region of the swept parameters holds its wins significantly more densely than the "
                f"whole (PRIM on {n} points; more points or replications sharpen this).")
    box = found["boxes"][0]
    where = box.describe()
    stops = _negation(box)
    tail = f" It stops winning on {label} when {stops}." if stops else ""
    return (f"{head}. It wins when {where} (that region holds {box.coverage:.0%} of its wins, and it wins at "
            f"{box.density:.0%} of the points in it).{tail}")


def check_options(source, names: list[str], metric: str, heatmap: tuple[str, ...] | None) -> None:
    """Refuse an unknown ``--metric`` or a ``--heatmap`` parameter that is not swept (one line, naming it)."""
    if metric not in SWEEP_METRICS:
        raise InputError(source, "--metric", f"unknown metric {metric!r}; one of {', '.join(SWEEP_METRICS)}")
    for name in heatmap or ():
        if name not in names:
            raise InputError(source, "--heatmap", f"{name!r} is not a swept parameter ({', '.join(names)})")


def analyze(out: str | os.PathLike, metric: str = DEFAULT_METRIC, *, heatmap: tuple[str, str] | None = None,
            complete: bool = True) -> dict:
    """(Re)build every table, index, figure and the report of the sweep in ``out``; return the answers.

    Parameters
    ----------
    out:
        The sweep directory.
    metric:
        The outcome the report leads with (a name in :data:`csim.sweep.tasks.SWEEP_METRICS`);
        with a versus scenario, its paired difference.
    heatmap:
        Two parameters for the heatmap (default: the two with the largest swing).
    complete:
        Refuse a sweep with unfinished tasks (default); False analyses what is there.
    """
    out = Path(out)
    read_definition(out)  # not a sweep folder: say so before anything is written
    # Everything is built in a hidden folder and moved in at the end (one rename per file), so a
    # failure leaves the previous analysis whole rather than half replaced.
    stage = out / ".analysis-new"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        answers = _analyze(out, stage, metric, heatmap, complete)
        for entry in sorted(stage.iterdir()):
            os.replace(entry, out / entry.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return answers


def _analyze(out: Path, stage: Path, metric: str, heatmap, complete: bool) -> dict:
    """:func:`analyze` reading the tasks of ``out`` and writing into ``stage``."""
    stored = read_definition(out)
    definition = stored["definition"]
    names = parameter_names(definition)
    check_options(out, names, metric, heatmap)
    labels = scenario_labels(definition)
    results = results_table(out, complete=complete)
    units = {m: METRICS[m].unit for m in SWEEP_METRICS}
    write_frame_parquet(results, stage / "results.parquet", {b"csim.units": json.dumps(units).encode(),
                                                           b"csim.sweep": json.dumps(definition).encode()})
    atomic_write_csv(results, stage / "results.csv")
    points = points_table(results, names)
    atomic_write_csv(points, stage / "points.csv")
    outcome = DIFFERENCE if "versus" in labels else labels["base"]
    design_points = points[points["scenario"] == outcome].sort_values("point").reset_index(drop=True)
    answers: dict = {"metric": metric, "outcome": outcome, "labels": labels, "design": definition["design"],
                     "n_points": definition["n_points"], "reps": definition["reps"], "parameters": names}

    # 1. levers
    effects, indices = [], []
    if names:
        unit = None
        if definition["design"] == "morris":
            unit = unit_design("morris", names, definition["size"], definition["seed"])
        complete_design = len(design_points) == definition["n_points"]
        for m in dict.fromkeys((metric, *INDEX_METRICS)):
            y = design_points[m].to_numpy(dtype=float)
            effects.append(main_effects(design_points[names], y, names).assign(metric=m))
            if complete_design:
                indices.append(global_indices(definition["design"], names, design_points[names], y,
                                              definition["seed"], unit=unit).assign(metric=m))
    effects_table = pd.concat(effects, ignore_index=True) if effects else pd.DataFrame()
    indices_table = pd.concat(indices, ignore_index=True) if indices else pd.DataFrame()
    atomic_write_csv(effects_table, stage / "main_effects.csv")
    atomic_write_csv(indices_table, stage / "indices.csv")
    swings = tornado(effects_table[effects_table["metric"] == metric]) if names else pd.DataFrame()
    atomic_write_csv(swings, stage / "tornado.csv")
    answers["levers"] = _levers(indices_table, swings, metric)

    # 2. where the winner changes
    if "versus" in labels:
        found = winning_region(points, names, metric, labels)
        atomic_write_csv(found["table"], stage / "discovery_points.csv")
        boxes = pd.DataFrame([{"box": i + 1, "description": b.describe(), "coverage": b.coverage,
                               "density": b.density, "mass": b.mass, "points": b.n}
                              for i, b in enumerate(found["boxes"])],
                             columns=["box", "description", "coverage", "density", "mass", "points"])
        atomic_write_csv(boxes, stage / "discovery_boxes.csv")
        answers["discovery"] = {"sentence": discovery_sentence(found, labels, metric), "wins": found["wins"],
                                "loses": found["loses"], "points": found["points"],
                                "boxes": boxes.to_dict(orient="records")}
    else:
        found = None

    # 3. team size
    team = team_parameter(names)
    sizing, team_table = {}, None
    if team is not None:
        tables = []
        for label in labels.values():
            table, best = team_sizing(results, label, team, names, definition["seed"])
            tables.append(table.assign(scenario=label))
            sizing[label] = best
        team_table = pd.concat(tables, ignore_index=True)
        atomic_write_csv(team_table, stage / "team_sizing.csv")
    answers["team"] = {"parameter": team, "best": sizing}

    # the NRR / cost frontier
    scenario_points = points[points["scenario"] != DIFFERENCE].reset_index(drop=True)
    frontier = scenario_points[["point", "scenario", *names, "nrr_t12_window", "cs_cost"]].assign(
        on_front=pareto_front(scenario_points))
    atomic_write_csv(frontier, stage / "pareto.csv")

    from csim.sweep.figures import save_sweep_figures
    from csim.sweep.report import write_sweep_report

    pair = list(heatmap) if heatmap else list(swings["parameter"][:2]) if len(swings) >= 2 else []
    figures = save_sweep_figures(stage, metric=metric, outcome=outcome, names=names, design_points=design_points,
                                 swings=swings, heatmap=pair, frontier=frontier, discovery=found,
                                 team=team, team_table=team_table)
    answers["figures"] = [p.name for p in figures]
    write_sweep_report(stage, definition, answers, indices_table, swings, team_table, figures)
    write_json(stage / "analysis.json", answers)
    from csim.html_report import write_html_report

    write_html_report(stage)
    return answers


def _levers(indices: pd.DataFrame, swings: pd.DataFrame, metric: str) -> list[dict]:
    """Parameters ranked by the design's global index on ``metric`` (ST, μ* or |SRC|), with the swing."""
    if indices.empty:
        return []
    rows = indices[(indices["metric"] == metric) & indices["index"].isin(["ST", "mu_star", "SRC"])].copy()
    rows["strength"] = rows["value"].abs()
    rows = rows.sort_values("strength", ascending=False)
    swing = dict(zip(swings["parameter"], swings["swing"])) if not swings.empty else {}
    return [{"parameter": r.parameter, "method": r.method, "index": r.index, "value": r.value,
             "ci_low": r.ci_low, "ci_high": r.ci_high, "swing": swing.get(r.parameter, float("nan")), "note": r.note}
            for r in rows.itertuples()]
