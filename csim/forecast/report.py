"""Writing a forecast to disk: ``forecast.json``, ``survival.csv``, figures and ``report.md``.

The whole output folder is built in a staging folder and swapped in at the end
(:func:`csim.io.staged_output`): a failure anywhere, even in a figure, leaves the previous
complete output (or nothing). ``forecast.json`` is strict JSON (:func:`csim.provenance.write_json`):
no NaN or Infinity tokens, undefined numbers are ``null`` with a reason under ``null_reasons``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from csim import __version__
from csim.html_report import write_html_report
from csim.io import atomic_path, atomic_write_csv, atomic_write_text, staged_output
from csim.provenance import write_json
from csim.report import format_value, markdown_table

#: Why a number in forecast.json may be null (by key; see csim.provenance.strict_json_data).
NULL_REASONS = {
    "median": "not reached: the survival curve stays above 50 % within the data",
    "median_ci[0]": "not reached within the data", "median_ci[1]": "not reached within the data",
    "se": "not available: the fit is degenerate (see the model's 'degenerate')",
    "lower_95": "not available: the fit is degenerate (see the model's 'degenerate')",
    "upper_95": "not available: the fit is degenerate (see the model's 'degenerate')",
    "lower": "no band: the fit is degenerate, or its draws are undefined here",
    "upper": "no band: the fit is degenerate, or its draws are undefined here",
}


def _public(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.startswith("_")}


def _frame(rows) -> pd.DataFrame:
    """Records (None for undefined) as a float DataFrame (None → NaN), ready for plotting."""
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if column != "source":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def survival_table(result: dict) -> pd.DataFrame:
    """Long table: source (kaplan_meier / observed / model), t, survival, lower, upper."""
    parts = []
    km = result.get("_km")
    if km is not None:
        table = km.table_
        parts.append(pd.DataFrame({"source": "kaplan_meier", "t": table["t"], "survival": table["survival"],
                                   "lower": table["lower"], "upper": table["upper"]}))
    for cohort in result["input"].get("cohorts", []):
        counts = np.asarray(cohort["survivors"], float)
        parts.append(pd.DataFrame({"source": f"observed: {cohort['label']}", "t": np.arange(len(counts), dtype=float),
                                   "survival": counts / counts[0], "lower": np.nan, "upper": np.nan}))
    for name, rows in result["projections"]["survival"].items():
        frame = _frame(rows)
        parts.append(frame.assign(source=name)[["source", "t", "survival", "lower", "upper"]])
    return pd.concat(parts, ignore_index=True)


def write_figures(result: dict, out: Path) -> list[str]:
    """PNG figures, written atomically; returns their file names.

    Drawn on plain ``Figure`` objects (Agg canvas, no pyplot state), so calling this from a
    notebook neither switches its backend nor leaves figures open.
    """
    from matplotlib.figure import Figure

    from csim.forecast import plots

    unit = result["input"].get("unit", "months")
    written = []

    def new_ax():
        return Figure(figsize=(7, 4.5)).subplots()

    def save(ax, name):
        ax.figure.tight_layout()
        with atomic_path(out / name) as tmp:
            ax.figure.savefig(tmp, format="png", dpi=110)
        written.append(name)

    fitted = result["_fitted"]
    horizon_rows = {n: _frame(r).set_index("t") for n, r in result["projections"]["survival"].items()}
    if result.get("_km") is not None:
        km = result["_km"]
        end = float(km.table_["t"].max()) if len(km.table_) else 1.0
        save(plots.plot_survival(km, fitted, times=np.linspace(0, end, 200), unit=unit, ax=new_ax()), "survival.png")
        observed = pd.Series(km.table_["survival"].to_numpy(), index=km.table_["t"].to_numpy())
    else:
        cohorts = result["input"]["cohorts"]
        pooled = np.zeros(max(len(c["survivors"]) for c in cohorts))
        base = np.zeros_like(pooled)
        for c in cohorts:
            s = np.asarray(c["survivors"], float)
            pooled[: len(s)] += s
            base[: len(s)] += s[0]
        observed = pd.Series(pooled / base, index=np.arange(len(pooled), dtype=float))
        end = float(len(pooled) - 1)
    save(plots.plot_projection(horizon_rows, observed=observed, fit_end=end, unit=unit, ax=new_ax()), "projection.png")
    customers = {n: _frame(r).set_index("t")[["customers", "lower", "upper"]]
                 for n, r in result["projections"]["customers"].items()}
    save(plots.plot_projection(customers, unit=unit, ylabel="expected customers still active", ax=new_ax(),
                               title=f"Expected customers of a cohort of {result['projections']['cohort_size']:g}"),
         "customers.png")
    if result.get("_fitted_cox") is not None:
        save(plots.plot_forest(result["_fitted_cox"].summary, ax=new_ax()), "hazard_ratios.png")
    zph = result.get("_ph_test")
    if zph is not None and result.get("ph_test", {}).get("figure_term"):
        term = result["ph_test"]["figure_term"]
        p = result["ph_test"]["table"]
        p = next((r["p"] for r in p if r["term"] == term), None)
        save(plots.plot_ph_residuals(zph, term, unit=unit, ax=new_ax(),
                                     title=f"Proportional hazards check: {term} ({_p_words(p)})"),
             "ph_residuals.png")
    if result.get("_cif") is not None:
        save(plots.plot_cumulative_incidence(result["_cif"], unit=unit, ax=new_ax(),
                                             title="Share of customers lost, by cause of churn"),
             "cumulative_incidence.png")
    if result.get("_group_curves"):
        save(plots.plot_groups(result["_group_curves"], unit=unit, ax=new_ax(),
                               title=f"Survival by {result['groups']['column']}"), "groups.png")
    return written


# ---------------------------------------------------------------------------- number formats


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def sig(value, digits: int = 3) -> str:
    """A number to ``digits`` significant digits, thousands separated; "n/a" when undefined.

    >>> sig(27.11106998416119), sig(0.0004567), sig(5816.33), sig(2.4e9)
    ('27.1', '0.000457', '5,816', '2.40e+09')
    """
    if not _finite(value):
        return "n/a"
    value = float(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 7 or magnitude < -4:
        return f"{value:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def _fixed(digits: int):
    return lambda v: f"{float(v):,.{digits}f}" if _finite(v) else "n/a"


def _share(value) -> str:
    return format_value(float(value), "fraction") if _finite(value) else "n/a"


def _money(value) -> str:
    return format_value(float(value), "currency") if _finite(value) else "n/a"


def _percent_number(value) -> str:
    """A value already in percent (MAPE)."""
    return f"{float(value):.1f} %" if _finite(value) else "n/a"


def _p_value(value) -> str:
    if not _finite(value):
        return "n/a"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _p_words(value) -> str:
    """"p < 0.001" or "p = 0.012" (for sentences and titles)."""
    text = _p_value(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _tenure(value) -> str:
    return f"{float(value):g}" if _finite(value) else "n/a"


def _interval(low, high, fmt=sig) -> str:
    if not (_finite(low) and _finite(high)):
        return "n/a"
    return f"{fmt(low)} to {fmt(high)}"


def _table(rows: list[dict], columns: list[tuple[str, str, object]]) -> str:
    """Markdown table: ``columns`` = (header, key or function of the row, format)."""
    cells = []
    for row in rows:
        out = {}
        for header, key, fmt in columns:
            value = key(row) if callable(key) else row.get(key)
            text = fmt(value) if fmt is not None else ("–" if value is None else str(value))
            out[header] = " ".join(text.split()).replace("|", "\\|")  # a cell is one line without bars
        cells.append(out)
    return markdown_table(cells, [h for h, _, _ in columns])


def _model_name(name: str) -> str:
    from csim.forecast.analysis import MODEL_LABELS

    return MODEL_LABELS.get(name, name)


def _parameter_table(model: dict) -> str:
    labels = model.get("labels", {})
    rows = [{"parameter": labels.get(p, p), **v} for p, v in model["parameters"].items()]
    return _table(rows, [("parameter", "parameter", None), ("estimate", "estimate", sig),
                         ("std. error", "se", sig),
                         ("95 % interval", lambda r: _interval(r.get("lower_95"), r.get("upper_95")), None)])


def _model_section(name: str, model: dict) -> list[str]:
    lines = [f"### {_model_name(name)} — `{name}`", "",
             f"Log-likelihood {_fixed(1)(model['loglik'])}, AIC {_fixed(1)(model['aic'])}, "
             f"{model['n']:,} {'customers' if model['n'] != 1 else 'customer'}.", ""]
    if model.get("degenerate"):
        lines += [f"**Degenerate fit:** {model['degenerate']}. The estimates are shown without intervals and the "
                  "projections without bands.", ""]
    return lines + [_parameter_table(model), ""]


def _ph_section(ph: dict, unit: str) -> list[str]:
    """The proportional-hazards check in words: table, verdict and, on rejection, the remedies."""
    transform = {"km": "tenure as the share churned by then (1 − Kaplan–Meier)", "rank": "the rank of tenure",
                 "identity": f"tenure in {unit}", "log": "log tenure"}.get(ph["transform"], ph["transform"])
    lines = ["### Are the hazard ratios constant over tenure?", "",
             "Grambsch–Therneau test of proportional hazards (as R's `cox.zph`, transform "
             f"`{ph['transform']}`: the effects may drift with {transform}). A small p says the covariate's "
             "hazard ratio changes with tenure.", ""]
    if ph.get("degenerate"):
        return lines + [f"The test is undefined on these data: {ph['degenerate']}.", ""]
    lines += [_table(ph["table"], [("covariate", lambda r: "all (global)" if r["term"] == "GLOBAL" else r["term"],
                                    None),
                                   ("χ²", "chisq", _fixed(2)), ("df", "df", None), ("p", "p", _p_value)]), ""]
    level = ph.get("level", 0.05)
    rejected = ph.get("rejected") or []
    rows = {r["term"]: r for r in ph["table"]}
    named = ", ".join(f"`{t}` ({_p_words(rows[t]['p'])})" for t in rejected)
    global_p = ph.get("global_p")
    if _finite(global_p) and global_p < level:
        lines += [f"**The global test rejects proportional hazards ({_p_words(global_p)}): the hazard ratios above "
                  "should not be read as constant over tenure.** "
                  + (f"Effects that change with tenure: {named}. " if named else
                     "No single covariate rejects on its own; the drift is shared among them. ")
                  + "The hazard ratio reported for such a covariate is an average over the tenures where churn "
                    "happened; the figure `ph_residuals.png` shows how its effect moves with tenure.", "",
                  "Usual remedies:", "",
                  "- **Stratify** on the offending covariate instead of estimating a hazard ratio for it: compare "
                  "its levels with `--group COLUMN` (a Kaplan–Meier curve per level, no proportional-hazards "
                  "assumption), or give `--strata COLUMN` so each level gets its own baseline hazard (band a "
                  "numeric covariate first).",
                  "- **Time-varying effect**: split each customer's tenure into start/stop rows (one row per "
                  "customer and tenure period, e.g. first year and later years, churn flagged on the last row only; "
                  "read with `--start START --id CUSTOMER`) with the covariate interacted with the period, so its "
                  "hazard ratio may differ by period; the same rows carry covariates that change over a customer's "
                  "life (health, usage).",
                  ""]
    elif rejected:
        one = len(rejected) == 1
        lines += [f"The global test does not reject ({_p_words(global_p)}), but {named} "
                  f"{'does' if one else 'do'} at the {level:g} level on {'its' if one else 'their'} own; with several "
                  "covariates one such result can be chance. Read "
                  f"{'that hazard ratio as an average' if one else 'those hazard ratios as averages'} over tenure.", ""]
    else:
        lines += [f"No evidence against proportional hazards (global {_p_words(global_p)}): the hazard ratios can "
                  "be read as constant over tenure, as far as these data can tell.", ""]
    return lines


def _aft_term(name: str, encoding: dict | None) -> tuple[str, str]:
    """AFT parameter ``lambda_: company_size[50-100]`` → (label, phrase for one step of it)."""
    term = name.split(": ", 1)[1]
    for column, spec in (encoding or {}).items():
        if spec.get("type") == "categorical" and term.startswith(f"{column}[") and term.endswith("]"):
            level = term[len(column) + 1:-1]
            return term, f"`{column}` = {level} instead of {spec['reference']}"
    return term, f"one more unit of `{term}`"


def _aft_section(model: dict, encoding: dict | None, unit: str) -> list[str]:
    """Weibull AFT in words: each covariate's time ratio exp(b) with its interval."""
    lines = ["## Drivers (Weibull accelerated failure time)", "",
             "The accelerated-failure-time model stretches or shrinks tenure: a covariate with coefficient b "
             "multiplies every tenure quantile (median, mean, …) by the **time ratio** exp(b). Above 1: "
             "customers stay longer; below 1: they churn sooner.", ""]
    if model.get("degenerate"):
        lines += [f"**Degenerate fit:** {model['degenerate']}. The time ratios are shown without intervals.", ""]
    rows = []
    for name, v in model["parameters"].items():
        if ": " not in name or name.endswith(": Intercept"):
            continue
        label, phrase = _aft_term(name, encoding)
        ratio = math.exp(v["estimate"]) if _finite(v.get("estimate")) else None
        low = math.exp(v["lower_95"]) if _finite(v.get("lower_95")) else None
        high = math.exp(v["upper_95"]) if _finite(v.get("upper_95")) else None
        if ratio is None:
            reading = "undefined"
        elif low is not None and high is not None and low <= 1.0 <= high:
            reading = f"{phrase}: no clear effect (the interval includes 1)"
        else:
            change = (ratio - 1.0) * 100.0
            reading = f"{phrase}: tenure {abs(change):.3g} % {'longer' if change > 0 else 'shorter'}"
        rows.append({"covariate": label, "ratio": ratio, "low": low, "high": high, "reading": reading})
    lines += [_table(rows, [("covariate", "covariate", None), ("time ratio", "ratio", sig),
                            ("95 % interval", lambda r: _interval(r["low"], r["high"]), None),
                            ("in words", "reading", None)]), ""]
    shape = model["parameters"].get("rho_")
    if shape and _finite(shape.get("estimate")):
        rho = shape["estimate"]
        trend = ("rises with tenure" if rho > 1 else "falls with tenure" if rho < 1 else "is constant")
        interval = _interval(shape.get("lower_95"), shape.get("upper_95"))
        interval = f" (95 % interval {interval})" if interval != "n/a" else ""
        lines += [f"Weibull shape ρ = {sig(rho)}{interval}: the churn hazard {trend} for every customer. "
                  f"Log-likelihood {_fixed(1)(model['loglik'])}, AIC {_fixed(1)(model['aic'])}, {model['n']:,} "
                  "customers.", ""]
    return lines


