"""``report.md`` of a sweep: the three answers first, then the evidence and what it rests on."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from csim.io import atomic_write_text
from csim.metrics.registry import METRICS
from csim.report import format_value, markdown_table
from csim.sweep.tables import DIFFERENCE

__all__ = ["write_sweep_report", "answer_paragraph"]


def lower_label(label: str) -> str:
    """A metric label inside a sentence: first letter lower-cased unless the first word is an acronym."""
    first = label.split(" ")[0]
    return label if first.isupper() else label[:1].lower() + label[1:]


def _index_name(lever: dict) -> str:
    return lever["method"] if lever["method"] == lever["index"] else f"{lever['method']} {lever['index']}"


def _lever_sentence(answers: dict) -> str:
    levers = [lv for lv in answers["levers"] if math.isfinite(lv["value"])]
    if not levers:
        return "no lever could be ranked (no swept parameter, or the design is incomplete)"
    m = METRICS[answers["metric"]]
    top = levers[0]
    interval = f"[{top['ci_low']:.2f}, {top['ci_high']:.2f}]"
    sentence = (f"**{top['parameter']}** ({_index_name(top)} {top['value']:.2f} {interval}; "
                f"moving it from its lowest to its highest level changes the outcome by {format_value(top['swing'], m.unit, difference=True)})")
    if len(levers) > 1:
        rest = ", ".join(f"{lv['parameter']} ({_index_name(lv)} {lv['value']:.2f} [{lv['ci_low']:.2f}, {lv['ci_high']:.2f}])"
                         for lv in levers[1:3])
        sentence += f", then {rest}"
    return sentence


def _team_sentence(answers: dict) -> str:
    team = answers["team"]
    if team["parameter"] is None:
        return "the sweep does not vary the CS team (sweep cs_team.headcount to answer it)"
    parts = []
    for label, best in team["best"].items():
        spread = (f"95 % bootstrap interval {best['ci_low']:g}–{best['ci_high']:g}; "
                  if best["ci_low"] != best["ci_high"] else "")
        parts.append(f"{label}: {best['level']:g} ({spread}best in {best['p_best']:.0%} of bootstrap resamples)")
    return (f"the {team['parameter']} that maximises gross profit after CS cost is " + "; ".join(parts))


def answer_paragraph(answers: dict) -> str:
    """The report's first paragraph: the three questions, answered."""
    m = METRICS[answers["metric"]]
    outcome = (f"the paired difference {answers['labels'].get('versus')} − {answers['labels']['base']} of {lower_label(m.label)}"
               if answers["outcome"] == DIFFERENCE else lower_label(m.label))
    lines = [f"**Which lever matters most?** On {outcome}: {_lever_sentence(answers)}."]
    if "discovery" in answers:
        lines.append(f"**Where does {answers['labels']['versus']} stop beating {answers['labels']['base']}?** "
                     f"{answers['discovery']['sentence']}")
    team = _team_sentence(answers)
    lines.append(f"**How many CSMs?** {team[0].upper() + team[1:]}.")
    return " ".join(lines)


def _table(frame: pd.DataFrame, columns: list[str], formats: dict) -> str:
    if frame.empty:
        return "_(none)_\n"
    return markdown_table(frame.to_dict(orient="records"), columns, formats)


