"""``csim forecast`` on a counting-process table (time-varying covariates) and with a churn-cause column.

The command must give the same Cox fit as the library on the checked rows (no second
implementation), count customers rather than rows, say why it does not score predictions of a
counting-process table, and add the competing-risks analysis when causes are named. Bad tables
stop with one line naming file, column and row (tests/bad_input.py).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from csim.cli import main
from csim.forecast import CoxPH
from csim.forecast.counting import counting_process
from tests.bad_input import assert_bad_input


@pytest.fixture(scope="module")
def counting_csv(tmp_path_factory):
    """Customers whose hazard rises e-fold when a 0/1 covariate switches on at a random month."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(600):
        switch, e = rng.exponential(8), rng.exponential()
        lam0 = 0.05
        t = e / lam0 if e / lam0 < switch else switch + (e - lam0 * switch) / (lam0 * np.e)
        censor = rng.uniform(6, 30)
        end, event = np.ceil(min(t, censor)), int(t <= censor)
        cut = np.ceil(switch)
        rows += [(i, 0, cut, 0, 0), (i, cut, end, event, 1)] if cut < end else [(i, 0, max(end, 1), event, 0)]
    frame = pd.DataFrame(rows, columns=["customer", "start", "stop", "churned", "switched"])
    path = tmp_path_factory.mktemp("cp") / "intervals.csv"
    frame.sample(frac=1, random_state=1).to_csv(path, index=False)
    return path