# ---------------------------------------------------------------------------- report


def markdown_report(result: dict, figures: list[str]) -> str:
    """A short human-readable summary of ``forecast.json``."""
    inp = result["input"]
    unit = inp.get("unit", "periods")
    lines = ["# Retention forecast", ""]
    if inp["kind"] == "tenure":
        lines += [f"Input: `{inp['source']}`: {inp['customers']:,} customers, {inp['churned']:,} churned; tenure in "
                  f"{unit}" + (f"; {inp['left_truncated']:,} left-truncated." if inp["left_truncated"] else "."), ""]
    else:
        n = len(inp["cohorts"])
        lines += [f"Input: {n} cohort{'s' if n != 1 else ''} of survivor counts per period"
                  + (f" from `{inp['source']}`." if inp.get("source") else "."), ""]
    short = _in_short(result, unit)
    if short:
        lines += ["## In short", "", short, ""]
    if result.get("notes"):
        lines += ["Notes:", ""] + [f"- {note}" for note in result["notes"]] + [""]
    km = result.get("kaplan_meier")
    if km:
        lo, hi = km["median_ci"]
        def tenure(v, missing="not reached"):
            return f"{v:.3g}" if v is not None else missing

        median = f"{tenure(km['median'])} {unit}" if km["median"] is not None else "not reached within the data"
        lines += ["## Kaplan–Meier", "",
                  f"Median tenure: {median} (95 % interval {tenure(lo)} to {tenure(hi)}).", "",
                  _table(km["at"], [(f"tenure ({unit})", "t", _tenure), ("still active", "survival", _share),
                                    ("95 % interval", lambda r: _interval(r.get("lower"), r.get("upper"), _share),
                                     None)]), ""]
    lines += ["## Fitted models", ""]
    for name, model in result["models"].items():
        lines += _model_section(name, model)
    choice = result["model_choice"]
    lines += ["## Model choice", "",
              _table(choice["by_aic"], [
                  ("model", lambda r: _model_name(r["model"]) + (" (degenerate)" if r.get("degenerate") else ""), None),
                  ("family", "family", None), ("log-likelihood", "loglik", _fixed(1)), ("AIC", "aic", _fixed(1)),
                  ("ΔAIC within family", "delta_aic", _fixed(1))])]
    if choice.get("note"):
        lines += [choice["note"], ""]
    if "backtest" in choice:
        bt = choice["backtest"]
        error_unit = "share of customers" if inp["kind"] == "tenure" else "customers"
        lines += [f"Backtest: fitted on periods up to {bt['fit_until']}, scored on the later ones "
                  f"(errors in {error_unit}).", "",
                  _table(bt["summary"], [("model", lambda r: _model_name(r["model"]), None),
                                         ("MAPE", "mape", _percent_number), ("mean abs. error", "mean_abs_error", sig),
                                         ("max abs. error", "max_abs_error", sig)]), ""]
    use = choice.get("use_for_projection")
    if use:
        lines += _recommendation(use, result, unit)
    if "cox" in result:
        cox = result["cox"]
        rows = [{"covariate": k, **v} for k, v in cox["coefficients"].items()]
        strata = cox.get("strata")
        stratified = (f" Stratified by `{strata['column']}`: each of its levels ({', '.join(map(str, strata['levels']))}) "
                      "has a baseline hazard of its own, and the hazard ratios compare customers within a level."
                      if strata else "")
        lines += [f"## Drivers (Cox, ties: {cox['ties']})", "",
                  f"Concordance {_fixed(3)(cox['concordance'])}.{stratified}", "",
                  _table(rows, [("covariate", "covariate", None), ("hazard ratio", "hazard_ratio", sig),
                                ("95 % interval", lambda r: _interval(r.get("hr_lower_95"), r.get("hr_upper_95")), None),
                                ("p", "p", _p_value)]), ""]
        refs = [f"{c}: {e['reference']}" for c, e in (cox.get("encoding") or {}).items() if e["type"] == "categorical"]
        if refs:
            lines += ["Reference levels: " + "; ".join(refs) + ".", ""]
    if "ph_test" in result:
        lines += _ph_section(result["ph_test"], unit)
    if "sbg_covariates" in result:
        lines += _contract_levels_section(result["sbg_covariates"])
    if "competing_risks" in result:
        lines += _competing_section(result["competing_risks"], unit)
    if "prediction_quality" in result:
        lines += _quality_section(result["prediction_quality"], unit)
    if "weibull_aft" in result:
        lines += _aft_section(result["weibull_aft"], (result.get("cox") or {}).get("encoding"), unit)
    if "groups" in result:
        g = result["groups"]
        lines += [f"## Groups by `{g['column']}` (reference {g['reference']})", "",
                  "Groups in natural order (numbers inside labels compared as numbers); hazard ratios compare "
                  f"each group with {g['reference']}.", "",
                  _table(g["summary"], [("group", "group", None), ("customers", "customers", _fixed(0)),
                                        ("churned", "churned", _fixed(0)),
                                        (f"median tenure ({unit})", "median", sig),
                                        ("95 % interval", lambda r: _interval(r.get("median_lower"),
                                                                              r.get("median_upper")), None)]), "",
                  _table(g["log_rank"], [("test", "test", None), ("χ²", "chisq", _fixed(2)), ("df", "df", None),
                                         ("p", "p", _p_value)]), ""]
        if g.get("cox"):
            lines += [_table(g["cox"], [("group", "covariate", None), ("hazard ratio", "hazard_ratio", sig),
                                        ("95 % interval", lambda r: _interval(r.get("hr_lower_95"),
                                                                              r.get("hr_upper_95")), None),
                                        ("p", "p", _p_value)]), ""]
    proj = result["projections"]
    lines += ["## Projections", "", proj["method"] + ".", ""]
    rows = []
    for name in proj["ltv"]:
        rl = proj["residual_lifetime"][name][0]
        rows.append({"model": _model_name(name), "ltv": proj["ltv"][name]["ltv"],
                     "ltv_lower": proj["ltv"][name]["lower"], "ltv_upper": proj["ltv"][name]["upper"],
                     "expected_lifetime": rl["estimate"], "cohort_nrr": proj["cohort_nrr"][name]["nrr"]})
    lines += [f"LTV per customer over the horizon (ARPA units unless --arpa was given) and expected tenure of a new "
              f"customer capped at the horizon ({unit}); cohort NRR over the first min(12, horizon) periods.", "",
              _table(rows, [("model", "model", None), ("LTV", "ltv", _money),
                            ("95 % interval", lambda r: _interval(r["ltv_lower"], r["ltv_upper"], _money), None),
                            (f"expected tenure ({unit})", "expected_lifetime", sig),
                            ("cohort NRR", "cohort_nrr", _share)]), ""]
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    lines += [f"_csim {__version__}_", ""]
    return "\n".join(lines)


