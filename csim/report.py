"""The run report: ``report.md`` with the headline table, figures, plain words and provenance."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from csim import __version__
from csim.io import atomic_write_text

__all__ = ["write_run_report", "render_run_report", "format_value", "short_money", "markdown_table"]

def headline_metrics() -> tuple[str, ...]:
    """Rows of the run report's headline table: the registry's headline metrics, in its order."""
    from csim.metrics.registry import METRICS

    return tuple(name for name, m in METRICS.items() if m.headline and not m.relative)


FIGURE_TITLES = {
    "mrr.png": "MRR by month (mean and 95 % interval of the mean)",
    "mrr_movements.png": "MRR movements per month",
    "customers.png": "Paying customers by month",
    "nrr.png": "NRR and GRR, trailing-12-month cohort and monthly period forms",
}


def short_money(value: float) -> str:
    """Money read at a glance: 950, 12.5k, 1.2M, 3.4B (three significant digits), as axes and
    sentences show it; exact amounts belong in tables (:func:`format_value`)."""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:,.3g}{suffix}"
    return f"{value:,.0f}"


def format_value(value: float | None, unit: str, *, difference: bool = False) -> str:
    """A number for people: fractions as percent, money with thousands separators, NaN as n/a.

    With ``difference=True`` the number is a signed difference: fractions in percentage points,
    money in whole units.
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    sign = "+" if difference else ""
    if unit.startswith("fraction"):
        return f"{100 * value:{sign}.1f} {'pp' if difference else '%'}"
    if unit.startswith("currency"):
        return f"{value:{sign},.{0 if difference else 2}f}"
    if unit == "ratio":
        return f"{value:{sign}.2f}"
    return f"{value:{sign},.1f}"


def markdown_table(rows: Iterable[Mapping], columns: Sequence[str], formats: Mapping[str, Callable] | None = None,
                   default: Callable = str) -> str:
    """A Markdown table of ``rows`` (mappings) in ``columns``; each cell is ``formats[column]`` (or
    ``default``) applied to the row's value, ``None`` where the row lacks the column."""
    formats = formats or {}
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(formats.get(c, default)(row.get(c)) for c in columns) + " |\n"
                          for row in rows)


def _interval(metric: Mapping) -> str:
    if metric["n"] < 2 or not math.isfinite(metric["ci_low"]):
        return f"n/a ({metric['n']} finite replication{'s' if metric['n'] != 1 else ''})"
    return f"{format_value(metric['ci_low'], metric['unit'])} to {format_value(metric['ci_high'], metric['unit'])}"


def _table(summary: Mapping) -> list[str]:
    level = f"{100 * summary.get('confidence', 0.95):.0f} %"
    lines = [f"| metric | mean | {level} interval | unit | form | key |", "|---|---:|---|---|---|---|"]
    for name in headline_metrics():
        metric = summary["metrics"].get(name)
        if metric is None:
            continue
        lines.append(
            f"| {metric.get('label', name)} | {format_value(metric['mean'], metric['unit'])} | {_interval(metric)} "
            f"| {metric['unit']} | {metric['form'] or '-'} | `{name}` |"
        )
    reasons = summary.get("nan_reasons", {})
    if reasons:
        lines += ["", "Metrics shown as n/a in some or all replications, and why:", ""]
        lines += [f"- `{name}`: {'; '.join(why)}" for name, why in reasons.items()]
    return lines


def _glossary(summary: Mapping) -> list[str]:
    """One line per headline metric: what it measures, from the metric registry's definition."""
    lines = ["### What each metric means", ""]
    for name in headline_metrics():
        metric = summary["metrics"].get(name)
        if metric is not None and metric.get("definition"):
            lines.append(f"- **{metric.get('label', name)}** (`{name}`): {metric['definition']}")
    return [*lines, ""] if len(lines) > 2 else []


def _segment_table(summary: Mapping) -> list[str]:
    by_segment = summary.get("by_segment") or {}
    if not by_segment:
        return []
    lines = ["### Acquisition by segment", "",
             "| segment | cost to acquire a customer | revenue per new customer per month | months to pay back |",
             "|---|---:|---:|---:|"]
    for name, m in by_segment.items():
        lines.append(f"| {name} | {format_value(m['cac']['mean'], 'currency')} | "
                     f"{format_value(m['new_customer_arpa']['mean'], 'currency')} | "
                     f"{format_value(m['cac_payback_months']['mean'], 'months')} |")
    return [*lines, "", "Payback = CAC ÷ (new-customer ARPA × gross margin), the segment's own leads and new "
            "accounts.", ""]


