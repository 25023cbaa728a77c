"""Figures of a sweep: tornado, heatmap, discovery box, team sizing and the NRR/cost frontier.

Drawn on plain Agg figures (no pyplot state) and written atomically by
:func:`csim.plots.save_drawings`. Every figure names the outcome it shows and its unit.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from csim.metrics.registry import METRICS
from csim.plots import save_drawings
from csim.sweep.report import lower_label
from csim.sweep.sensitivity import equal_count_bins
from csim.sweep.tables import DIFFERENCE

__all__ = ["save_sweep_figures"]

#: A heatmap axis keeps a parameter's own levels up to this many; more are grouped in 5 equal-count bins.
HEATMAP_LEVELS = 8


def _outcome_label(metric: str, outcome: str) -> str:
    m = METRICS[metric]
    what = f"{m.label} ({m.unit})"
    return f"Paired difference of {what}" if outcome == DIFFERENCE else what


def draw_tornado(ax, swings: pd.DataFrame, label: str) -> None:
    """Outcome at each parameter's lowest and highest level or bin, largest swing on top."""
    rows = swings.iloc[::-1]
    y = np.arange(len(rows))
    for i, r in enumerate(rows.itertuples()):
        ax.plot([r.at_low, r.at_high], [i, i], color="#adb5bd", lw=6, solid_capstyle="butt")
        ax.plot(r.at_low, i, "o", color="#1c7ed6", label="lowest level" if i == 0 else None)
        ax.plot(r.at_high, i, "o", color="#e8590c", label="highest level" if i == 0 else None)
    ax.set_yticks(y, list(rows["parameter"]))
    ax.set_xlabel(label)
    ax.set_title("Which lever moves the outcome: main effect from lowest to highest level")
    if len(rows):
        ax.legend(loc="best", fontsize=8)


def draw_heatmap(figure, design_points: pd.DataFrame, pair: list[str], metric: str, label: str) -> None:
    """Mean outcome on a grid of bins of two parameters."""
    ax = figure.add_subplot()
    a, b = pair
    frame = design_points[[a, b, metric]].copy()
    cells = []
    for name in (a, b):
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and column.nunique() > HEATMAP_LEVELS:
            frame[name + "#"] = equal_count_bins(column, 5)
            centres = frame.groupby(name + "#")[name].mean()
        else:
            order = sorted(dict.fromkeys(column), key=str) if not pd.api.types.is_numeric_dtype(column) else sorted(column.unique())
            frame[name + "#"] = column.map({v: i for i, v in enumerate(order)})
            centres = pd.Series(order, index=range(len(order)))
        cells.append(centres)
    grid = frame.pivot_table(index=b + "#", columns=a + "#", values=metric, aggfunc="mean")
    values = grid.to_numpy(dtype=float)
    norm = None
    if np.nanmin(values) < 0 < np.nanmax(values):
        # A difference that changes sign: white at zero, so the colour says who wins.
        from matplotlib.colors import TwoSlopeNorm

        norm = TwoSlopeNorm(vcenter=0.0, vmin=np.nanmin(values), vmax=np.nanmax(values))
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="RdBu" if norm is not None else "viridis", norm=norm)
    ax.set_xticks(range(grid.shape[1]), [_fmt(cells[0].get(i)) for i in grid.columns], rotation=30)
    ax.set_yticks(range(grid.shape[0]), [_fmt(cells[1].get(i)) for i in grid.index])
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title("Mean outcome by two parameters (blank: no point of the design there)")
    figure.colorbar(image, ax=ax, label=label)


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, (float, np.floating)) else str(value)