def _contract_levels_section(model: dict) -> list[str]:
    """The sBG renewal law per covariate level: who churns more at first, and how much customers differ."""
    note = model.get("profiles_note")
    lines = ["## Renewal behaviour by covariate (sBG with covariates)", "",
             "The shifted-beta-geometric model with the covariates acting on both alpha and beta (log-linear): per "
             "level, the average churn probability per period of a new customer, alpha/(alpha + beta), and alpha + "
             "beta, how alike customers are (small: very different customers, so retention rises with tenure as the "
             f"churn-prone leave){f'; {note}' if note else ''}.", ""]
    rows = [{**row, "spread": (row["alpha"] + row["beta"]) if row.get("alpha") is not None and
             row.get("beta") is not None else None} for row in model.get("levels", [])]
    lines += [_table(rows, [("level", "profile", None), ("mean churn per period", "mean_churn", _share),
                            ("alpha", "alpha", sig),
                            ("95 % interval", lambda r: _interval(r.get("alpha_lower"), r.get("alpha_upper")), None),
                            ("beta", "beta", sig),
                            ("95 % interval ", lambda r: _interval(r.get("beta_lower"), r.get("beta_upper")), None),
                            ("alpha + beta", "spread", sig)]), ""]
    if model.get("notes"):
        lines += [f"- {n}" for n in model["notes"]] + [""]
    return lines


