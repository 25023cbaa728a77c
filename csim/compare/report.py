"""The comparison report: ``report.md`` with the answer in plain words, the verdict table,
survival, what common random numbers bought, the figures and the provenance."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

from csim.compare.effort import SATURATED
from csim.compare.figures import FIGURE_TITLES
from csim.compare.paired import CS_ROI_DEFINITION
from csim.report import format_overrides, format_value

__all__ = ["render_comparison_report", "format_difference", "winner"]

#: Metrics named in the plain-words answer, in order.
HEADLINE = ("ending_arr", "nrr_t12_window", "grr_t12_window", "logo_churn_annual", "cumulative_revenue", "cs_roi")



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
    return metric_label(name, metric)


def _means_table(stats: Mapping, labels: Sequence[str]) -> list[str]:
    lines = ["| metric | unit | " + " | ".join(labels) + " |", "|---|---|" + "---:|" * len(labels)]
    for name, m in stats["metrics"].items():
        cells = [_with_interval(m["scenarios"][label], m["unit"]) if label in m["scenarios"] else "—" for label in labels]
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
    what = m.get("label", name)
    interval = f"95 % interval {format_difference(d['ci_low'], unit)} to {format_difference(d['ci_high'], unit)}"
    certainty = "" if d["excludes_zero"] else " — the interval includes zero, so the sign is not settled"
    return f"{what} by {format_difference(d['mean'], unit)} ({interval}){certainty}"


def _plain_words(stats: Mapping, label: str, survival: Mapping | None) -> str:
    reference = stats["reference"]
    n = stats["replications"]
    parts = [s for s in (_sentence(stats, name, label) for name in HEADLINE) if s]
    text = [f"**{reference} → {label}.** Over {n} paired replications, moving from {reference} to {label} "
            f"changes " + "; ".join(parts) + "."]
    wins = [metric_label(name, m).lower() for name, m in stats["metrics"].items() if winner(m, label, reference) == label]
    losses = [metric_label(name, m).lower() for name, m in stats["metrics"].items()
              if winner(m, label, reference) == reference]
    text.append(f"{label} wins on {', '.join(wins) or 'no metric'}; {reference} wins on "
                f"{', '.join(losses) or 'no metric'} (each with a 95 % interval of the paired difference that "
                "excludes zero).")
    if survival is not None and label in survival.get("matched", {}).get("scenarios", {}):
        m = survival["matched"]["scenarios"][label]
        hr, rmst = m["hazard_ratio"], m["rmst_difference"]
        text.append(f"The same accounts churn at {hr['mean']:.2f} times the rate under {label} as under {reference} "
                    f"(Cox hazard ratio per replication on matched accounts, stratified by segment; 95 % interval "
                    f"{hr['ci_low']:.2f} to {hr['ci_high']:.2f} across {hr['n']} replications) and stay "
                    f"{rmst['mean']:+.2f} months longer within their first {survival['matched']['tau_months']:g} "
                    f"months (restricted mean survival, 95 % interval {rmst['ci_low']:+.2f} to {rmst['ci_high']:+.2f}). "
                    + m["proportional_hazards"]["sentence"])
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
    matched = survival.get("matched", {})
    if matched.get("scenarios"):
        lines += ["", f"Matched accounts (present under {survival['reference']} and the scenario, same replication and "
                  "id; referral accounts left out), per replication, with t-intervals across replications:", "",
                  "| scenario | matched accounts per replication | hazard ratio [95 %] | "
                  f"RMST difference to {matched['tau_months']:g} months [95 %] | hazards proportional? |",
                  "|---|---:|---|---|---|"]
        for label, m in matched["scenarios"].items():
            hr, d, ph = m["hazard_ratio"], m["rmst_difference"], m["proportional_hazards"]
            verdict = "n/a" if ph["proportional"] is None else ("yes" if ph["proportional"] else "**no**")
            lines.append(f"| {label} | {m['matched_accounts_per_replication']:,.0f} | {hr['mean']:.3f} "
                         f"[{hr['ci_low']:.3f}, {hr['ci_high']:.3f}] | {d['mean']:+.2f} [{d['ci_low']:+.2f}, "
                         f"{d['ci_high']:+.2f}] months | {verdict} (p = {ph['p']:.2g}) |")
        lines += [""] + [m["proportional_hazards"]["sentence"] for m in matched["scenarios"].values()]
    lines += ["", f"Pooled Cox model (all accounts of the pooled replications treated as independent), hazard ratios "
              f"against {survival['reference']} adjusted for segment (concordance {survival['cox_concordance']:.3f}):", "",
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
                             small_team_command: str | None = None, *, effort: Mapping | None = None,
                             equal_effort: Mapping | None = None, as_configured: Mapping | None = None,
                             decomposition: Mapping | None = None, breakdown: Mapping | None = None,
                             uncertain: Mapping | None = None) -> str:
    """The Markdown text of ``report.md`` for a comparison.

    Opens with the answer (at equal effort when ``equal_effort`` is given) and how sure it is,
    then the effort each scenario used, the saturation warning, where the difference comes from
    (mechanisms, segments and channels) and what it rests on; then every metric, survival, the
    glossary, figures and provenance.
    """
    outdir = Path(outdir)
    labels = list(stats["metrics"]["ending_arr"]["scenarios"])
    reference = stats["reference"]
    months = provenance[0].get("horizon_months", "?")
    n = stats["replications"]
    changed = format_overrides(provenance[0].get("overrides"))
    lines = [f"# Comparison: {' vs '.join(labels)}{f' with {changed}' if changed else ''}", "",
             f"Every scenario ran the same {n} replications of {months} months on the same seeds (common random "
             f"numbers): replication r of each scenario sees the same leads, the same account dice and the same "
             f"draws of uncertain effect sizes, so a difference within a replication is the strategy's doing. "
             f"Differences are paired (scenario − {reference}, replication by replication) with 95 % t-intervals "
             "over replications; P(better) is the share of replications in which the scenario does better "
             "(ties count one half).", ""]
    for label in labels[1:]:
        lines += [f"## The answer: {label} against {reference}", ""]
        if equal_effort and label in equal_effort:
            eq = equal_effort[label]
            unit = "hours" if eq["target"] == "csm_hours" else "currency"
            reach = ("matching" if eq["reached"] else
                     f"**not reaching** (its demand tops out at {format_value(eq['achieved'], unit)}, short of)")
            lines += [f"**At equal effort.** {label}'s CS capacity (hours and cost per CSM) was scaled by "
                      f"{eq['capacity_factor']:.2f}, {reach} {reference}'s {eq['definition']}: "
                      f"{format_value(eq['achieved'], unit)} against {format_value(eq['target_value'], unit)} "
                      f"({eq['relative_gap']:+.1%}); as configured it used {format_value(eq['as_configured'], unit)}.", ""]
        lines += [_verdict_words(stats, label), "", *_answer_lines(stats, label), ""]
        if as_configured is not None:
            configured = {"reference": reference, "metrics": as_configured}
            changed = [name for name in ANSWER_METRICS if name in as_configured and
                       winner(as_configured[name], label, reference) != winner(stats["metrics"][name], label, reference)]
            lines += ["**As configured** (each scenario with the team its file gives), the answer "
                      + ("was different: " + ", ".join(
                          f"{metric_label(name, as_configured[name])} went to "
                          f"{winner(as_configured[name], label, reference)}" for name in changed)
                         if changed else "was the same") + ". " + _verdict_words(configured, label), "",
                      *_answer_lines(configured, label), ""]
    if effort:
        lines += ["## Effort each strategy used", "", *_effort_table(effort), "",
                  "Capacity factor: the scale applied to every CSM's hours and cost (1 = as configured). "
                  "CSM-hours used: hours worked on touches within the run. Every request ends as exactly one of "
                  "served, expired (still waiting at its deadline), cancelled (its account churned while it "
                  "waited) or waiting at the horizon; unserved share = (expired + waiting) / requests. Means over "
                  "replications.", "",
                  "### Saturation", "", *_saturation_lines(effort, months), "",
                  "### Touches by play (means over replications)", "", *_play_table(effort), ""]
    if decomposition or breakdown:
        lines += ["## Where the difference comes from", ""]
    if decomposition:
        ending = stats["metrics"]["ending_arr"]["unit"]
        churn = stats["metrics"]["logo_churn_annual"]["unit"]
        for label in labels[1:]:
            lines += [f"**By mechanism** ({label}; the pair re-run with one channel switched off at a time on the "
                      "same random numbers; contribution = whole difference − difference without the channel):", "",
                      "Ending ARR:", "", *_decomposition_lines(decomposition, label, reference, "ending_arr", ending), "",
                      "Logo churn per year:", "",
                      *_decomposition_lines(decomposition, label, reference, "logo_churn_annual", churn), ""]
    if breakdown:
        for label in labels[1:]:
            lines += [f"**By segment and channel** ({label} − {reference}; referral accounts are not the same "
                      "customers across strategies, so that part compares totals):", "",
                      *_breakdown_lines(breakdown, label), ""]
    lines += ["## What this rests on", ""]
    for label in labels[1:]:
        lines += [*_rests_on_lines(uncertain, label), ""]
    lines += ["Every effect size and elasticity, its prior and its source (or the word assumption): "
              "docs/model.md, effect priors.", ""]
    lines += ["## All metrics in words", ""]
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
    lines += ["## Glossary", "", *_glossary(stats), ""]
    keys = list(provenance[0])
    lines += ["## Provenance", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(f"`{(format_overrides(p.get(k)) or 'none') if k == 'overrides' else p.get(k)}`"
                                for k in keys) + " |" for p in provenance]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the answer, effort, and why

#: Metrics of the opening answer, in order.
ANSWER_METRICS = ("ending_arr", "cumulative_revenue", "logo_churn_annual", "logo_churn_annual_window", "nrr_t12_window")


def metric_label(name: str, metric: Mapping) -> str:
    """The plain-words name of a metric (the registry's label where there is one)."""
    return metric.get("label") or (f"{name} ({metric['form']})" if metric.get("form") else name)


def _probability(d: Mapping) -> str:
    p = d.get("p_beats")
    if not p or not math.isfinite(p["probability"]):
        return "n/a"
    if p["all_tied"]:
        return "0.5 (tied in every replication)"
    return f"{p['probability']:.2f} ({p['wins']} of {p['n']} replications ahead)"


def _answer_lines(stats: Mapping, label: str) -> list[str]:
    reference = stats["reference"]
    lines = [f"| {label} − {reference} | difference (95 % interval) | P({label} better) |", "|---|---:|---:|"]
    for name in ANSWER_METRICS:
        m = stats["metrics"].get(name)
        if m is None or label not in m["paired_difference"]:
            continue
        d = m["paired_difference"][label]
        lines.append(f"| {metric_label(name, m)} | {_with_interval(d, m['unit'], format_difference)} | {_probability(d)} |")
    return lines


def _verdict_words(stats: Mapping, label: str) -> str:
    """Which scenario wins on revenue and on logo churn, and how sure, in one sentence."""
    reference = stats["reference"]
    parts = []
    for name, what in (("cumulative_revenue", "revenue over the run"), ("logo_churn_annual", "keeping customers")):
        m = stats["metrics"].get(name)
        if m is None:
            continue
        d = m["paired_difference"][label]
        p = d.get("p_beats", {}).get("probability", float("nan"))
        w = winner(m, label, reference)
        if w in (label, reference):
            sure = p if w == label else 1 - p
            parts.append(f"**{w}** wins on {what} (better in {sure * 100:.0f} % of replications)")
        else:
            parts.append(f"neither wins clearly on {what} ({label} better in {p * 100:.0f} % of replications)")
    return "; ".join(parts) + "."


def _effort_table(effort: Mapping) -> list[str]:
    lines = ["| scenario | capacity factor | CSM-hours used | CS cost | mean utilisation | months above 85 % "
             "| requests | served | expired | cancelled (churned) | waiting at the horizon | unserved share |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, e in effort.items():
        counts = " | ".join(f"{e[key]['mean']:,.0f}" for key in ("requests", "done", "expired", "cancelled", "waiting"))
        lines.append(f"| {label} | {e['capacity_factor']:.2f} | {e['csm_hours']['mean']:,.0f} | "
                     f"{format_value(e['cs_cost']['mean'], 'currency')} | {format_value(e['utilisation']['mean'], 'fraction')} | "
                     f"{e['months_above_saturation']['mean']:.1f} | {counts} | "
                     f"{format_value(e['unserved_share']['mean'], 'fraction')} |")
    return lines


def _play_table(effort: Mapping) -> list[str]:
    lines = ["| scenario | play | touch (trigger) | requests | served | expired | cancelled | waiting | CSM-hours |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for label, e in effort.items():
        for p in e["by_play"]:
            counts = " | ".join(f"{p[key]:,.0f}" for key in ("requests", "done", "expired", "cancelled", "waiting",
                                                              "csm_hours"))
            lines.append(f"| {label} | {p['play']} | {p['touch']} ({p['trigger']}) | {counts} |")
    return lines


def _month_ranges(months: Sequence[int]) -> str:
    ranges, start, prev = [], None, None
    for m in months:
        if start is None:
            start = prev = m
        elif m == prev + 1:
            prev = m
        else:
            ranges.append((start, prev))
            start = prev = m
    if start is not None:
        ranges.append((start, prev))
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in ranges)


def _saturation_lines(effort: Mapping, months: int) -> list[str]:
    lines = []
    for label, e in effort.items():
        busy = e["saturated_months"]
        if busy:
            lines.append(f"- **{label}**: the team was more than {SATURATED * 100:.0f} % busy (mean over replications) in "
                         f"{len(busy)} of {months} months (months {_month_ranges(busy)}); "
                         f"{format_value(e['unserved_share']['mean'], 'fraction')} of requests went unserved "
                         "(expired at their deadline or still waiting at the horizon). In those months the queue, not "
                         "the strategy, sets what gets done.")
    return lines or ["No scenario's team was more than 85 % busy in any month (mean over replications)."]


def _decomposition_lines(decomposition: Mapping, label: str, reference: str, metric: str, unit: str) -> list[str]:
    d = decomposition[label][metric]
    whole = d["whole"]
    settled = whole["n"] >= 2 and (whole["ci_low"] > 0 or whole["ci_high"] < 0)

    def share(term: Mapping) -> str:
        return f"{term['share'] * 100:.0f} %" if settled and math.isfinite(term['share']) else "—"

    lines = [f"| channel | contribution to {label} − {reference} (95 % interval) | share of the whole |",
             "|---|---:|---:|"]
    for c in d["channels"]:
        lines.append(f"| {c['label']} | {_with_interval(c, unit, format_difference)} | {share(c)} |")
    i = d["interaction"]
    lines += [f"| channels acting together (whole − sum of the above) | {_with_interval(i, unit, format_difference)} "
              f"| {share(i)} |",
              f"| **whole difference** | {_with_interval(whole, unit, format_difference)} | 100 % |",
              f"| left with every channel off | {_with_interval(d['no_channel'], unit, format_difference)} | |"]
    if not settled:
        lines += ["", "The whole difference is not settled (its interval includes zero), so no shares are given."]
    return lines


def _breakdown_lines(parts: Mapping, label: str) -> list[str]:
    metrics = ("ending_arr", "logo_churn_annual", "nrr_t12_end")
    units = {"ending_arr": "currency/year", "logo_churn_annual": "fraction/year", "nrr_t12_end": "fraction"}
    lines = ["| part | " + " | ".join(f"{m} difference" for m in metrics) + " |", "|---|" + "---:|" * len(metrics)]
    for part, entry in parts.items():
        cells = [_with_interval(entry[m]["paired_difference"][label], units[m], format_difference) for m in metrics]
        lines.append(f"| {part.replace(':', ' ')} | " + " | ".join(cells) + " |")
    return lines


def _glossary(stats: Mapping) -> list[str]:
    """One line per metric of the comparison: plain name, key, form and exact definition, by group."""
    from csim.metrics.registry import GLOSSARY_GROUPS, METRICS

    lines = []
    for group, title in GLOSSARY_GROUPS.items():
        names = [n for n in stats["metrics"] if n in METRICS and METRICS[n].group == group]
        if not names:
            continue
        lines += [f"**{title}**", ""]
        for name in names:
            m = METRICS[name]
            form = f", {m.form}" if m.form else ""
            lines.append(f"- **{m.label}** (`{name}`, {m.unit}{form}): {m.definition}.")
        lines.append("")
    return lines


def _rests_on_lines(uncertain: Mapping | None, label: str, top: int = 5) -> list[str]:
    if not uncertain or not uncertain.get("draws"):
        return ["Every effect size in these scenarios is a single number (no distribution), so the spread over "
                "replications is the model's randomness only: the probabilities above do **not** include any "
                "doubt about the effect sizes. Give effects a distribution (docs/model.md, effect priors) to "
                "include it."]
    rows = uncertain["correlations"].get(label, {}).get("cumulative_revenue", [])
    priors = uncertain.get("priors", {})
    lines = [f"{len(uncertain['draws'])} uncertain parameters were drawn once per replication (shared by every "
             f"scenario that names them). Those the difference in revenue collected ({label} − reference) moves with "
             "most (Spearman's ρ over replications):", "",
             "| parameter | prior | source | ρ with the revenue difference | p |", "|---|---|---|---:|---:|"]
    for r in rows[:top]:
        rho = "n/a" if not math.isfinite(r["rho"]) else f"{r['rho']:+.2f}"
        p = "n/a" if not math.isfinite(r["p"]) else f"{r['p']:.2g}"
        prior = priors.get(r["parameter"], {})
        lines.append(f"| `{r['parameter']}` | {prior.get('distribution', '?')} | {prior.get('source', '?')} | {rho} | {p} |")
    lines += ["", "A parameter with a large |ρ| decides the answer: before acting, check its prior against your "
              "own evidence. With few replications ρ is rough (its standard error is about 1/√(n−1))."]
    return lines
