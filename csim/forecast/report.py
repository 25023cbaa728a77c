"""Writing a forecast to disk: ``forecast.json``, ``survival.csv``, figures and ``report.md``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from csim import __version__
from csim.io import atomic_path, atomic_write_csv, atomic_write_text
from csim.report import markdown_table


def _public(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.startswith("_")}


def _default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value):
    """Replace NaN/inf (not valid JSON) by null, recursively."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


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
        frame = pd.DataFrame(rows)
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
    horizon_rows = {n: pd.DataFrame(r).set_index("t") for n, r in result["projections"]["survival"].items()}
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
    customers = {n: pd.DataFrame(r).set_index("t")[["customers", "lower", "upper"]]
                 for n, r in result["projections"]["customers"].items()}
    save(plots.plot_projection(customers, unit=unit, ylabel="expected customers still active", ax=new_ax(),
                               title=f"Expected customers of a cohort of {result['projections']['cohort_size']:g}"),
         "customers.png")
    if result.get("_fitted_cox") is not None:
        save(plots.plot_forest(result["_fitted_cox"].summary, ax=new_ax()), "hazard_ratios.png")
    if result.get("_group_curves"):
        save(plots.plot_groups(result["_group_curves"], unit=unit, ax=new_ax(),
                               title=f"Survival by {result['groups']['column']}"), "groups.png")
    return written


def _md_table(rows: list[dict], columns: list[str], digits: int = 3) -> str:
    def fmt(v):
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.{digits}g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.{digits}f}"
        return str(v)
    return markdown_table(rows, columns, default=fmt)


def markdown_report(result: dict, figures: list[str]) -> str:
    """A short human-readable summary of ``forecast.json``."""
    inp = result["input"]
    unit = inp.get("unit", "periods")
    lines = ["# Retention forecast", ""]
    if inp["kind"] == "tenure":
        lines += [f"Input: `{inp['source']}`: {inp['customers']} customers, {inp['churned']} churned; tenure in {unit}"
                  + (f"; {inp['left_truncated']} left-truncated." if inp["left_truncated"] else "."), ""]
    else:
        lines += [f"Input: {len(inp['cohorts'])} cohort(s) of survivor counts per period.", ""]
    for note in result.get("notes", []):
        lines.append(f"- {note}")
    if result.get("notes"):
        lines.append("")
    km = result.get("kaplan_meier")
    if km:
        lo, hi = km["median_ci"]
        lines += ["## Kaplan–Meier", "",
                  f"Median tenure: {km['median'] if km['median'] is not None else 'not reached'} {unit} "
                  f"(95 % interval {lo if lo is not None else '–'} to {hi if hi is not None else '–'}).", "",
                  _md_table(km["at"], ["t", "survival", "lower", "upper"]), ""]
    lines += ["## Fitted models", ""]
    for name, model in result["models"].items():
        rows = [{"parameter": p, **v} for p, v in model["parameters"].items()]
        lines += [f"### {name}", "", f"log-likelihood {model['loglik']:.2f}, AIC {model['aic']:.2f}", "",
                  _md_table(rows, ["parameter", "estimate", "se", "lower_95", "upper_95"], 4), ""]
    choice = result["model_choice"]
    lines += ["## Model choice", "", _md_table(choice["by_aic"], ["model", "family", "loglik", "aic", "delta_aic"], 2)]
    if choice.get("note"):
        lines += [choice["note"], ""]
    if "backtest" in choice:
        bt = choice["backtest"]
        lines += [f"Backtest: fitted on periods up to {bt['fit_until']}, scored on the later ones "
                  "(MAPE in %, errors in share or customers).", "",
                  _md_table(bt["summary"], ["model", "mape", "mean_abs_error", "max_abs_error"]), ""]
    if "cox" in result:
        cox = result["cox"]
        rows = [{"covariate": k, **v} for k, v in cox["coefficients"].items()]
        lines += ["## Drivers (Cox, ties: " + cox["ties"] + ")", "",
                  f"Concordance {cox['concordance']:.3f}.", "",
                  _md_table(rows, ["covariate", "hazard_ratio", "hr_lower_95", "hr_upper_95", "p"]), ""]
        refs = [f"{c}: {e['reference']}" for c, e in (cox.get("encoding") or {}).items() if e["type"] == "categorical"]
        if refs:
            lines += ["Reference levels: " + "; ".join(refs) + ".", ""]
    if "groups" in result:
        g = result["groups"]
        lines += [f"## Groups by `{g['column']}` (reference {g['reference']})", "",
                  _md_table(g["summary"], ["group", "customers", "churned", "median", "median_lower", "median_upper"]), "",
                  _md_table(g["log_rank"], ["test", "chisq", "df", "p"]), ""]
    proj = result["projections"]
    lines += ["## Projections", "", proj["method"] + ".", ""]
    rows = []
    for name in proj["ltv"]:
        rl = proj["residual_lifetime"][name][0]
        rows.append({"model": name, "ltv": proj["ltv"][name]["ltv"], "ltv_lower": proj["ltv"][name]["lower"],
                     "ltv_upper": proj["ltv"][name]["upper"], "expected_lifetime": rl["estimate"],
                     "cohort_nrr": proj["cohort_nrr"][name]["nrr"]})
    lines += [f"LTV per customer over the horizon (ARPA units unless --arpa was given) and expected tenure of a new "
              f"customer capped at the horizon ({unit}); cohort NRR over the first min(12, horizon) periods.", "",
              _md_table(rows, ["model", "ltv", "ltv_lower", "ltv_upper", "expected_lifetime", "cohort_nrr"]), ""]
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    lines += [f"_csim {__version__}_", ""]
    return "\n".join(lines)


def write_forecast(result: dict, out: str | Path, command: list[str] | None = None) -> list[Path]:
    """Write every output file into ``out`` (created if needed); returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    public = _public(result)
    public["provenance"] = {"csim_version": __version__, "command": command}
    # Atomic like every other output: an interrupted run never leaves a half-written file.
    atomic_write_text(out / "forecast.json", json.dumps(_clean(public), indent=2, default=_default))
    atomic_write_csv(survival_table(result), out / "survival.csv")
    figures = write_figures(result, out)
    atomic_write_text(out / "report.md", markdown_report(public, figures))
    return [out / "forecast.json", out / "survival.csv", out / "report.md", *(out / f for f in figures)]