def _competing_section(cr: dict, unit: str) -> list[str]:
    """Churn by cause: cumulative incidence per cause at the --at tenures, and Cox models per cause."""
    lines = ["## Churn by cause (competing risks)", "", cr["headline"], "",
             f"Share of customers lost to each cause by each tenure ({cr['method']}). A customer lost to one "
             "cause can no longer be lost to another, so 1 − Kaplan–Meier of one cause alone would overstate its "
             "share; these add up to all churn. " + cr["sum_check"]["statement"], ""]
    rows = [{**r, "cause_label": r["label"]} for r in cr["cumulative_incidence"]]
    lines += [_table(rows, [("cause", "cause_label", None), (f"by tenure ({unit})", "t", sig),
                            ("share lost", "cif", _share),
                            (f"{round(100 * cr['level'])} % interval", lambda r: _interval(r.get("lower"), r.get("upper"),
                                                                                       _share), None),
                            ("still at risk", "at_risk", _fixed(0))]), ""]
    by_cause = (cr.get("cause_specific_cox") or {}).get("by_cause") or []
    if by_cause:
        lines += ["Cause-specific Cox models (churn of the other causes counted as censored): a hazard ratio says "
                  "how a covariate changes the rate of churn *for that cause* among customers still active; it does "
                  "not translate one to one into the share lost, which also depends on the other causes.", ""]
        for entry in by_cause:
            if entry.get("hazard_ratios"):
                lines += [f"**{entry['label']}** ({entry['churned']} churns)", "",
                          _table(entry["hazard_ratios"], [("covariate", "covariate", None),
                                                          ("hazard ratio", "hazard_ratio", sig),
                                                          ("95 % interval", lambda r: _interval(r.get("lower"),
                                                                                                r.get("upper")), None),
                                                          ("p", "p", _p_value)]), ""]
            elif entry.get("skipped"):
                lines += [f"**{entry['label']}**: no model ({entry['skipped']}).", ""]
    if cr.get("notes"):
        lines += [f"- {note}" for note in cr["notes"]] + [""]
    return lines


