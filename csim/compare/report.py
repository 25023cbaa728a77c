"""The comparison report: ``report.md`` with the answer in plain words, the verdict table,
survival, what common random numbers bought, the figures and the provenance."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

from csim.compare.figures import FIGURE_TITLES
from csim.compare.paired import CS_ROI_DEFINITION
from csim.report import format_value

__all__ = ["render_comparison_report", "format_difference", "winner"]

#: Metrics named in the plain-words answer, in order.
HEADLINE = ("ending_arr", "nrr_t12_end", "grr_t12_end", "logo_churn_annual", "cumulative_revenue", "cs_roi")

#: Utilisation above which the report warns that the CS team, not the strategy, sets the result.
SATURATED = 0.85


def format_difference(value: float, unit: str) -> str:
    """A signed difference: fractions in percentage points, money with separators."""
    return format_value(value, unit, difference=True)


def _with_interval(stat: Mapping, unit: str, fmt=format_value) -> str:
    if stat["n"] < 2 or not math.isfinite(stat["ci_low"]):
        return f"{fmt(stat['mean'], unit)} (no interval)"
    return f"{fmt(stat['mean'], unit)} [{fmt(stat['ci_low'], unit)}, {fmt(stat['ci_high'], unit)}]"


def winner(metric: Mapping, label: str, reference: str) -> str:
    """Which of ``reference`` and ``label`` wins on a metric, or why neither does."""
    diff = metric["paired_difference"][label]
    if metric["better"] == 0:
        return "— (not a goal)"
    if diff["n"] >= 2 and diff["ci_low"] == diff["ci_high"] == 0.0:
        return "tie (identical in every replication)"
    if not diff["excludes_zero"]:
        return "no clear winner"
    return label if diff["mean"] * metric["better"] > 0 else reference


def _p(p: float) -> str:
    """A p-value; one that underflowed to 0 is below double precision, not zero."""
    return "< 1e-300" if p == 0 else f"{p:.3g}"


def _name(name: str, metric: Mapping) -> str:
    return f"{name} ({metric['form']})" if metric["form"] else name


def _means_table(stats: Mapping, labels: Sequence[str]) -> list[str]:
    lines = ["| metric | unit | " + " | ".join(labels) + " |", "|---|---|" + "---:|" * len(labels)]
    for name, m in stats["metrics"].items():
        cells = [_with_interval(m["scenarios"][label], m["unit"]) for label in labels]
        lines.append(f"| {_name(name, m)} | {m['unit']} | " + " | ".join(cells) + " |")
    return lines


def _verdict_table(stats: Mapping, label: str) -> list[str]:
    reference = stats["reference"]
    lines = [f"| metric | {label} − {reference} (paired, 95 % interval) | interval excludes 0 | winner "
             "| variance paired / independent |", "|---|---:|---|---|---:|"]
    for name, m in stats["metrics"].items():
        d = m["paired_difference"][label]
        ratio = "n/a" if not math.isfinite(d["variance_ratio"]) else f"{d['variance_ratio']:.3f}"
        lines.append(f"| {_name(name, m)} | {_with_interval(d, m['unit'], format_difference)} | "
                     f"{'yes' if d['excludes_zero'] else 'no'} | {winner(m, label, reference)} | {ratio} |")
    return lines


def _sentence(stats: Mapping, name: str, label: str) -> str | None:
    m = stats["metrics"].get(name)
    if m is None:
        return None
    d = m["paired_difference"][label]
    if not math.isfinite(d["mean"]):
        return None
    unit = m["unit"]
    what = {"ending_arr": "ending ARR", "nrr_t12_end": "NRR (trailing-12-month cohort form, last month)",
            "grr_t12_end": "GRR (trailing-12-month cohort form, last month)",
            "logo_churn_annual": "logo churn per year", "cumulative_revenue": "revenue collected over the run",
            "cs_roi": "CS ROI"}[name]
    interval = f"95 % interval {format_difference(d['ci_low'], unit)} to {format_difference(d['ci_high'], unit)}"
    certainty = "" if d["excludes_zero"] else " — the interval includes zero, so the sign is not settled"
    return f"{what} by {format_difference(d['mean'], unit)} ({interval}){certainty}"


def _plain_words(stats: Mapping, label: str, survival: Mapping | None) -> str:
    reference = stats["reference"]
    n = stats["replications"]
    parts = [s for s in (_sentence(stats, name, label) for name in HEADLINE) if s]
    text = [f"**{reference} → {label}.** Over {n} paired replications, moving from {reference} to {label} "
            f"changes " + "; ".join(parts) + "."]
    wins = [name for name, m in stats["metrics"].items() if winner(m, label, reference) == label]
    losses = [name for name, m in stats["metrics"].items() if winner(m, label, reference) == reference]
    text.append(f"{label} wins on {', '.join(wins) or 'no metric'}; {reference} wins on "
                f"{', '.join(losses) or 'no metric'} (each with a 95 % interval of the paired difference that "
                "excludes zero).")
    if survival is not None:
        cox = survival["cox"]
        key = f"group[{label}]"
        if key in cox.index:
            row = cox.loc[key]
            text.append(f"Accounts churn at {row['hazard_ratio']:.2f} times the rate under {label} as under "
                        f"{reference} (Cox hazard ratio adjusted for segment, 95 % interval "
                        f"{row['hr_lower_95']:.2f} to {row['hr_upper_95']:.2f}).")
    util = stats["metrics"].get("cs_utilisation")
    wait = stats["metrics"].get("mean_touch_wait_days")
    if util and wait:
        u = {k: v["mean"] for k, v in util["scenarios"].items()}
        w = {k: v["mean"] for k, v in wait["scenarios"].items()}
        text.append(f"The CS team is {format_value(u[reference], 'fraction')} busy under {reference} and "
                    f"{format_value(u[label], 'fraction')} under {label}; touches wait "
                    f"{format_value(w[reference], 'days')} and {format_value(w[label], 'days')} days on average.")
        if max(u[reference], u[label]) > SATURATED:
            text.append("The team is near saturation: the result depends on CS capacity as much as on the "
                        "strategy, so rerun with a smaller and a larger team before acting on it.")
    return " ".join(text)


def _survival_section(survival: Mapping) -> list[str]:
    at = survival.get("survival_at")
    tenures = list(at.index) if at is not None else []
    lines = ["| scenario | accounts | churned | median tenure, months [95 %] | "
             + " | ".join(f"survival at {t:g} months" for t in tenures) + " |",
             "|---|---:|---:|---|" + "---:|" * len(tenures)]
    for label, row in survival["summary"].iterrows():
        median = "not reached" if not math.isfinite(row["median"]) else \
            f"{row['median']:.1f} [{row['median_lower']:.1f}, {row['median_upper']:.1f}]"
        cells = [f"{100 * at.loc[t, label]:.1f} %" for t in tenures]
        lines.append(f"| {label} | {int(row['customers']):,} | {int(row['churned']):,} | {median} | " + " | ".join(cells) + " |")
    lines += ["", "Log-rank tests (statsmodels `survdiff`):", "", "| test | chi² | df | p |", "|---|---:|---:|---:|"]
    for test, row in survival["log_rank"].iterrows():
        lines.append(f"| {test} | {row['chisq']:.2f} | {int(row['df'])} | {_p(row['p'])} |")
    lines += ["", f"Cox model, hazard ratios against {survival['reference']} adjusted for segment "
              f"(concordance {survival['cox_concordance']:.3f}):", "",
              "| covariate | hazard ratio | 95 % interval | p |", "|---|---:|---|---:|"]
    for name, row in survival["cox"].iterrows():
        lines.append(f"| {name} | {row['hazard_ratio']:.3f} | {row['hr_lower_95']:.3f} to {row['hr_upper_95']:.3f} "
                     f"| {_p(row['p'])} |")
    paired = survival["paired_accounts"]
    if len(paired):
        lines += ["", f"Paired accounts (same replication and account id as under {survival['reference']}):", "",
                  "| scenario | matched accounts | churned only under the reference | churned only under the scenario "
                  "| McNemar p |", "|---|---:|---:|---:|---:|"]
        for _, row in paired.iterrows():
            lines.append(f"| {row['scenario']} | {row['matched']:,} | {row['churned_reference_only']:,} | "
                         f"{row['churned_scenario_only']:,} | {_p(row['mcnemar_p'])} |")
    lines += ["", "Common random numbers put the same accounts in every scenario, so the groups are positively "
              "correlated: the log-rank and Cox intervals, which assume independent groups, are conservative. "
              "The paired-account counts use the pairing directly."]
    return lines


def render_comparison_report(outdir: str | os.PathLike, stats: Mapping, survival: Mapping | None,
                             figures: Sequence[str | os.PathLike], provenance: Sequence[Mapping],
                             small_team_command: str | None = None) -> str:
    """The Markdown text of ``report.md`` for a comparison."""
    outdir = Path(outdir)
    labels = list(stats["metrics"]["ending_arr"]["scenarios"])
    reference = stats["reference"]
    months = provenance[0].get("horizon_months", "?")
    lines = [f"# Comparison: {' vs '.join(labels)}", "",
             f"Every scenario ran the same {stats['replications']} replications of {months} months on the same "
             f"seeds (common random numbers): replication r of each scenario sees the same leads and the same "
             f"account dice, so a difference within a replication is the strategy's doing. Differences are "
             f"paired (scenario − {reference}, replication by replication) with 95 % t-intervals over "
             "replications.", "", "## The answer in plain words", ""]
    for label in labels[1:]:
        lines += [_plain_words(stats, label, survival), ""]
    if small_team_command:
        lines += [f"Does it hold with a smaller CS team? Rerun with fewer CSMs: `{small_team_command}`.", ""]
    for label in labels[1:]:
        lines += [f"## Verdict: {label} against {reference}", "", *_verdict_table(stats, label), ""]
    lines += ["Winner: the scenario the paired difference favours when its 95 % interval excludes zero "
              "(more is better except for logo churn, CAC payback, CS cost, touch wait and expired touches; "
              "utilisation is not a goal). The last column is the variance of the paired differences over the "
              "variance the difference would have with independent seeds: what common random numbers bought "
              "(0.1 = an independent comparison would need ten times the replications).", "",
              "## Each scenario", "", *_means_table(stats, labels), "",
              f"CS ROI: {CS_ROI_DEFINITION}", ""]
    if survival is not None:
        lines += ["## Survival of accounts", "",
                  f"Accounts of the first {survival['replications']} replications of each scenario, pooled; tenure in "
                  "months; the initial book enters at its tenure on day 0 (left truncation).", "",
                  *_survival_section(survival), ""]
    lines += ["## Figures", ""]
    for figure in figures:
        figure = Path(figure)
        lines += [f"![{FIGURE_TITLES.get(figure.name, figure.stem)}]"
                  f"({Path(os.path.relpath(figure, outdir)).as_posix()})", ""]
    keys = list(provenance[0])
    lines += ["## Provenance", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(f"`{p.get(k)}`" for k in keys) + " |" for p in provenance]
    return "\n".join(lines) + "\n"
