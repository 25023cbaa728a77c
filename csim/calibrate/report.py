"""What a calibration says in words: the console summary, the scenario file's header and report.md."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from csim.calibrate.calibration import Calibration

#: What a ledger cannot tell, kept from the base (the file header and report list them).
NOT_IDENTIFIED = ("conversion and the lead count behind new customers", "ICP fit", "failed payments (told apart "
                  "from other churn)", "the sales pipeline and acquisition costs", "referrals (without a channel "
                  "column)", "health and its effects on churn, expansion and contraction", "onboarding and "
                  "first value", "the renewal window", "the CS team and the strategy's plays and their effect sizes",
                  "economics (margin, discounting)")


def _value(value) -> str:
    if isinstance(value, (list, tuple)):  # churn_by_term
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{value:.4g}"


def header(calibration: Calibration, out_name: str) -> list[str]:
    """Comment lines at the top of the scenario file."""
    o = calibration.observed
    p = o.provenance
    lines = [f"Calibrated by csim calibrate on {_dt.date.today().isoformat()} from {p.get('kind')} {o.source}."]
    if o.route == "ledger":
        skipped = (f", {p['rows_skipped']} skipped (first: {p['first_skipped']})" if p.get("rows_skipped")
                   else ", none skipped")
        lines.append(f"History {p['first_month']} to {p['as_of']} (as-of date; {p['months']} months): "
                     f"{p['rows']:,} rows read{skipped}; {p['customers']:,} customers.")
        if p.get("holdout_from"):
            lines.append(f"Fitted on the history before {p['holdout_from']}; the {p['holdout_months']} months from then "
                         f"to {p['last_date']} are the holdout, used only to check.")
    else:
        lines.append(f"{p.get('customers', 0):,} customers" + (f" in {p['cohorts']} cohort(s)" if o.route == "cohorts"
                                                                 else f", {p.get('churns', 0):,} churns") + ".")
    lines.append(f"Base (assumptions): {calibration.base_path}. Day 0 of this scenario is the as-of date; "
                 "horizon_months, seed and replications are the base's.")
    lines.append('Every calibrated key says "fitted: ..." (estimator and data); "from base: assumption" marks what '
                 f"{o.not_in} cannot tell, kept from the base:")
    lines.append("  " + "; ".join(NOT_IDENTIFIED) + ".")
    if calibration.check is not None:
        for kind, what in (("history", "Self-check"), ("holdout", f"Holdout check (from {p.get('holdout_from')})")):
            part = calibration.check[calibration.check["check"] == kind]
            if len(part):
                lines.append(f"{what}: {int(part['outside'].sum())} of {len(part)} observed figures outside their 95 % "
                             f"simulation interval ({calibration.check_reps} simulated histories); see "
                             f"{out_name}.calibration.json.")
    else:
        lines.append("Not checked by simulation (--check-reps 0).")
    for note in calibration.notes:
        lines.append(f"Note: {note}.")
    return lines


def _churn_model(fit) -> str:
    """The churn model written, its parameters, and the one that describes the data best if another."""
    shown = (", " + ", ".join(f"{k.rstrip('_')} {v:.3g}" for k, v in fit.params.items())
             if fit.model in ("sbg", "bdw") else "")
    edge = ", at the edge: no heterogeneity" if fit.degenerate else ""
    best = f"; the data: {fit.best}" if fit.best != fit.model else ""
    return f" ({fit.model}{shown}{edge}{best})"


def console(calibration: Calibration) -> list[str]:
    """The compact summary ``csim calibrate`` prints."""
    o = calibration.observed
    p = o.provenance
    lines = []
    if o.route == "ledger":
        skipped = f" ({p['rows_skipped']} skipped; first: {p['first_skipped']})" if p.get("rows_skipped") else ""
        lines.append(f"{o.source}: {p['rows']:,} rows{skipped}, {p['customers']:,} customers, {p['months']} months "
                     f"from {p['first_month']} to {p['as_of']}")
    else:
        lines.append(f"{o.source}: {p.get('customers', 0):,} customers ({p.get('kind')})")
    for r in calibration.segments:
        e = r.estimates
        term = int(e["term_months"].value)
        parts = ["monthly plan" if term == 1 else f"{term}-month term",
                 f"annual churn {_value(e['annual_churn'].value)}"
                 + (_churn_model(r.churn) if r.churn else " (from base)")]
        for key, text in (("mrr_median", "MRR median"), ("expansion_rate", "expansions/yr"),
                          ("contraction_rate", "contractions/yr"), ("lead_share", "lead share")):
            if key in e:
                parts.append(f"{text} {_value(e[key].value)}" + ("" if e[key].fitted else " (base)"))
        lines.append(f"  {r.name} (assumptions of base '{r.base_name}'): " + "; ".join(parts))
    shown = []
    for (section, key), e in calibration.estimates.items():
        shown.append(f"{section}.{key} {_value(e.value)}" + ("" if e.fitted else " (base)"))
    if shown:
        lines.append("  " + "; ".join(shown))
    return lines


#: The two checks: (value of the table's ``check`` column, what the console and report.md call it).
CHECKS = (("history", "self-check: the history simulated {reps} times from the calibrated scenario"),
          ("holdout", "holdout check: the calibrated scenario run {reps} times from {start}, its book then, to {end}, "
                      "against what the ledger shows after {start}"))


def check_lines(calibration: Calibration) -> list[str]:
    """The self-check and, with a holdout, the holdout check as console lines."""
    from csim.calibrate.check import format_check

    lines = []
    if calibration.check is None:
        return lines
    p = calibration.observed.provenance
    for kind, title in CHECKS:
        part = calibration.check[calibration.check["check"] == kind]
        if part.empty:
            continue
        lines.append(title.format(reps=calibration.check_reps, start=p.get("holdout_from"), end=p.get("last_date")))
        lines += ["  " + line for line in format_check(part)]
    return lines


def _markdown_table(frame: pd.DataFrame) -> str:
    cells = frame.astype(str).to_numpy().tolist()
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    return "\n".join([head, rule] + ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells])


def _in_short(calibration: Calibration) -> str:
    """The answer first: does the calibrated world reproduce the company's history, and what is assumed."""
    n = len(calibration.segments)
    words = [f"{n} segment{'s' if n != 1 else ''} calibrated; what {calibration.observed.not_in} cannot tell (CS "
             f"touches, health, effect sizes, conversion) is kept from {calibration.base_path} as an assumption."]
    check = calibration.check
    if check is None:
        words.append("No self-check was run (--check-reps 0): nothing says yet whether the scenario reproduces the "
                     "history.")
        return " ".join(words)
    for kind, what in (("history", "the simulated history"), ("holdout", "the holdout (fitted before, checked after)")):
        part = check[check["check"] == kind]
        if part.empty:
            continue
        outside = part[part["outside"].astype(bool)]
        if outside.empty:
            words.append(f"In {what} all {len(part)} observed figures lie inside their 95 % simulation intervals.")
        else:
            named = ", ".join(f"{r.label} (observed {r.observed:.3g}, simulated {r.low:.3g} to {r.high:.3g})"
                              for r in outside.itertuples())
            words.append(f"In {what} {len(outside)} of {len(part)} observed figures lie outside their 95 % "
                         f"simulation intervals: {named}; read what depends on them with care.")
    return " ".join(words)