def _in_short(result: dict, unit: str) -> str:
    """The answer first: retention so far, the projection of the model to use, the strongest driver."""
    words = []
    km = result.get("kaplan_meier")
    if km and km.get("at"):
        parts = [f"{_share(r['survival'])} by {r['t']:g} {unit} ({_interval(r.get('lower'), r.get('upper'), _share)})"
                 for r in km["at"] if _finite(r.get("survival"))]
        if parts:
            words.append("Of the customers observed, " + ", ".join(parts) + " were still active (Kaplan–Meier, 95 % "
                         "intervals).")
    use = (result.get("model_choice") or {}).get("use_for_projection")
    proj = (result.get("projections") or {}).get("survival", {})
    if use and proj.get(use["model"]):
        last = proj[use["model"]][-1]
        band = (f" (95 % band {_interval(last.get('lower'), last.get('upper'), _share)})"
                if _finite(last.get("lower")) else " (no band: the fit is degenerate)")
        spread = use.get("projection_spread") or {}
        disagree = (f"; the models fitted range from {_share(spread['lowest'])} to {_share(spread['highest'])} there, "
                    "so the choice of model matters" if _finite(spread.get("lowest")) and _finite(spread.get("highest"))
                    and spread["highest"] - spread["lowest"] > 0.05 else "")
        words.append(f"Projected with {_model_name(use['model'])} (chosen by {use['by']}), {_share(last['survival'])} "
                     f"of a new cohort is still active at {last['t']:g} {unit}{band}{disagree}.")
    cox = result.get("cox")
    if cox and cox.get("coefficients"):
        name, row = min(((k, v) for k, v in cox["coefficients"].items() if _finite(v.get("log10_p"))),
                        key=lambda kv: kv[1]["log10_p"], default=(None, None))
        if name is not None:
            words.append(f"The strongest driver is `{name}` (hazard ratio {sig(row['hazard_ratio'])}, 95 % interval "
                         f"{_interval(row.get('hr_lower_95'), row.get('hr_upper_95'))})"
                         + (", but proportional hazards are rejected, so read it as an average over tenure."
                            if (result.get("ph_test") or {}).get("rejected") else "."))
    return " ".join(words)