def _play_table(summary: Mapping) -> list[str]:
    plays = summary.get("cs_by_play") or []
    if not plays:
        return []
    lines = ["### CS touches by play (means over replications)", "",
             "| play | touch | requests | served | expired at the deadline | cancelled (churned) | waiting at the end | CSM-hours |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for p in plays:
        counts = " | ".join(f"{p[k]:,.0f}" for k in ("requests", "done", "expired", "cancelled", "waiting", "csm_hours"))
        lines.append(f"| {p['play']} | {p['touch']} | {counts} |")
    return [*lines, ""]


def _plain_words(summary: Mapping) -> str:
    """One paragraph reading the headline numbers against the practitioner rules of thumb."""
    m = summary["metrics"]

    def v(name: str) -> float:
        return m[name]["mean"] if name in m else float("nan")

    def f(name: str) -> str:
        return format_value(v(name), m[name]["unit"]) if name in m else "n/a"

    n = len(summary.get("replications", []))
    if n == 0:
        return "The run produced no replications, so there is nothing to summarise."
    words = [
        f"Across {n} replication{'s' if n != 1 else ''} of {summary.get('months', '?')} months, MRR ended at "
        f"{f('ending_mrr')} per month on average (ARR {f('ending_arr')}) with {f('ending_customers')} paying customers."
    ]
    if math.isfinite(v("nrr_t12_window")):
        words.append(
            f"Net revenue retention (trailing-12-month cohort form, averaged over the last 12 months of the run) was "
            f"{f('nrr_t12_window')} and gross revenue retention {f('grr_t12_window')}"
            + (": expansion more than made up for losses (negative churn)." if v("nrr_t12_window") > 1
               else ": losses were not made up by expansion.")
            + f" In the last month alone NRR was {f('nrr_t12_end')}."
        )
    else:
        words.append("The run is too short for the trailing-12-month retention figures.")
    words.append(
        f"In the monthly period form NRR averaged {f('nrr_period_mean')} a month and GRR {f('grr_period_mean')}; "
        f"logo churn was {f('logo_churn_annual')} a year over the run and {f('logo_churn_annual_window')} "
        "in its last year."
    )
    if math.isfinite(v("quick_ratio")):
        verdict = "healthy" if v("quick_ratio") > 4 else "a warning sign" if v("quick_ratio") < 2 else "middling"
        words.append(f"The quick ratio of {f('quick_ratio')} is {verdict} (above 4 is healthy, below 2 a warning).")
    if math.isfinite(v("ltv_cac")):
        words.append(
            f"LTV/CAC was {f('ltv_cac')} ({'above' if v('ltv_cac') > 3 else 'below'} the rule of thumb of 3), "
            f"and CAC was paid back in {f('cac_payback_months')} months (target: within 12)."
        )
    if "cs_utilisation" in m and math.isfinite(v("cs_utilisation")):
        words.append(
            f"The CS team worked {f('csm_hours_used')} hours on touches, {f('cs_utilisation')} of its capacity, and "
            f"was more than 85 % busy in {v('cs_months_saturated'):.0f} months; {f('cs_unserved_share')} of touch "
            "requests were never served (expired at their deadline or still waiting at the end).")
    if math.isfinite(v("expansion_share")):
        words.append(f"Expansion was {f('expansion_share')} of new plus expansion MRR.")
    if math.isfinite(v("referral_share")):
        words.append(f"Referrals brought {f('referral_share')} of new customers.")
    return " ".join(words)


def _in_short(summary: Mapping) -> str:
    """The answer first: where the world ends up and how fast it loses customers and revenue, each
    with its interval, in two or three sentences."""
    m = summary["metrics"]
    n = len(summary.get("replications", []))
    if n == 0 or "ending_arr" not in m:
        return "The run produced no replications, so there is nothing to summarise."

    def prose(value: float, unit: str) -> str:
        # Sentences read better with 120M than with 120,448,320.36, and with whole accounts.
        if unit.startswith("currency") and math.isfinite(value):
            return short_money(value)
        if unit == "accounts" and math.isfinite(value):
            return f"{value:,.0f}"
        return format_value(value, unit)

    def with_interval(name: str) -> str:
        metric = m[name]
        text = prose(metric["mean"], metric["unit"])
        if metric["n"] >= 2 and math.isfinite(metric["ci_low"]):
            text += (f" ({100 * summary.get('confidence', 0.95):.0f} % interval {prose(metric['ci_low'], metric['unit'])}"
                     f" to {prose(metric['ci_high'], metric['unit'])})")
        return text

    words = [f"After {summary.get('months', '?')} months this world has an ARR of {with_interval('ending_arr')} and "
             f"{with_interval('ending_customers')} paying customers (mean of {n} replication{'s' if n != 1 else ''})."]
    if "nrr_t12_window" in m and math.isfinite(m["nrr_t12_window"]["mean"]):
        words.append(f"Customers of a year earlier keep {with_interval('grr_t12_window')} of their revenue and, with "
                     f"expansion, pay {with_interval('nrr_t12_window')} of it (GRR and NRR, trailing 12 months, "
                     "averaged over the last year).")
    if "logo_churn_annual" in m and math.isfinite(m["logo_churn_annual"]["mean"]):
        words.append(f"It loses {with_interval('logo_churn_annual')} of its customers a year.")
    words.append("Intervals are of the mean over replications; the numbers rest on the scenario's assumptions "
                 "(docs/model.md marks each one).")
    return " ".join(words)


def format_overrides(overrides: Mapping | None) -> str:
    """``{"cs_team.headcount": 8}`` → ``cs_team.headcount=8`` (empty when there are none)."""
    return ", ".join(f"{key}={value}" for key, value in (overrides or {}).items())


def _rests_on(scenario) -> list[str]:
    """What the run's numbers rest on: the scenario's assumptions, the uncertain ones first."""
    from csim.scenario.reference import assumptions
    from csim.scenario.uncertain import uncertain_parameters

    uncertain = uncertain_parameters(scenario)
    points = [(k, v) for k, v in assumptions(scenario) if not isinstance(v, str)]
    lines = ["## What this rests on", ""]
    words = [f"The world is the scenario's. {len(points) + len(uncertain)} of its values are assumptions rather than "
             "published figures (docs/model.md gives the source of each)."]
    if uncertain:
        words.append(f"{len(uncertain)} are uncertain and drawn once per replication from their prior, so the "
                     "intervals above carry their uncertainty: "
                     + "; ".join(f"`{p.dotted}` ~ {p.distribution.describe()}" for p in uncertain) + ".")
    if points:
        words.append("The others are fixed at one value each: "
                     + ", ".join(f"`{k}` = {v:g}" if isinstance(v, float) else f"`{k}` = {v}" for k, v in points)
                     + ".")
    words.append("Which of them move the answer most is what a sweep measures (`csim sweep ... --design morris`, "
                 "docs/sweeps.md).")
    return [*lines, " ".join(words), ""]


def render_run_report(
    outdir: str | os.PathLike, summary: Mapping, figures: Sequence[str | os.PathLike], provenance: Mapping,
    scenario=None,
) -> str:
    """The Markdown text of the run report (see :func:`write_run_report`); with the ``scenario`` as
    run, a section on the assumptions the numbers rest on."""
    outdir = Path(outdir)
    name = summary.get("scenario_name") or provenance.get("scenario_name") or "run"
    changed = format_overrides(provenance.get("overrides"))
    if changed:
        name += f" with {changed}"
    level = f"{100 * summary.get('confidence', 0.95):.0f} %"
    lines = [
        f"# Run report: {name}",
        "",
        "## In short",
        "",
        _in_short(summary),
        "",
        f"Means over replications with {level} t-intervals of the mean. NRR and GRR appear in two named "
        "forms that do not agree: the trailing-12-month cohort form (customers of 12 months ago; shown at the "
        "last month and averaged over the last 12 months) and the monthly period form (customers of the "
        "previous month end). Run-level rates leave out the scenario's warm-up months, if any "
        f"({summary.get('warmup_months', 0)} here).",
        "",
        "## Headline metrics",
        "",
        *_table(summary),
        "",
        *_glossary(summary),
        *_segment_table(summary),
        *_play_table(summary),
        "## In plain words",
        "",
        _plain_words(summary),
        "",
        "## Figures",
        "",
    ]
    for figure in figures:
        figure = Path(figure)
        relative = Path(os.path.relpath(figure, outdir)).as_posix()
        lines += [f"![{FIGURE_TITLES.get(figure.name, figure.stem)}]({relative})", ""]
    if scenario is not None:
        lines += _rests_on(scenario)
    facts = {"package_version": __version__, **dict(provenance)}
    lines += ["## Provenance", "", "| key | value |", "|---|---|"]
    lines += [f"| {key} | `{format_overrides(value) or 'none' if key == 'overrides' else value}` |"
              for key, value in facts.items()]
    return "\n".join(lines) + "\n"


def write_run_report(
    outdir: str | os.PathLike, summary: Mapping, figures: Sequence[str | os.PathLike], provenance: Mapping,
    scenario=None,
) -> Path:
    """Write ``outdir/report.md`` atomically and return its path.

    Parameters
    ----------
    outdir:
        Run output directory; figure links are written relative to it.
    summary:
        A :func:`csim.metrics.summary` result.
    figures:
        PNG paths, e.g. from :func:`csim.plots.save_run_figures`.
    provenance:
        Facts behind the numbers, at least ``scenario_hash`` and ``seed``; the package version
        is added unless given.
    scenario:
        The scenario as run (its resolved form is not needed: priors are listed as priors); adds
        "What this rests on". None for a history that was not simulated (a ledger).
    """
    path = Path(outdir) / "report.md"
    atomic_write_text(path, render_run_report(outdir, summary, figures, provenance, scenario))
    return path
