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
    else:
        lines.append(f"{p.get('customers', 0):,} customers" + (f" in {p['cohorts']} cohort(s)" if o.route == "cohorts"
                                                                 else f", {p.get('churns', 0):,} churns") + ".")
    lines.append(f"Base (assumptions): {calibration.base_path}. Day 0 of this scenario is the as-of date; "
                 "horizon_months, seed and replications are the base's.")
    lines.append('Every calibrated key says "fitted: ..." (estimator and data); "from base: assumption" marks what '
                 f"{o.not_in} cannot tell, kept from the base:")
    lines.append("  " + "; ".join(NOT_IDENTIFIED) + ".")
    if calibration.check is not None:
        n = int(calibration.check["outside"].sum())
        lines.append(f"Self-check: {n} of {len(calibration.check)} observed figures outside their 95 % simulation "
                     f"interval ({calibration.check_reps} simulated histories); see {out_name}.calibration.json.")
    else:
        lines.append("Not checked by simulation (--check-reps 0).")
    for note in calibration.notes:
        lines.append(f"Note: {note}.")
    return lines


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
                 + (f" ({r.churn.model}" + (", " + ", ".join(f"{k.rstrip('_')} {v:.3g}" for k, v in
                                                            r.churn.params.items()) if r.churn.model in ("sbg", "bdw")
                                            else "") + (", at the edge: no heterogeneity" if r.churn.degenerate
                                                        else "") + ")" if r.churn else " (from base)")]
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


def _markdown_table(frame: pd.DataFrame) -> str:
    cells = frame.astype(str).to_numpy().tolist()
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    return "\n".join([head, rule] + ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells])


def report_markdown(calibration: Calibration, out_path: str) -> str:
    """report.md of ``--report``: estimates with sources, assumptions, approximations, the self-check."""
    from csim.calibrate.check import format_check

    rows = []
    for r in calibration.segments:
        for key, e in r.estimates.items():
            rows.append({"key": f"segments.{r.name}.{key}", "value": _value(e.value), "source": e.source})
    for (section, key), e in calibration.estimates.items():
        rows.append({"key": f"{section}.{key}", "value": _value(e.value), "source": e.source})
    parts = [f"# Calibration of {out_path}", "", *[f"{line}  " for line in header(calibration, out_path)], "",
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
        table = calibration.check.copy()
        for column in ("observed", "simulated_median", "low", "high"):
            table[column] = table[column].map(lambda x: f"{x:.4g}")
        parts += ["## Self-check", "",
                  "The history simulated from the calibrated scenario against the observed one. The 95 % simulation "
                  "interval is a prediction interval for one history (2.5–97.5 percentiles with 39 replications or "
                  "more, else mean ± t·s·√(1 + 1/R)), not an interval of the mean.", "",
                  _markdown_table(table[["label", "observed", "simulated_median", "low", "high", "outside"]]), "",
                  "```", *format_check(calibration.check), "```", ""]
    return "\n".join(parts) + "\n"