def write_sweep_report(out: Path, definition: dict, answers: dict, indices: pd.DataFrame, swings: pd.DataFrame,
                       team_table: pd.DataFrame | None, figures: list[Path]) -> Path:
    """Write ``report.md`` into ``out``."""
    m = METRICS[answers["metric"]]
    num = lambda v: "n/a" if not isinstance(v, (int, float)) or not math.isfinite(v) else f"{v:.3g}"  # noqa: E731
    text = ["# Sweep report", "", answer_paragraph(answers), ""]
    versus = definition.get("versus")
    params = "; ".join(
        f"{p['path']} = {p['range'][0]:g}…{p['range'][1]:g}" if "range" in p else f"{p['path']} ∈ {{{', '.join(map(str, p['levels']))}}}"
        for p in definition["parameters"]) or "none"
    text += ["## What was run", "",
             f"- Base scenario **{definition['base']['name']}** ({definition['base']['source']})"
             + (f", against **{versus['name']}** ({versus['source']}) on the same random numbers" if versus else "") + ".",
             f"- Swept: {params}. Fixed in every point: "
             + (", ".join(f"{k} = {v}" for k, v in definition["fixed"].items()) or "nothing") + ".",
             f"- Design **{definition['design']}**, {definition['n_points']} points × {definition['reps']} replications"
             + (" × 2 scenarios" if versus else "") + f" = {definition['n_tasks']} runs; root seed {definition['seed']}; "
             "every point uses the same replication seeds (common random numbers), and every replication draws "
             "its own values of the scenario's uncertain effects (priors), so the intervals carry both "
             "simulation noise and effect uncertainty.", ""]
    text += ["## Levers", "",
             f"Outcome: {'paired difference of ' if answers['outcome'] == DIFFERENCE else ''}{lower_label(m.label)} ({m.unit}), "
             "the mean over replications at each point.", ""]
    rows = indices[indices["metric"] == answers["metric"]] if not indices.empty else indices
    text.append(_table(rows, ["parameter", "method", "index", "value", "ci_low", "ci_high", "note"],
                       {"value": num, "ci_low": num, "ci_high": num}))
    text += ["", "Main effects (mean outcome at each parameter's lowest and highest level or quarter of its range):", ""]
    amount = lambda v: format_value(v, m.unit)  # noqa: E731
    text.append(_table(swings, ["parameter", "low_level", "at_low", "high_level", "at_high", "swing"],
                       {"low_level": num, "high_level": num, "at_low": amount, "at_high": amount,
                        "swing": lambda v: format_value(v, m.unit, difference=True)}))
    names = {p.name: p for p in figures}
    for title, name in (("Tornado", "tornado.png"), ("Two parameters at once", "heatmap.png"),
                        ("Where the winner changes", "discovery.png"), ("Team sizing", "team_sizing.png"),
                        ("NRR against CS cost", "pareto.png")):
        if name in names:
            text += ["", f"### {title}", "", f"![{title}]({name})"]
    if "discovery" in answers:
        d = answers["discovery"]
        text += ["", "## Where the winner changes (PRIM)", "",
                 f"{answers['labels']['versus']} wins at {d['wins']}, {answers['labels']['base']} at {d['loses']}, and "
                 f"{d['points'] - d['wins'] - d['loses']} points are not settled by {definition['reps']} replications. "
                 "Boxes (coverage: share of all wins inside the box; density: share of the box's points that are wins):", ""]
        text.append(_table(pd.DataFrame(d["boxes"]), ["box", "description", "coverage", "density", "points"],
                           {"coverage": lambda v: f"{v:.0%}", "density": lambda v: f"{v:.0%}"}))
    if answers["team"]["parameter"] is not None:
        text += ["", "## Team sizing", "",
                 "Gross profit after CS cost at each level, adjusted for the other swept parameters (their design "
                 "average); interval and P(best) from a bootstrap over replications and points; marginal value: the change "
                 "per CSM (per unit of the team parameter) from the level below.", ""]
        text.append(_table(team_table, ["scenario", "level", "objective", "ci_low", "ci_high", "marginal_value", "p_best", "points"],
                           {"level": num, "marginal_value": lambda v: format_value(v, "currency", difference=True)}
                           | {c: lambda v: format_value(v, "currency") for c in ("objective", "ci_low", "ci_high")}
                           | {"p_best": lambda v: f"{v:.0%}"}))
    text += ["", "## What this rests on", "",
             "- The swept ranges are the user's; outside them nothing is claimed.",
             "- Effect sizes of CS plays are priors (docs/model.md, effect priors), drawn per replication.",
             f"- With {definition['reps']} replications per point, a point counts as won only when the 95 % "
             "t-interval of the paired difference excludes zero; more replications settle more points.",
             "- Indices: Sobol' (design sobol), Morris (design morris) or standardised regression coefficients "
             "(lhs, grid; trust them as far as the R² in their note). Files: results.parquet, points.csv, "
             "indices.csv, main_effects.csv, tornado.csv, discovery_*.csv, team_sizing.csv, pareto.csv.", ""]
    return atomic_write_text(out / "report.md", "\n".join(text))