def _recommendation(use: dict, result: dict, unit: str) -> list[str]:
    """Which model to project with, in words, and how far the models disagree."""
    from csim.forecast.registry import MODELS

    name = _model_name(use["model"])
    if use["by"] == "backtest":
        text = (f"**For projection use {name}**: fitted on the early tenures it projected the later ones best "
                "(the backtest above). ")
        if use["agree"]:
            text += "AIC, which rewards fit where the data are dense, picks it too."
        else:
            text += (f"AIC, which rewards fit where the data are dense rather than the extrapolation a projection "
                     f"makes, prefers {_model_name(use['aic_prefers'])}; the two disagree, so read the spread below.")
    else:
        text = f"**For projection use {name}** (lowest AIC; no backtest was possible)."
    spread = use.get("projection_spread") or {}
    if spread.get("lowest") is not None and spread.get("highest") is not None:
        text += (f" At tenure {spread['t']:g} {unit} the models' projected retention ranges from "
                 f"{_share(spread['lowest'])} to {_share(spread['highest'])}.")
    if any(name in MODELS and MODELS[name].kind == "discrete_time" for name in result.get("models", {})):
        text += (f" Tenures here are whole {unit}, so churn times are known only to the {unit[:-1] if unit.endswith('s') else unit}: "
                 "the discrete-time hazard model treats them as intervals, the continuous models as exact times.")
    return [text, ""]


