"""A sweep's tidy tables: ``results`` (one row per point x scenario x replication) and ``points``.

``results`` columns: ``point``, one column per swept parameter (named by its path), ``scenario``
(the base's name, the versus scenario's name, and ``difference`` for the paired difference
versus − base of the same point and replication), ``replication``, ``seed`` (the root seed:
replication ``r`` uses streams ``(seed, r, ...)`` at every point), ``error`` (empty, or why a
run stopped), then the headline metrics (:data:`csim.sweep.tasks.SWEEP_METRICS`).

``points`` has per point and scenario the mean of each metric over replications and its 95 %
t-interval (``<metric>``, ``<metric>_low``, ``<metric>_high``) and ``n`` replications.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from csim.errors import InputError
from csim.metrics.intervals import t_interval_by
from csim.sweep.store import load_task, read_definition, task_path
from csim.sweep.tasks import SWEEP_METRICS

__all__ = ["DIFFERENCE", "results_table", "points_table", "scenario_labels", "parameter_names"]

DIFFERENCE = "difference"


def scenario_labels(definition: dict) -> dict[str, str]:
    """Label of each side in the tables."""
    labels = {"base": definition["base"]["name"]}
    if definition.get("versus"):
        name = definition["versus"]["name"]
        labels["versus"] = name if name != labels["base"] else name + "#2"
    return labels


def parameter_names(definition: dict) -> list[str]:
    return [p["path"] for p in definition["parameters"]]


def results_table(out: str | Path, *, complete: bool = True) -> pd.DataFrame:
    """The results table of the sweep in ``out``, from its task files.

    With ``complete`` (the default) a missing task is an error; otherwise missing tasks are
    left out (a partial look at a running sweep).
    """
    out = Path(out)
    stored = read_definition(out)
    definition, points = stored["definition"], stored["points"]
    labels = scenario_labels(definition)
    names = parameter_names(definition)
    rows = []
    missing = 0
    for p, values in enumerate(points):
        for side in labels:
            for r in range(definition["reps"]):
                path = task_path(out, p, side, r)
                if not path.exists():
                    missing += 1
                    continue
                task = load_task(path)
                rows.append({"point": p, **{n: values[n] for n in names}, "scenario": labels[side],
                             "replication": r, "seed": definition["seed"], "error": task.get("error") or "",
                             **{m: float(task["metrics"].get(m, np.nan)) for m in SWEEP_METRICS}})
    if missing and complete:
        raise InputError(out, None, f"{missing} of {definition['n_tasks']} tasks not finished; "
                                    "rerun the sweep command to compute them")
    frame = pd.DataFrame(rows, columns=["point", *names, "scenario", "replication", "seed", "error", *SWEEP_METRICS])
    if "versus" in labels and not frame.empty:
        key = ["point", "replication"]
        base = frame[frame["scenario"] == labels["base"]].set_index(key)
        other = frame[frame["scenario"] == labels["versus"]].set_index(key)
        both = base.index.intersection(other.index)
        diff = other.loc[both, list(SWEEP_METRICS)] - base.loc[both, list(SWEEP_METRICS)]
        diff = diff.join(base.loc[both, names + ["seed"]])
        errors = (base.loc[both, "error"] + " " + other.loc[both, "error"]).str.strip()
        diff = diff.assign(scenario=DIFFERENCE, error=errors).reset_index()
        frame = pd.concat([frame, diff[frame.columns]], ignore_index=True)
        order = {labels["base"]: 0, labels["versus"]: 1, DIFFERENCE: 2}
        frame = (frame.assign(_order=frame["scenario"].map(order))
                 .sort_values(["point", "_order", "replication"], kind="stable")
                 .drop(columns="_order").reset_index(drop=True))
    frame["seed"] = frame["seed"].astype("int64")
    return frame


def points_table(results: pd.DataFrame, names: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Per point and scenario: mean of each metric, its ``confidence`` t-interval, and ``n``."""
    keys = ["point", "scenario"]
    grouped = results.groupby(keys, sort=False)
    out = grouped[names].first() if names else grouped.size().to_frame("_").drop(columns="_")
    out["n"] = grouped["replication"].count()
    for m in SWEEP_METRICS:
        interval = t_interval_by(results, keys, m, confidence)
        out[m], out[f"{m}_low"], out[f"{m}_high"] = interval["mean"], interval["low"], interval["high"]
    return out.reset_index()
