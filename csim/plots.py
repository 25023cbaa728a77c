"""Figures of a run from the monthly metrics table (:func:`csim.metrics.monthly`).

matplotlib is imported only inside the functions, so importing csim stays fast and headless
machines never need a display. Each ``plot_*`` function draws on ``ax`` (a new pyplot figure if
``None``) and returns the axes. Bands are 95 % t-intervals of the mean over replications (no
band with a single replication). :func:`save_run_figures` draws on plain ``Figure`` objects (the
Agg canvas, no pyplot state) and writes each PNG atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from csim.io import atomic_path
from csim.metrics.intervals import t_interval_by

__all__ = ["plot_mrr", "plot_mrr_waterfall", "plot_customers", "plot_nrr", "save_run_figures", "save_drawings", "RUN_FIGURES",
           "money_ticks", "count_ticks"]

# Colours per MRR movement from the Okabe-Ito palette (distinct under the common colour-vision
# deficiencies): gains green and blues, losses orange and vermilion; hatches tell them apart in grey.
MOVEMENT_COLOURS = {
    "new": "#009E73",
    "expansion": "#56B4E9",
    "reactivation": "#0072B2",
    "contraction": "#E69F00",
    "churn": "#D55E00",
}
MOVEMENT_HATCHES = {"new": "", "expansion": "..", "reactivation": "//", "contraction": "\\\\", "churn": ""}
#: NRR and GRR lines (Okabe-Ito blue and vermilion).
NRR_COLOUR, GRR_COLOUR = "#0072B2", "#D55E00"


def money_ticks(axis) -> None:
    """Money on an axis as 950, 12k, 1.2M (no offset like ``1e7`` above the axis)."""
    from csim.report import short_money

    axis.set_major_formatter(lambda value, _: short_money(value))


def count_ticks(axis) -> None:
    """Counts with thousands separators (1,250 rather than 1250)."""
    axis.set_major_formatter(lambda value, _: f"{value:,.0f}")


def axes_or_new(ax=None):
    """``ax``, or the axes of a new 8 × 4.5 inch figure when ``ax`` is None (pyplot imported lazily)."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4.5))
    return ax


def _replications(monthly: pd.DataFrame) -> int:
    return int(monthly["replication"].nunique()) if len(monthly) else 0


def _no_data(ax, title: str):
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    return ax


def plot_mean_and_band(ax, monthly: pd.DataFrame, column: str, label: str, colour: str | None = None,
                       band: bool = True, band_label: bool = True, clip: tuple[float | None, float | None] = (None, None)):
    """Draw the mean of ``column`` per month over replications, with its 95 % t-interval shaded.

    ``monthly`` needs ``month``, ``replication`` and ``column``; returns the mean's line. ``clip``
    keeps the band inside the quantity's range (a wait is never below 0 days, a utilisation never
    above 100 %): a t-interval of a bounded quantity can reach past its bounds.
    """
    stats = t_interval_by(monthly, "month", column)
    (line,) = ax.plot(stats.index, stats["mean"], label=label, color=colour)
    if band and stats["n"].max() >= 2:
        low, high = stats["low"].clip(*clip), stats["high"].clip(*clip)
        ax.fill_between(stats.index, low, high, color=line.get_color(), alpha=0.2, linewidth=0,
                        label="95 % interval of the mean" if band_label else "_nolegend_")
    return line


def _level(monthly: pd.DataFrame, ax, column: str, what: str, title: str, ylabel: str, ticks=count_ticks):
    """A month-end level over months: mean line and band, axis from zero."""
    ax = axes_or_new(ax)
    if monthly.empty:
        return _no_data(ax, title)
    plot_mean_and_band(ax, monthly, column, f"{what}, mean of {_replications(monthly)} replication(s)",
                       clip=(0, None))
    ax.set(title=title, xlabel="month", ylabel=ylabel)
    ax.set_ylim(bottom=0)
    ticks(ax.yaxis)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_mrr(monthly: pd.DataFrame, ax=None):
    """MRR at month end (currency/month) by month: mean over replications and its 95 % band."""
    return _level(monthly, ax, "mrr", "MRR", "Monthly recurring revenue", "MRR (currency/month)", money_ticks)


def plot_customers(monthly: pd.DataFrame, ax=None):
    """Paying customers at month end by month: mean over replications and its 95 % band."""
    return _level(monthly, ax, "customers", "customers", "Paying customers", "accounts with MRR > 0")