def report_markdown(calibration: Calibration, out_path: str) -> str:
    """report.md of ``--report``: estimates with sources, assumptions, approximations, the self-check."""
    from csim.calibrate.check import format_check

    rows = []
    for r in calibration.segments:
        for key, e in r.estimates.items():
            rows.append({"key": f"segments.{r.name}.{key}", "value": _value(e.value), "source": e.source})
    for (section, key), e in calibration.estimates.items():
        rows.append({"key": f"{section}.{key}", "value": _value(e.value), "source": e.source})
    parts = [f"# Calibration of {out_path}", "", "## In short", "", _in_short(calibration), "",
             *[f"{line}  " for line in header(calibration, out_path)], "",
             "## Calibrated values", "", _markdown_table(pd.DataFrame(rows)), "",
             "## Assumptions from the base", "",
             f"Not in {calibration.observed.not_in}, kept from {calibration.base_path}:", "",
             *[f"- {item}" for item in NOT_IDENTIFIED], ""]
    if calibration.adjustment:
        last = calibration.adjustment[-1]
        parts += ["## Adjustment by simulation", "",
                  f"{len(calibration.adjustment)} simulations of the history ({calibration.check_reps} replications, "
                  f"seed {calibration.seed}); the largest remaining relative mismatch at the last one: "
                  f"{last['largest_log_ratio']:.3f} (log scale).", ""]
    if calibration.check is not None:
        p = calibration.observed.provenance
        texts = {"history": ("Self-check", "The history simulated from the calibrated scenario against the observed "
                                           "one."),
                 "holdout": ("Holdout check", f"Fitted on the history before {p.get('holdout_from')}; the calibrated "
                                              f"scenario run from then, its book the customers paying then, to "
                                              f"{p.get('last_date')} ({p.get('holdout_months')} months), against what "
                                              "the ledger shows over those months. The interval carries the "
                                              "simulation's spread only, not the error of the fitted values.")}
        for kind, (title, text) in texts.items():
            part = calibration.check[calibration.check["check"] == kind]
            if part.empty:
                continue
            table = part.copy()
            for column in ("observed", "simulated_median", "low", "high"):
                table[column] = table[column].map(lambda x: f"{x:.4g}")
            parts += [f"## {title}", "",
                      text + " The 95 % simulation interval is a prediction interval for one history (2.5–97.5 "
                             "percentiles with 39 replications or more, else mean ± t·s·√(1 + 1/R)), not an interval "
                             "of the mean.", "",
                      _markdown_table(table[["label", "observed", "simulated_median", "low", "high", "outside"]]), "",
                      "```", *format_check(part), "```", ""]
    return "\n".join(parts) + "\n"
