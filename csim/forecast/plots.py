"""Figures for forecasts. matplotlib is imported inside each function (``csim`` stays light);
each takes ``ax=None`` (a new figure) and returns the axes it drew on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# One way to get axes for every figure; it leaves the backend to the user (a notebook keeps
# its inline backend), and file-writing callers choose Agg themselves.
from csim.plots import axes_or_new as _axes


def plot_km(km, ax=None, label: str | None = None, color=None):
    """Kaplan–Meier step curve with its pointwise band (tenure on x, share active on y)."""
    ax = _axes(ax)
    table = km.table_
    t = np.r_[0.0, table["t"].to_numpy()]
    s = np.r_[1.0, table["survival"].to_numpy()]
    lo = np.r_[1.0, table["lower"].to_numpy()]
    hi = np.r_[1.0, table["upper"].to_numpy()]
    line, = ax.step(t, s, where="post", label=label or km.label or "Kaplan–Meier", color=color, linewidth=1.8)
    ax.fill_between(t, lo, hi, step="post", alpha=0.2, color=line.get_color(), linewidth=0)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of customers still active")
    return ax


def at_risk_row(ax, km, ticks=None, row: int = 0, label: str = "at risk", color: str = "dimgrey") -> None:
    """The number still at risk under the x-axis at each tick, as survival figures print it.

    ``km``: a fitted KaplanMeier or its table (columns ``t`` and ``at_risk``); ``row`` stacks one
    row per curve (row 0 first), labelled ``label`` in the curve's ``color``.
    """
    table = km.table_ if hasattr(km, "table_") else km
    ticks = [x for x in (ax.get_xticks() if ticks is None else ticks) if ax.get_xlim()[0] <= x <= ax.get_xlim()[1]]
    t, n = table["t"].to_numpy(), table["at_risk"].to_numpy()
    transform = ax.get_xaxis_transform()
    y = -0.2 - 0.07 * row
    ax.text(0.0, y, label, transform=ax.transAxes, ha="right", va="top", fontsize=7, color=color)
    for x in ticks:
        later = np.flatnonzero(t >= x)
        count = int(n[later[0]]) if len(later) else 0
        ax.text(x, y, f"{count:,}", transform=transform, ha="center", va="top", fontsize=7, color=color)


def at_risk_rows(ax, curves: dict) -> None:
    """One at-risk row per curve (label → KaplanMeier or table), in the colours of the lines drawn."""
    lines = {line.get_label(): line.get_color() for line in ax.get_lines()}
    for row, (label, km) in enumerate(curves.items()):
        at_risk_row(ax, km, row=row, label=f"{label}", color=lines.get(str(label), "dimgrey"))


def plot_survival(km=None, fits: dict | None = None, times=None, ax=None, unit: str = "months", title: str | None = None):
    """Kaplan–Meier (with band and the number at risk) and each fitted model's curve overlaid
    (``fits``: name → model; contract-renewal and discrete-time models as steps at whole periods)."""
    ax = _axes(ax)
    if km is not None:
        plot_km(km, ax=ax, color="black")
    if times is None:
        end = km.table_["t"].max() if km is not None else 12.0
        times = np.linspace(0, end, 200)
    for name, model in (fits or {}).items():
        # Survival that changes only at whole periods (contract renewals, discrete-time hazards) is
        # drawn as steps: a smooth line between renewals would claim churn that cannot happen there.
        if type(model).whole_period_steps:
            periods = np.arange(0.0, np.floor(np.max(times)) + 1)
            ax.step(periods, model.survival(periods), where="post", label=name, linewidth=1.2)
        else:
            ax.plot(times, model.survival(times), label=name, linewidth=1.2)
    ax.set_xlabel(f"tenure ({unit})")
    ax.set_title(title or "Survival: Kaplan–Meier and fitted models")
    ax.legend(frameon=False, fontsize=8)
    if km is not None and len(km.table_):
        at_risk_row(ax, km)
    return ax


def plot_groups(curves: dict, ax=None, unit: str = "months", title: str | None = None):
    """One Kaplan–Meier curve with band per group (``curves``: label → fitted KaplanMeier)."""
    ax = _axes(ax)
    for label, km in curves.items():
        plot_km(km, ax=ax, label=str(label))
    ax.set_xlabel(f"tenure ({unit})")
    ax.set_title(title or "Survival by group")
    ax.legend(frameon=False, fontsize=8)
    at_risk_rows(ax, curves)  # customers still at risk per group, under the axis
    return ax


def plot_projection(bands: dict, observed: pd.Series | None = None, fit_end: float | None = None, ax=None,
                    unit: str = "months", ylabel: str = "share of customers still active", title: str | None = None):
    """Projected curves with bands (``bands``: name → DataFrame with a value column, lower, upper).

    ``observed``: the data (index = period) drawn as points; ``fit_end``: the last period used
    for fitting, marked by a vertical line.
    """
    ax = _axes(ax)
    for name, band in bands.items():
        value = band.columns[0]
        line, = ax.plot(band.index, band[value], label=name, linewidth=1.4)
        ax.fill_between(band.index, band["lower"], band["upper"], alpha=0.18, color=line.get_color(), linewidth=0)
    if observed is not None:
        ax.plot(observed.index, observed.to_numpy(), "ko", markersize=3.5, label="observed")
    if fit_end is not None:
        ax.axvline(fit_end, color="grey", linestyle=":", linewidth=1, label=f"end of the data ({fit_end:g} {unit})")
    ax.set_ylim(bottom=0)  # a share or a count: from zero, so a fall is not exaggerated
    ax.set_xlabel(f"tenure ({unit})")
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Projection with 95 % bands")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_forest(summary: pd.DataFrame, ax=None, title: str | None = None):
    """Hazard ratios with intervals on a log axis (``summary``: :attr:`CoxPH.summary`)."""
    ax = _axes(ax)
    lower_col = [c for c in summary.columns if c.startswith("hr_lower")][0]
    upper_col = [c for c in summary.columns if c.startswith("hr_upper")][0]
    y = np.arange(len(summary))[::-1]
    hr = summary["hazard_ratio"].to_numpy()
    ax.errorbar(hr, y, xerr=[hr - summary[lower_col].to_numpy(), summary[upper_col].to_numpy() - hr],
                fmt="o", color="black", ecolor="grey", capsize=3)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(summary.index)
    ax.set_xlabel("hazard ratio of churn (log scale; < 1 = churns less)")
    ax.set_title(title or "Cox model: hazard ratios with 95 % intervals")
    return ax


def plot_ph_residuals(zph, term: str, ax=None, unit: str = "months", title: str | None = None):
    """Scaled Schoenfeld residuals of one term against transformed tenure, with a lowess smooth.

    ``zph``: a :class:`csim.forecast.ph_test.PHTest`. Under proportional hazards the smooth stays
    flat at the fitted coefficient (dashed line); a trend means the effect changes with tenure.
    For a term of several columns (a categorical covariate) the residuals are those of its
    linear predictor, so the flat line is 1 (R's ``plot(cox.zph(fit))``). The top axis marks
    tenures (in ``unit``) at the transformed positions.
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess

    ax = _axes(ax)
    x = np.asarray(zph.x, float)
    y = zph.scaled[term].to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    ax.plot(x, y, "o", color="grey", alpha=0.35, markersize=3, label="scaled Schoenfeld residual")
    if len(np.unique(x)) > 3:
        smooth = lowess(y, x, frac=2 / 3, return_sorted=True)
        ax.plot(smooth[:, 0], smooth[:, 1], color="C0", linewidth=2, label="lowess smooth: effect by tenure")
    columns = zph.terms[term]
    flat = float(zph.coefficients[columns[0]]) if len(columns) == 1 else 1.0
    ax.axhline(flat, color="black", linestyle="--", linewidth=1, label="constant effect (the Cox fit)")
    # Keep the smooth readable: clip the y range to the bulk of the residuals.
    if len(y) > 20:
        low, high = np.quantile(y, [0.02, 0.98])
        pad = 0.1 * (high - low) or 1.0
        ax.set_ylim(min(low, flat) - pad, max(high, flat) + pad)
    xlabels = {"km": "share of customers churned by then (1 − Kaplan–Meier)", "rank": "rank of tenure",
               "identity": f"tenure ({unit})", "log": f"log tenure ({unit})"}
    ax.set_xlabel(xlabels.get(zph.transform, zph.transform))
    ax.set_ylabel(f"β(t) of {term} (log hazard ratio)" if len(columns) == 1
                  else f"effect of {term} relative to the fit")
    if zph.transform != "identity" and len(x):
        top = ax.twiny()
        top.set_xlim(ax.get_xlim())
        times = np.asarray(zph.times, float)[ok]
        distinct = np.unique(times)
        if len(distinct) > 15:
            distinct = np.unique(np.quantile(times, np.linspace(0, 1, 9), method="nearest"))
        # Label tenures at their transformed position, skipping ticks too close to read.
        span = float(np.ptp(x)) or 1.0
        ticks, labels = [], []
        for v in distinct:
            pos = float(x[np.flatnonzero(times == v)[0]])
            if not ticks or pos - ticks[-1] >= 0.04 * span:
                ticks.append(pos)
                labels.append(f"{v:g}")
        top.set_xticks(ticks)
        top.set_xticklabels(labels, fontsize=8)
        top.set_xlabel(f"tenure ({unit})", fontsize=8)
    ax.set_title(title or f"Proportional hazards check: {term}", pad=4 if zph.transform == "identity" else 6)
    ax.legend(frameon=False, fontsize=8)
    return ax


#: Colours of churn causes, in cause order: the Okabe–Ito palette (distinct under the common
#: colour-vision deficiencies), its yellow last since it is faint on white.
CAUSE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")


def plot_cumulative_incidence(cif, ax=None, unit: str = "months", title: str | None = None):
    """Share of customers lost to each churn cause by tenure, with pointwise bands.

    ``cif``: a :class:`csim.forecast.competing.CumulativeIncidence`. One step curve per cause
    (Okabe–Ito colours; dashed from the eighth cause on, when the colours repeat) with its
    interval as a band clipped to [0, 1]; the all-cause churn 1 − Kaplan–Meier as a thin grey
    step, which the cause curves add up to. Curves run from tenure 0 to the last churn of any
    cause. y: share churned, in percent, from 0; x: tenure in ``unit``.
    """
    from matplotlib.ticker import PercentFormatter

    ax = _axes(ax)
    surv = cif.survival
    end = float(surv["t"].max()) if len(surv) else 0.0
    top = 0.0
    pct = f"{100 * cif.conf_level:g}"
    for i, cause in enumerate(cif.causes):
        table = cif.tables[cause]
        # Flat from the cause's last churn to the last churn of any cause: the estimate is known there.
        t = np.r_[0.0, table["t"].to_numpy(float), end]
        values = table["cif"].to_numpy(float)
        y = np.r_[0.0, values, values[-1] if len(values) else 0.0]
        lower = np.clip(np.r_[np.nan, table["lower"].to_numpy(float), np.nan], 0.0, 1.0)
        upper = np.clip(np.r_[np.nan, table["upper"].to_numpy(float), np.nan], 0.0, 1.0)
        lower[-1], upper[-1] = lower[-2], upper[-2]
        colour = CAUSE_COLOURS[i % len(CAUSE_COLOURS)]
        style = "-" if i < len(CAUSE_COLOURS) else "--"
        churns = int(cif.n_events[cause])
        ax.step(t, y, where="post", color=colour, linestyle=style, linewidth=1.8,
                label=f"{cif.labels[cause]} ({churns:,} churn{'s' if churns != 1 else ''})")
        # No band where the interval does not exist (incidence 0, or no sampling variation).
        ax.fill_between(t, lower, upper, step="post", color=colour, alpha=0.2, linewidth=0,
                        label=f"{pct} % pointwise interval" if i == 0 else "_nolegend_")
        top = max(top, float(np.nanmax(np.r_[y, upper])))
    churned = np.r_[0.0, 1.0 - surv["survival"].to_numpy(float)]
    ax.step(np.r_[0.0, surv["t"].to_numpy(float)], churned, where="post", color="grey", linewidth=0.9,
            label="all causes (1 − Kaplan–Meier)")
    top = max(top, float(churned.max()))
    # From zero, so a small cause is not magnified; headroom above the highest curve or band.
    ax.set_ylim(0.0, min(1.0, 1.08 * top) if top > 0 else 1.0)
    ax.set_xlim(left=0.0)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, symbol=" %"))
    ax.set_xlabel(f"tenure ({unit})")
    ax.set_ylabel("customers churned, by cause (% of all)")
    ax.set_title(title or "Churn by cause: cumulative incidence (Aalen–Johansen)")
    # The band's entry last, after every curve; below the axes, as in the run figures: inside,
    # the legend would cover the curves' rise.
    handles, names = ax.get_legend_handles_labels()
    order = sorted(range(len(names)), key=lambda j: names[j].endswith("pointwise interval"))
    ax.legend([handles[j] for j in order], [names[j] for j in order], loc="upper center",
              bbox_to_anchor=(0.5, -0.14), fontsize="small", ncol=3, frameon=False)
    return ax
