"""``csim forecast`` on bad input: one line naming file and column/option (and row), exit 2, nothing written.

A table-driven corpus of bad tables, cohorts and options (each run in-process through
``csim.cli.main`` by :func:`tests.bad_input.assert_bad_input`), half of them against an ``--out``
that already holds a previous complete output (which must survive byte for byte), half against
a folder that does not exist yet (which must not appear). Then: clean runs are silent on stderr
and write strict JSON; a failure injected late (in a figure) leaves the previous output intact.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csim.cli import build_parser, main
from tests.bad_input import assert_bad_input, snapshot, staging_leftovers

GOOD = "months,churned\n3,1\n5,0\n2,1\n7,1\n4,0\n6,1\n1,1\n8,0\n"
SUBS = "customer_id,start_date,end_date\na,2024-01-01,2024-03-01\nb,2024-02-01,\nc,2024-01-15,2024-05-20\n"
CUSTOMER = ["--duration", "months", "--event", "churned"]
SURV = ["--survivors", "1000,600,400,300"]


def _bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


def _parquet_accounts() -> bytes:
    import io

    frame = pd.DataFrame({"start": [0.0, 10.0, 20.0, 30.0, 40.0, 50.0], "entry": [0.0, 10.0, 20.0, 30.0, 40.0, 50.0],
                          "end": [100.0, 60.0, 80.0, 90.0, 120.0, 70.0], "churned": [True, False, True, True, False, True]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


# (id, file name or None, file content, argv after the data path, names the error line must contain).
# "{data}" in names stands for the data path, "{out}" for the --out folder.
CASES = [
    # ---- the file itself
    ("missing file", None, None, CUSTOMER, ["{data}", "file not found"]),
    ("directory as data", "dir/", None, CUSTOMER, ["{data}", "is a folder"]),
    ("empty file", "t.csv", "", CUSTOMER, ["{data}", "the file is empty"]),
    ("blank lines only", "t.csv", "\n\n\n", CUSTOMER, ["{data}", "no header line"]),
    ("header only", "t.csv", "months,churned\n", CUSTOMER, ["{data}", "no rows"]),
    ("binary garbage", "t.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", CUSTOMER, ["{data}", "binary"]),
    ("not utf-8", "t.csv", "months,churned,city\n3,1,Z\xfcrich\n".encode("latin-1"), CUSTOMER, ["{data}", "UTF-8"]),
    ("ragged row", "t.csv", "months,churned\n3,1\n4,0,7\n", CUSTOMER, ["{data}", "row 2", "3 fields"]),
    ("unsupported type", "t.xlsx", "months,churned\n3,1\n", CUSTOMER, ["{data}", "'.xlsx'"]),
    ("parquet garbage", "t.parquet", "months,churned\n3,1\n", CUSTOMER, ["{data}", "Parquet"]),
    ("duplicate column", "t.csv", "months,churned,months\n3,1,4\n5,0,6\n", CUSTOMER,
     ["{data}", "column 'months'", "twice"]),
    ("semicolon separated", "t.csv", "months;churned\n3;1\n", CUSTOMER, ["{data}", "column 'months'", "';'"]),
    # ---- customer table columns and rows
    ("missing column", "t.csv", "tenure,churned\n3,1\n", CUSTOMER, ["{data}", "column 'months'", "tenure, churned"]),
    ("non-numeric duration", "t.csv", "months,churned\n3,1\nabc,0\n", CUSTOMER, ["{data}", "column 'months', row 2"]),
    ("negative duration", "t.csv", "months,churned\n3,1\n-2,0\n", CUSTOMER, ["{data}", "column 'months', row 2"]),
    ("nan duration", "t.csv", "months,churned\n3,1\n4,1\nnan,0\n", CUSTOMER, ["{data}", "column 'months', row 3"]),
    ("inf duration", "t.csv", "months,churned\n3,1\ninf,0\n", CUSTOMER, ["{data}", "column 'months', row 2", "infinite"]),
    ("empty duration", "t.csv", "months,churned\n3,1\n,0\n", CUSTOMER, ["{data}", "column 'months', row 2", "empty"]),
    ("event 2", "t.csv", "months,churned\n3,1\n4,2\n", CUSTOMER, ["{data}", "column 'churned', row 2", "0 or 1"]),
    ("event yes", "t.csv", "months,churned\n3,1\n4,yes\n", CUSTOMER, ["{data}", "column 'churned', row 2", "'yes'"]),
    ("empty event", "t.csv", "months,churned\n3,1\n4,\n", CUSTOMER, ["{data}", "column 'churned', row 2", "empty"]),
    ("all censored", "t.csv", "months,churned\n3,0\n4,0\n5,0\n6,0\n7,0\n9,0\n", CUSTOMER,
     ["{data}", "column 'churned'", "no churn events"]),
    ("one row", "t.csv", "months,churned\n3,1\n", CUSTOMER, ["{data}", "only 1 customer", "at least 5"]),
    ("three rows", "t.csv", "months,churned\n3,1\n4,0\n5,1\n", CUSTOMER, ["{data}", "only 3 customers"]),
    ("entry after duration", "t.csv", "months,churned,start\n3,1,0\n4,0,6\n", CUSTOMER + ["--entry", "start"],
     ["{data}", "column 'start', row 2", "after the end of tenure"]),
    # (the discrete-time model counts a churn at tenure 0 in period 1 and would fit: ask for the others)
    ("all churn at tenure 0", "t.csv", "months,churned\n0,1\n0,1\n0,1\n2,0\n3,0\n",
     CUSTOMER + ["--models", "exponential,weibull,lognormal,loglogistic,sbg,bdw"],
     ["{data}", "--models", "no model could be fitted", "tenure 0"]),
    ("contract model on fractional tenure", "t.csv", "months,churned\n1.5,1\n2.5,1\n3.2,0\n4.1,1\n5.5,0\n",
     CUSTOMER + ["--models", "sbg"], ["{data}", "--models", "no model could be fitted", "whole-period"]),
    ("missing covariate column", "t.csv", GOOD, CUSTOMER + ["--covariates", "size"], ["{data}", "column 'size'"]),
    ("constant covariate", "t.csv", GOOD.replace("\n", ",1\n").replace("churned,1", "churned,x", 1),
     CUSTOMER + ["--covariates", "x"], ["{data}", "column 'x'", "single value"]),
    ("unknown reference level", "t.csv", "months,churned,size\n3,1,a\n5,0,b\n2,1,a\n7,1,b\n4,0,a\n",
     CUSTOMER + ["--covariates", "size", "--reference", "size=c"], ["--reference", "size=c", "levels are a, b"]),
    ("reference without covariates", "t.csv", GOOD, CUSTOMER + ["--reference", "size=a"], ["--reference"]),
    ("missing group column", "t.csv", GOOD, CUSTOMER + ["--group", "plan"], ["{data}", "column 'plan'"]),
    ("single group", "t.csv", "months,churned,plan\n3,1,a\n5,0,a\n2,1,a\n7,1,a\n4,0,a\n",
     CUSTOMER + ["--group", "plan"], ["{data}", "column 'plan'", "single group"]),
    ("duration without event", "t.csv", GOOD, ["--duration", "months"], ["{data}", "--event"]),
    ("entry without duration", "t.csv", GOOD, ["--entry", "months"], ["--entry"]),
    ("as-of with duration", "t.csv", GOOD, CUSTOMER + ["--as-of", "2024-01-01"], ["--duration", "--as-of"]),
    ("unknown table shape", "t.csv", "a,b\n1,2\n", [], ["{data}", "say how to read it"]),
    ("backtest beyond last churn", "t.csv", GOOD, CUSTOMER + ["--backtest-periods", "7"],
     ["--backtest-periods", "below 7"]),
    # ---- subscription table
    ("bad date", "s.csv", SUBS.replace("2024-01-15", "next tuesday"), ["--as-of", "2024-06-30"],
     ["{data}", "column 'start_date', row 3", "not a date"]),
    ("end before start", "s.csv", SUBS.replace("2024-05-20", "2023-05-20"), ["--as-of", "2024-06-30"],
     ["{data}", "column 'end_date', row 3", "before start date"]),
    ("as-of before every start", "s.csv", SUBS, ["--as-of", "2020-01-01"],
     ["{data}", "column 'start_date'", "after the as-of date"]),
    ("bad as-of", "s.csv", SUBS, ["--as-of", "someday"], ["--as-of", "not a date"]),
    ("nobody churned by as-of", "s.csv", SUBS, ["--as-of", "2024-02-15", "--end-column", "end_date"],
     ["{data}", "column 'end_date'", "no churn events"]),
    ("empty customer id", "s.csv", SUBS.replace("\nb,", "\n,"), ["--as-of", "2024-06-30"],
     ["{data}", "column 'customer_id', row 2", "empty"]),
    ("end column without as-of", "t.csv", GOOD, CUSTOMER + ["--end-column", "x"], ["--end-column", "--as-of"]),
    # ---- simulated account table
    ("account entry before start", "a.parquet", "accounts", [], None),
    # ---- cohorts
    ("survivors increasing", None, None, ["--survivors", "1000,600,700"], ["--survivors", "value 3", "increase"]),
    ("survivors 1000,0", None, None, ["--survivors", "1000,0"], ["--survivors", "value 2", "period 1"]),
    ("cohort csv 1000,0,0", "c.csv", "p0,p1,p2\n1000,0,0\n", ["--cohorts"],
     ["{data}", "column 'p1', row 1", "period 1"]),
    ("negative survivors", None, None, ["--survivors", "1000,-5"], ["--survivors", "value 2", "≥ 0"]),
    ("survivors not a number", None, None, ["--survivors", "1000,abc"], ["--survivors", "value 2", "'abc'"]),
    ("survivors never fall", None, None, ["--survivors", "1000,1000,1000"], ["--survivors", "no churn"]),
    ("survivors start at zero", None, None, ["--survivors", "0,0"], ["--survivors", "value 1", "positive"]),
    ("survivors one count", None, None, ["--survivors", "1000"], ["--survivors", "periods 0 and 1"]),
    ("survivors with data", "t.csv", GOOD, SURV, ["{data}", "either DATA or --survivors"]),
    ("survivors with table option", None, None, SURV + ["--group", "plan"], ["--group", "--survivors"]),
    ("cohort csv gap", "c.csv", "cohort,p0,p1,p2,p3\nA,1000,600,,300\n", ["--cohorts"],
     ["{data}", "column 'p3', row 1", "empty cell"]),
    ("cohort csv increasing", "c.csv", "cohort,p0,p1,p2\nA,1000,600,700\n", ["--cohorts"],
     ["{data}", "column 'p2', row 1", "increase"]),
    ("cohort csv one count column", "c.csv", "cohort,p0\nA,1000\n", ["--cohorts"], ["{data}", "periods 0 and 1"]),
    ("cohort csv bad cell", "c.csv", "cohort,p0,p1,p2\nA,1000,600,many\n", ["--cohorts"],
     ["{data}", "column 'p2', row 1", "'many'"]),
    ("cohorts without data", None, None, ["--cohorts"], ["--cohorts", "needs DATA"]),
    ("parametric model on cohorts", None, None, SURV + ["--models", "weibull"], ["--models", "weibull", "sbg"]),
    ("backtest beyond cohorts", None, None, SURV + ["--backtest-periods", "3"], ["--backtest-periods", "below 3"]),
    # ---- option values
    ("draws 0", None, None, SURV + ["--draws", "0"], ["--draws", "got 0"]),
    ("horizon 0", None, None, SURV + ["--horizon", "0"], ["--horizon", "got 0"]),
    ("horizon huge", None, None, SURV + ["--horizon", "100000"], ["--horizon"]),
    ("arpa -1", None, None, SURV + ["--arpa", "-1"], ["--arpa", "> 0"]),
    ("arpa nan", None, None, SURV + ["--arpa", "nan"], ["--arpa", "finite"]),
    ("gross margin 2", None, None, SURV + ["--gross-margin", "2"], ["--gross-margin", "(0, 1]"]),
    ("at -1", None, None, SURV + ["--at", "-1"], ["--at", "≥ 0"]),
    ("at not a number", None, None, SURV + ["--at", "3,x"], ["--at"]),
    ("discount rate negative", None, None, SURV + ["--discount-rate", "-0.1"], ["--discount-rate"]),
    ("discount rate inf", None, None, SURV + ["--discount-rate", "inf"], ["--discount-rate", "finite"]),
    ("periods per year 0", None, None, SURV + ["--periods-per-year", "0"], ["--periods-per-year"]),
    ("expansion rate -1", None, None, SURV + ["--expansion-rate", "-1"], ["--expansion-rate"]),
    ("cohort size 0", None, None, SURV + ["--cohort-size", "0"], ["--cohort-size"]),
    ("seed -1", None, None, SURV + ["--seed", "-1"], ["--seed"]),
    ("backtest periods 0", None, None, SURV + ["--backtest-periods", "0"], ["--backtest-periods"]),
    ("unknown model", None, None, SURV + ["--models", "prophet"], ["--models", "prophet", "unknown model"]),
    ("empty models", None, None, SURV + ["--models", ","], ["--models"]),
    ("horizon not an int", None, None, SURV + ["--horizon", "ten"], ["--horizon"]),
    ("too many draw-periods", None, None, SURV + ["--draws", "100000", "--horizon", "1200"],
     ["--draws", "--horizon"]),
    ("too many --at tenures", None, None, SURV + ["--at", ",".join(str(i) for i in range(60))], ["--at", "at most"]),
    # ---- the output folder
    ("out is a file", None, None, SURV, None),
    ("out under /proc", None, None, SURV, None),
    ("out holds other files", None, None, SURV, None),
    ("out contains the data", "t.csv", GOOD, CUSTOMER, None),
]


def _special(label: str, tmp_path: Path, data: Path | None, out: Path):
    """argv and names for the cases whose file or --out cannot be written in the table."""
    if label == "account entry before start":
        data.write_bytes(_parquet_accounts())
        frame = pd.read_parquet(data)
        frame.loc[2, "entry"] = 10.0  # start 20
        frame.to_parquet(data)
        return [str(data)], ["column 'entry', row 3", "before start"], out
    if label == "out is a file":
        target = tmp_path / "result.txt"
        target.write_text("not a folder")
        return [*SURV], ["--out", str(target), "not a folder"], target
    if label == "out under /proc":
        return [*SURV], ["--out", "/proc/x"], Path("/proc/x")
    if label == "out holds other files":
        target = tmp_path / "home"
        target.mkdir()
        (target / "thesis.tex").write_text("precious")
        return [*SURV], ["--out", "thesis.tex", "new or empty folder"], target
    if label == "out contains the data":
        return [str(data), *CUSTOMER], ["--out", "holds the input"], tmp_path
    raise AssertionError(label)


def _previous_output(out: Path) -> None:
    """A previous complete output (as far as the check goes: forecast.json plus a sentinel)."""
    out.mkdir(parents=True)
    (out / "forecast.json").write_text('{"previous": true}\n')
    (out / "sentinel.txt").write_text("previous run\n")


@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, capsys, case):
    label, name, content, argv, names = CASES[case]
    data = None
    if name is not None:
        data = tmp_path / name.rstrip("/")
        if name.endswith("/"):
            data.mkdir()
        elif content is not None and content != "accounts":
            data.write_bytes(_bytes(content))
    elif label == "missing file":
        data = tmp_path / "nowhere.csv"
    out = tmp_path / "out"
    if case % 2 == 0:
        _previous_output(out)  # must survive byte for byte
    if names is None:
        argv, names, out = _special(label, tmp_path, data, out)
        full = ["forecast", *argv, "--out", str(out)]
    else:
        full = ["forecast", *([str(data)] if data is not None else []), *argv, "--out", str(out)]
    names = [n.replace("{data}", str(data)).replace("{out}", str(out)) for n in names]
    line = assert_bad_input(capsys, full, out, names)
    assert "unexpected" not in line


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


# ---------------------------------------------------------------------------- clean runs


def _strict_json(path: Path) -> dict:
    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_clean_small_table_is_silent_and_strict(tmp_path, capsys):
    data = tmp_path / "clean.csv"
    data.write_text(GOOD)
    out = tmp_path / "out"
    capsys.readouterr()
    status = main(["forecast", str(data), *CUSTOMER, "--draws", "100", "--horizon", "12", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.err == ""
    result = _strict_json(out / "forecast.json")
    assert {"exponential", "weibull"} <= set(result["models"])
    # The 8 customers show no heterogeneity: the contract models degenerate, and say so.
    sbg = result["models"]["sbg"]
    assert sbg["degenerate"]
    assert sbg["parameters"]["alpha_"]["lower_95"] is None
    assert all(row["lower"] is None for row in result["projections"]["survival"]["sbg"][1:])
    report = (out / "report.md").read_text()
    assert "Degenerate fit" in report
    assert staging_leftovers(out) == []


def test_clean_cohort_run_is_silent_and_strict(tmp_path, capsys):
    out = tmp_path / "out"
    capsys.readouterr()
    status = main(["forecast", "--survivors", "1000,869,743,653,593,551,517,491", "--survivors", "800,600,480,400",
                   "--draws", "100", "--horizon", "12", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.err == ""
    result = _strict_json(out / "forecast.json")
    assert set(result["models"]) == {"sbg", "bdw"}
    assert result["models"]["sbg"]["degenerate"] is None


def test_report_is_for_people(tmp_path, capsys):
    data = tmp_path / "clean.csv"
    data.write_text(GOOD)
    out = tmp_path / "out"
    assert main(["forecast", str(data), *CUSTOMER, "--draws", "100", "--horizon", "12", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert not re.search(r"\d\.\d{5,}", report), re.search(r".*\d\.\d{5,}.*", report).group(0)
    for internal in ("alpha_", "beta_", "lambda_", "rho_", "sigma_", "mu_"):
        assert f"| {internal}" not in report
    assert "shape ρ" in report and "scale α (median tenure)" in report


def test_numerical_warnings_become_notes(tmp_path, capsys):
    # A covariate equal to the churn flag separates perfectly: its Cox coefficient runs off to
    # infinity (kept, as R's coxph keeps it, with no standard error) and statsmodels warns.
    rng = np.random.default_rng(2)
    n = 60
    frame = pd.DataFrame({"months": rng.integers(1, 12, n), "churned": rng.integers(0, 2, n)})
    frame["flag"] = frame["churned"]
    data = tmp_path / "sep.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    capsys.readouterr()
    status = main(["forecast", str(data), *CUSTOMER, "--covariates", "flag", "--models", "exponential,weibull",
                   "--draws", "100", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.err == ""
    result = _strict_json(out / "forecast.json")
    assert result["cox"]["at_bound"] == {"flag": "+∞"}
    assert result["cox"]["coefficients"]["flag"]["se"] is None
    assert any(note.startswith("cox: the coefficient of flag runs off to +∞") for note in result["notes"])
    assert any(w["model"] == "cox" and w["count"] >= 1 for w in result["numerical_warnings"])
    assert "cox (fit):" in (out / "report.md").read_text()


def test_geometric_cohort_is_degenerate_not_an_error(tmp_path, capsys):
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["forecast", "--survivors", "1000,500,250,125", "--draws", "100", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    result = _strict_json(out / "forecast.json")
    assert "one churn probability of 0.5" in result["models"]["sbg"]["degenerate"]
    assert result["projections"]["ltv"]["sbg"]["lower"] is None


# ---------------------------------------------------------------------------- atomic outputs


def test_late_failure_leaves_previous_output(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    argv = ["forecast", "--survivors", "1000,631,468,382,326", "--draws", "100", "--horizon", "6", "--out", str(out)]
    assert main(argv) == 0
    (out / "extra.txt").write_text("kept with the previous output")
    before = snapshot(out)

    from csim.forecast import plots

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(plots, "plot_projection", broken)
    capsys.readouterr()
    status = main(argv + ["--horizon", "12"])
    err = capsys.readouterr().err
    assert status == 1 and "disk on fire" in err and "Traceback" not in err
    assert snapshot(out) == before
    assert staging_leftovers(out) == []


def test_late_failure_without_previous_output_writes_nothing(tmp_path, capsys, monkeypatch):
    from csim.forecast import plots

    monkeypatch.setattr(plots, "plot_projection", lambda *a, **k: 1 / 0)
    out = tmp_path / "new"
    assert main(["forecast", "--survivors", "1000,631,468,382", "--draws", "100", "--out", str(out)]) == 1
    assert not out.exists()
    assert staging_leftovers(out) == []


def test_rerun_replaces_previous_output_whole(tmp_path, capsys):
    out = tmp_path / "out"
    _previous_output(out)
    assert main(["forecast", "--survivors", "1000,631,468,382", "--draws", "100", "--out", str(out)]) == 0
    assert not (out / "sentinel.txt").exists()
    assert "previous" not in _strict_json(out / "forecast.json")


# ---------------------------------------------------------------------------- help


def test_help_is_plain_text_and_complete(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["forecast", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text
    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    forecast = sub.choices["forecast"]
    undocumented = [a.option_strings or [a.dest] for a in forecast._actions if not a.help]
    assert undocumented == []
    from csim.forecast.data import MIN_CUSTOMERS

    assert f"at least {MIN_CUSTOMERS} customers" in text