def plot_mrr_waterfall(monthly: pd.DataFrame, ax=None):
    """Monthly MRR movements (currency/month), mean over replications, as stacked bars.

    New, expansion and reactivation stack upwards; contraction and churn downwards; a line
    marks the net change. Bars of one month always sum to that month's MRR change.
    """
    ax = axes_or_new(ax)
    title = "MRR movements per month"
    if monthly.empty:
        return _no_data(ax, title)
    means = monthly.groupby("month")[list(MOVEMENT_COLOURS)].mean()
    months = means.index.to_numpy()
    up = np.zeros(len(months))
    down = np.zeros(len(months))
    # Reactivation first, next to the axis, so a thin layer is not lost on top of the new MRR.
    for name in ("reactivation", "new", "expansion", "contraction", "churn"):
        colour, hatch = MOVEMENT_COLOURS[name], MOVEMENT_HATCHES[name]
        amount = means[name].to_numpy()
        if name in ("contraction", "churn"):
            ax.bar(months, -amount, bottom=down, color=colour, label=name, width=0.85, hatch=hatch,
                   edgecolor="white", linewidth=0.3)
            down -= amount
        else:
            ax.bar(months, amount, bottom=up, color=colour, label=name, width=0.85, hatch=hatch,
                   edgecolor="white", linewidth=0.3)
            up += amount
    ax.plot(months, up + down, color="black", marker=".", linewidth=1, label="net change")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(title=title, xlabel="month", ylabel="MRR movement (currency/month)")
    money_ticks(ax.yaxis)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize="small", ncol=6, frameon=False)
    return ax


def plot_nrr(monthly: pd.DataFrame, ax=None):
    """NRR and GRR by month in both named forms (fractions), means over replications.

    Monthly period form: customers paying at the previous month end. Trailing-12-month cohort
    form: customers paying 12 months earlier (starts at month 12). The two do not agree:
    period NRRs do not compound to the cohort figure.
    """
    ax = axes_or_new(ax)
    title = "Net and gross revenue retention"
    if monthly.empty:
        return _no_data(ax, title)
    series = [
        ("nrr_t12", "NRR, trailing-12-month cohort form", NRR_COLOUR, "-"),
        ("grr_t12", "GRR, trailing-12-month cohort form", GRR_COLOUR, "-"),
        ("nrr_period", "NRR, monthly period form", NRR_COLOUR, ":"),
        ("grr_period", "GRR, monthly period form", GRR_COLOUR, ":"),
    ]
    for i, (column, label, colour, style) in enumerate(series):
        # Bands only on the cohort form (the period form is far tighter); one legend entry for both.
        line = plot_mean_and_band(ax, monthly, column, label, colour, band=column.endswith("t12"), band_label=i == 0)
        line.set_linestyle(style)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.yaxis.set_major_formatter(lambda y, _: f"{100 * y:.0f} %")
    ax.set(title=title, xlabel="month", ylabel="retention")
    # Below the axes: inside, the legend covered the trailing-12-month band.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize="small", ncol=2, frameon=False)
    return ax


#: File names and drawing functions of :func:`save_run_figures`, in report order.
RUN_FIGURES = (
    ("mrr.png", plot_mrr),
    ("mrr_movements.png", plot_mrr_waterfall),
    ("customers.png", plot_customers),
    ("nrr.png", plot_nrr),
)


def save_run_figures(monthly: pd.DataFrame, outdir: str | os.PathLike, dpi: int = 110) -> list[Path]:
    """Draw the run figures and write them as PNGs into ``outdir`` (atomically).

    Writes ``mrr.png``, ``mrr_movements.png``, ``customers.png`` and ``nrr.png``; returns their
    paths in that order.
    """
    return save_drawings([(name, (8, 4.5), lambda f, draw=draw: draw(monthly, ax=f.add_subplot()))
                          for name, draw in RUN_FIGURES], outdir, dpi)


def save_drawings(drawings, outdir: str | os.PathLike, dpi: int = 110) -> list[Path]:
    """Draw each ``(file name, (width, height) inches, draw(figure))`` on a new Agg ``Figure`` and
    write it as a PNG into ``outdir`` atomically; return the paths in order."""
    from matplotlib.figure import Figure

    outdir = Path(outdir)
    written = []
    for name, size, draw in drawings:
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        with atomic_path(outdir / name) as tmp:
            figure.savefig(tmp, format="png", dpi=dpi)
        written.append(outdir / name)
    return written
