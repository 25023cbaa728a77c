"""Figures of a comparison: survival, MRR, NRR, starting-cohort revenue, CS load per scenario.

Each ``plot_*`` function draws on ``ax`` (a new pyplot figure if ``None``) and returns the axes;
matplotlib is imported only inside. Bands are 95 % t-intervals of the mean over replications,
drawn as in :mod:`csim.plots`; Kaplan–Meier bands are pointwise log-log intervals.
:func:`save_comparison_figures` draws on plain ``Figure`` objects and writes PNGs atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import pandas as pd

from csim.plots import axes_or_new, money_ticks, plot_mean_and_band, save_drawings

__all__ = ["plot_survival", "plot_by_month", "plot_cohort_revenue", "plot_cs_load", "save_comparison_figures",
           "FIGURE_TITLES"]

FIGURE_TITLES = {
    "survival.png": "Account survival by tenure (Kaplan–Meier, 95 % pointwise interval)",
    "mrr.png": "MRR by month per scenario (mean and 95 % interval of the mean)",
    "nrr.png": "NRR, trailing-12-month cohort form, per scenario",
    "cohort_revenue.png": "Revenue of the starting cohort (accounts on the books at day 0), month 0 = 100 %",
    "cs_load.png": "CS utilisation and touch wait per scenario",
}


def plot_survival(km: Mapping[str, pd.DataFrame], ax=None):
    """Kaplan–Meier curves (share of accounts still customers by tenure, months) with bands."""
    ax = axes_or_new(ax)
    for label, curve in km.items():
        (line,) = ax.step(curve["t"], curve["survival"], where="post", label=label)
        ax.fill_between(curve["t"], curve["lower"], curve["upper"], step="post", color=line.get_color(),
                        alpha=0.2, linewidth=0)
    ax.set(title="Account survival", xlabel="tenure (months)", ylabel="share still a customer", ylim=(0, 1.02))
    ax.legend(loc="best", fontsize="small")
    from csim.forecast.plots import at_risk_rows

    at_risk_rows(ax, km)  # accounts still at risk per scenario, under the axis
    return ax


def plot_by_month(monthly: Mapping[str, pd.DataFrame], column: str, title: str, ylabel: str, ax=None,
                  percent: bool = False, reference_line: float | None = None,
                  clip: tuple[float | None, float | None] = (None, None), money: bool = False):
    """One monthly column per scenario: mean over replications with its 95 % band (kept in ``clip``)."""
    ax = axes_or_new(ax)
    for label, table in monthly.items():
        plot_mean_and_band(ax, table, column, label, band_label=False, clip=clip)
    if reference_line is not None:
        ax.axhline(reference_line, color="grey", linewidth=0.8)
    if percent:
        ax.yaxis.set_major_formatter(lambda y, _: f"{100 * y:.0f} %")
    if money:
        money_ticks(ax.yaxis)
    ax.set(title=title, xlabel="month", ylabel=ylabel)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_cohort_revenue(cohorts: Mapping[str, pd.DataFrame], ax=None):
    """Starting-cohort revenue index by month per scenario (the CS-maturity "four lines")."""
    return plot_by_month(cohorts, "revenue_index", "Revenue of the starting cohort",
                         "MRR / MRR at month 0", ax=ax, percent=True, reference_line=1.0)


def plot_cs_load(monthly: Mapping[str, pd.DataFrame], axes=None):
    """CS utilisation (fraction of CSM hours) and mean touch wait (days) by month, per scenario."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    plot_by_month(monthly, "cs_utilisation", "CS utilisation", "CSM hours used / available", ax=axes[0],
                  percent=True, clip=(0.0, 1.0))
    plot_by_month(monthly, "mean_touch_wait_days", "Touch wait", "days from request to start", ax=axes[1],
                  clip=(0.0, None))
    return axes


def save_comparison_figures(runs, survival: dict | None, cohorts: Mapping[str, pd.DataFrame],
                            outdir: str | os.PathLike, dpi: int = 110) -> list[Path]:
    """Draw every comparison figure and write it into ``outdir``; return the paths in report order."""
    monthly = {run.label: run.monthly for run in runs}
    drawings = []
    if survival is not None:
        drawings.append(("survival.png", (8, 4.5), lambda f: plot_survival(survival["km"], ax=f.add_subplot())))
    drawings += [
        ("mrr.png", (8, 4.5), lambda f: plot_by_month(monthly, "mrr", "Monthly recurring revenue",
                                                       "MRR (currency/month)", ax=f.add_subplot(),
                                                       clip=(0.0, None), money=True)),
        ("nrr.png", (8, 4.5), lambda f: plot_by_month(monthly, "nrr_t12", "NRR, trailing-12-month cohort form",
                                                       "NRR", ax=f.add_subplot(), percent=True,
                                                       reference_line=1.0)),
        ("cohort_revenue.png", (8, 4.5), lambda f: plot_cohort_revenue(cohorts, ax=f.add_subplot())),
        ("cs_load.png", (11, 4.5), lambda f: plot_cs_load(monthly, axes=f.subplots(1, 2))),
    ]
    return save_drawings(drawings, outdir, dpi)