def test_a_counting_process_table_fits_time_varying_cox(counting_csv, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["forecast", str(counting_csv), "--duration", "stop", "--event", "churned", "--start", "start",
                   "--id", "customer", "--covariates", "switched", "--draws", "200", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    result = json.loads((out / "forecast.json").read_text())
    frame = pd.read_csv(counting_csv)
    assert result["input"]["customers"] == frame["customer"].nunique() == 600
    assert result["input"]["rows"] == len(frame) and result["input"]["counting_process"] is True
    # The same fit as the library on the checked rows.
    table = counting_process(frame, id="customer", start="start", stop="stop", event="churned",
                             covariates=["switched"])
    direct = CoxPH().fit(**table.cox_arguments())
    assert result["cox"]["coefficients"]["switched"]["coef"] == pytest.approx(float(direct.params_["switched"]),
                                                                              rel=1e-10)
    assert "prediction_quality" not in result
    assert any("prediction quality: not measured for a counting-process table" in n for n in result["notes"])


def test_counting_process_errors_name_file_column_and_row(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"customer": [1, 1, 2], "start": [0, 3, 0], "stop": [4, 8, 5], "churned": [0, 1, 1]}).to_csv(
        path, index=False)
    out = tmp_path / "out"
    message = assert_bad_input(capsys, ["forecast", str(path), "--duration", "stop", "--event", "churned", "--start",
                                        "start", "--id", "customer", "--out", str(out)], out)
    assert "bad.csv" in message and "column 'start', row 2" in message and "overlaps" in message
    message = assert_bad_input(capsys, ["forecast", str(path), "--duration", "stop", "--event", "churned", "--start",
                                        "start", "--out", str(out)], out)
    assert "--id" in message


@pytest.fixture(scope="module")
def causes_csv(tmp_path_factory):
    """Two causes: voluntary churn driven by x (log hazard ratio 0.5), failed payments not."""
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.normal(size=n)
    t1, t2, censor = rng.exponential(20 * np.exp(-0.5 * x)), rng.exponential(40, n), rng.uniform(0, 36, n)
    t = np.minimum.reduce([t1, t2, censor])
    cause = np.where(t == t1, "voluntary", np.where(t == t2, "failed payment", ""))
    path = tmp_path_factory.mktemp("causes") / "customers.csv"
    pd.DataFrame({"months": np.ceil(t), "churned": (cause != "").astype(int), "reason": cause,
                  "x": x.round(4)}).to_csv(path, index=False)
    return path


def test_a_cause_column_adds_cumulative_incidence_per_cause(causes_csv, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["forecast", str(causes_csv), "--duration", "months", "--event", "churned", "--cause", "reason",
                   "--covariates", "x", "--at", "6,12", "--draws", "200", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    result = json.loads((out / "forecast.json").read_text())
    cr = result["competing_risks"]
    assert [c["label"] for c in cr["causes"]] == ["voluntary", "failed payment"]  # largest cause first
    assert sorted({row["t"] for row in cr["cumulative_incidence"]}) == [6.0, 12.0]
    assert cr["sum_check"]["max_abs_difference"] < 1e-12
    # Shares by cause add up to all churn: 1 − KM at the same tenure.
    km12 = next(r for r in result["kaplan_meier"]["at"] if r["t"] == 12.0)["survival"]
    total = sum(r["cif"] for r in cr["cumulative_incidence"] if r["t"] == 12.0)
    assert total == pytest.approx(1.0 - km12, abs=1e-12)
    by_cause = {e["label"]: e for e in cr["cause_specific_cox"]["by_cause"]}
    hr = by_cause["voluntary"]["hazard_ratios"][0]
    assert hr["lower"] < np.exp(0.5) < hr["upper"]  # the true ratio inside the 95 % interval
    assert (out / "cumulative_incidence.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "## Churn by cause (competing risks)" in report and cr["headline"] in report
    assert not any(key.startswith("_") for key in cr)


def test_a_churned_row_without_a_cause_is_named(causes_csv, tmp_path, capsys):
    frame = pd.read_csv(causes_csv, keep_default_na=False)
    churned = np.flatnonzero(frame["churned"].to_numpy() == 1)
    frame.loc[churned[2], "reason"] = ""
    path = tmp_path / "gaps.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    message = assert_bad_input(capsys, ["forecast", str(path), "--duration", "months", "--event", "churned",
                                        "--cause", "reason", "--out", str(out)], out)
    assert "gaps.csv" in message and "reason" in message and f"row {churned[2] + 1}" in message
    message = assert_bad_input(capsys, ["forecast", "--survivors", "100,80,70", "--cause", "reason", "--out",
                                        str(out)], out)
    assert "--cause" in message


@pytest.fixture(scope="module")
def segments_csv(tmp_path_factory):
    """Monthly tenures of two segments, each an sBG world of its own (alpha, beta known)."""
    rng = np.random.default_rng(11)
    n = 3000
    segment = rng.choice(["smb", "mid"], n)
    p = rng.beta(np.where(segment == "smb", 1.0, 0.6), np.where(segment == "smb", 3.0, 5.0))
    tenure, censor = rng.geometric(p), rng.integers(1, 13, n)
    path = tmp_path_factory.mktemp("segments") / "customers.csv"
    pd.DataFrame({"months": np.minimum(tenure, censor), "churned": (tenure <= censor).astype(int), "segment": segment,
                  "csat": rng.integers(5, 11, n)}).to_csv(path, index=False)
    return path


def test_covariates_reach_the_contract_renewal_model(segments_csv, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["forecast", str(segments_csv), "--duration", "months", "--event", "churned", "--covariates",
                 "segment", "--draws", "200", "--out", str(out)]) == 0, capsys.readouterr().err
    result = json.loads((out / "forecast.json").read_text())
    levels = {row["profile"]: row for row in result["sbg_covariates"]["levels"]}
    assert list(levels) == ["segment = mid", "segment = smb"]
    for label, (alpha, beta) in {"segment = smb": (1.0, 3.0), "segment = mid": (0.6, 5.0)}.items():
        row = levels[label]
        assert row["alpha_lower"] < alpha < row["alpha_upper"] and row["beta_lower"] < beta < row["beta_upper"]
    assert "## Renewal behaviour by covariate" in (out / "report.md").read_text()


def test_strata_give_each_level_its_own_baseline(segments_csv, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["forecast", str(segments_csv), "--duration", "months", "--event", "churned", "--covariates", "csat",
                 "--strata", "segment", "--draws", "200", "--out", str(out)]) == 0, capsys.readouterr().err
    result = json.loads((out / "forecast.json").read_text())
    assert result["cox"]["strata"] == {"column": "segment", "levels": ["mid", "smb"]}
    frame = pd.read_csv(segments_csv)
    direct = CoxPH().fit(frame["months"], frame["churned"], covariates=frame[["csat"]],
                         strata=frame["segment"].to_numpy())
    assert result["cox"]["coefficients"]["csat"]["coef"] == pytest.approx(float(direct.params_["csat"]), rel=1e-10)
    assert "ph_test" in result and any("stratified Cox model" in n for n in result["notes"])
    message = assert_bad_input(capsys, ["forecast", str(segments_csv), "--duration", "months", "--event", "churned",
                                        "--covariates", "csat,segment", "--strata", "segment", "--out",
                                        str(tmp_path / "bad")], tmp_path / "bad")
    assert "--strata" in message and "segment" in message