def _quality_section(quality: dict, unit: str) -> list[str]:
    """Prediction on held-out customers: cross-validated skill and AUC, calibration at the --at tenures."""
    lo, hi = quality["brier_skill_range"]
    lines = ["## Prediction on held-out customers (Cox)", "",
             f"Over {quality['folds']}-fold cross-validation (customers held out, seed {quality['seed']}), the Cox "
             f"model's Brier score is {_percent_number(100 * quality['brier_skill'])} better than Kaplan–Meier's "
             f"(skill {quality['brier_skill']:.2f}, folds {lo:.2f} to {hi:.2f}) and it ranks customers by risk with a "
             f"mean time-dependent AUC of {quality['mean_auc']:.2f} (0.5 = no better than chance, 1 = perfect).", ""]
    rows = quality.get("calibration", {}).get("at", [])
    if rows:
        lines += [f"Calibration on a {100 * quality['calibration']['holdout_share']:.0f} % hold-out: predicted against "
                  "observed churn by each tenure in groups of predicted risk (Greenwood–Nam–D'Agostino test; a small "
                  "p means the predicted risks are off).", "",
                  _table(rows, [(f"tenure ({unit})", "t", _tenure), ("χ²", "chisq", sig), ("df", "df", None),
                                ("p", "p", _p_value), ("groups", "groups", None),
                                ("mean abs. error", "mean_abs_error", _share)]), ""]
        off = [r for r in rows if r.get("p") is not None and r["p"] < 0.05]
        if off:
            tenures = ", ".join(f"{r['t']:g}" for r in off)
            lines += [f"The predicted risks are miscalibrated at tenure {tenures} "
                      f"{unit}: the model ranks customers usefully (AUC) but its churn probabilities should not be "
                      "taken at face value there.", ""]
    return lines


def write_forecast(result: dict, out: str | Path, command: list[str] | None = None) -> list[Path]:
    """Write every output file into the folder ``out``, all or nothing; returns the paths.

    The files are built in a staging folder next to ``out`` that replaces it only when every
    file is written (:func:`csim.io.staged_output`); on any failure ``out`` is left as it was.
    Warnings raised while drawing the figures are recorded as notes, not printed.
    """
    from csim.forecast.analysis import Diagnostics

    out = Path(out)
    public = _public(result)
    public["notes"] = list(public.get("notes", []))
    public["numerical_warnings"] = list(public.get("numerical_warnings", []))
    public["provenance"] = {"csim_version": __version__, "command": command}
    with staged_output(out) as staging:
        plotting = Diagnostics()
        with plotting.watch("figures", "plot"):
            figures = write_figures(result, staging)
        public["numerical_warnings"] += plotting.records()
        public["notes"] += plotting.notes()
        write_json(staging / "forecast.json", public, NULL_REASONS)
        atomic_write_csv(survival_table(result), staging / "survival.csv")
        atomic_write_text(staging / "report.md", markdown_report(public, figures))
        write_html_report(staging)
    return [out / "forecast.json", out / "survival.csv", out / "report.md", *(out / f for f in figures)]