def draw_discovery(ax, discovery: dict, names: list[str], metric: str) -> None:
    """Points coloured by who wins, with the first PRIM box on its two first restricted parameters."""
    table = discovery["table"]
    box = discovery["boxes"][0] if discovery["boxes"] else None
    restricted = list(box.limits) if box is not None else []
    axes = (restricted + [n for n in names if n not in restricted and pd.api.types.is_numeric_dtype(table[n])])[:2]
    if len(axes) < 2:
        axes = (axes + names)[:2]
    labels = discovery["labels"]
    colours = {"versus wins": ("#2b8a3e", f"{labels['versus']} wins"), "base wins": ("#e03131", f"{labels['base']} wins"),
               "not settled": ("#adb5bd", "not settled")}
    x_name, y_name = axes[0], axes[-1]
    for outcome, (colour, words) in colours.items():
        inside = table["outcome"] == outcome
        ax.scatter(table.loc[inside, x_name], table.loc[inside, y_name] if len(axes) > 1 else np.zeros(inside.sum()),
                   s=24, color=colour, label=f"{words} ({int(inside.sum())})")
    if box is not None:
        from matplotlib.patches import Rectangle

        xs = box.limits.get(x_name, (-math.inf, math.inf))
        ys = box.limits.get(y_name, (-math.inf, math.inf))
        x0, x1 = (xs[0] if math.isfinite(xs[0]) else table[x_name].min(), xs[1] if math.isfinite(xs[1]) else table[x_name].max())
        y0, y1 = (ys[0] if math.isfinite(ys[0]) else table[y_name].min(), ys[1] if math.isfinite(ys[1]) else table[y_name].max())
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="#2b8a3e", lw=2, ls="--",
                               label=f"box 1: coverage {box.coverage:.0%}, density {box.density:.0%}"))
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(f"Who wins on {lower_label(METRICS[metric].label)} at each point\n"
                 "(the 95 % interval of the paired difference excludes zero)", fontsize=10)
    ax.legend(fontsize=8, loc="best")


def draw_team(ax, team_table: pd.DataFrame, team: str) -> None:
    """Gross profit after CS cost per team level, adjusted for the other parameters, with its interval."""
    for scenario, rows in team_table.groupby("scenario", sort=False):
        line, = ax.plot(rows["level"], rows["objective"], marker="o", label=scenario)
        ax.fill_between(rows["level"], rows["ci_low"], rows["ci_high"], color=line.get_color(), alpha=0.2)
    m = METRICS["gross_profit_after_cs"]
    ax.set_xlabel(team)
    ax.set_ylabel(f"{m.label} ({m.unit})")
    ax.set_title("Team sizing: gross profit after CS cost (bands: bootstrap over replications and points)")
    ax.legend(fontsize=8)


def draw_frontier(ax, frontier: pd.DataFrame) -> None:
    """Mean window NRR against mean CS cost per point and scenario; the Pareto front joined."""
    for scenario, rows in frontier.groupby("scenario", sort=False):
        dots = ax.scatter(rows["cs_cost"], rows["nrr_t12_window"], s=18, alpha=0.6, label=scenario)
        front = rows[rows["on_front"]].sort_values("cs_cost")
        ax.plot(front["cs_cost"], front["nrr_t12_window"], color=dots.get_facecolor()[0], lw=1.5)
    ax.set_xlabel(f"{METRICS['cs_cost'].label} ({METRICS['cs_cost'].unit})")
    ax.set_ylabel(f"{METRICS['nrr_t12_window'].label}")
    ax.set_title("NRR against CS cost: the front of points no other point beats on both")
    ax.legend(fontsize=8)


def save_sweep_figures(out: Path, *, metric: str, outcome: str, names: list[str], design_points: pd.DataFrame,
                       swings: pd.DataFrame, heatmap: list[str], frontier: pd.DataFrame, discovery: dict | None,
                       team: str | None, team_table: pd.DataFrame | None) -> list[Path]:
    """Write ``tornado.png``, ``heatmap.png``, ``discovery.png``, ``team_sizing.png`` and
    ``pareto.png`` (each only when the sweep has what it shows); return the paths."""
    label = _outcome_label(metric, outcome)
    drawings = []
    if len(swings):
        drawings.append(("tornado.png", (8, 1.5 + 0.5 * len(swings)), lambda f: draw_tornado(f.add_subplot(), swings, label)))
    if len(heatmap) == 2:
        drawings.append(("heatmap.png", (7, 5), lambda f: draw_heatmap(f, design_points, heatmap, metric, label)))
    if discovery is not None and names:
        drawings.append(("discovery.png", (7, 5), lambda f: draw_discovery(f.add_subplot(), discovery, names, metric)))
    if team is not None and team_table is not None:
        drawings.append(("team_sizing.png", (8, 4.5), lambda f: draw_team(f.add_subplot(), team_table, team)))
    if len(frontier):
        drawings.append(("pareto.png", (8, 4.5), lambda f: draw_frontier(f.add_subplot(), frontier)))
    return save_drawings(drawings, out)
