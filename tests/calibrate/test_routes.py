"""The customer-table and cohort routes, the messy ledger and the command line's one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from csim.cli import main
from tests.bad_input import assert_bad_input

ROOT = Path(__file__).resolve().parents[2]
BASE = str(ROOT / "scenarios" / "baseline.toml")
MESSY = str(ROOT / "tests" / "data" / "messy_ledger.csv")
MESSY_COLUMNS = ("customer_id=account,subscription_id=sub,start_date=begins,end_date=ends,monthly_amount=mrr,"
                 "currency=cur")
#: Fader & Hardie (2007), "regular" customers: survivors of 1000 after each of 7 yearly renewals.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def _calibrate(argv, capsys=None) -> int:
    status = main(["calibrate", *map(str, argv)])
    if capsys is not None:
        capsys.readouterr()
    return status


def test_customer_table_with_known_geometric_churn(tmp_path, capsys):
    """Two segments with monthly churn 3 % and 8 % and log-normal MRR: recovered within 3 standard errors.

    Direct estimates (--check-reps 0: a customer table drawn outside the engine has no health to
    adjust for). Monthly churn q̂ = churns / months faced, standard error √(q(1 − q)/months faced);
    the log-median MRR has standard error σ̂/√n.
    """
    rng = np.random.default_rng(11)
    truth = {"a": (0.03, 200.0), "b": (0.08, 900.0)}
    rows = []
    for name, (q, median) in truth.items():
        n = 500
        churn_month = rng.geometric(q, n)           # month of churn, ≥ 1
        observed = rng.integers(1, 37, n)           # months since the start at the export
        rows.append(pd.DataFrame({"tenure": np.minimum(churn_month, observed),
                                  "churned": (churn_month <= observed).astype(int), "plan": name,
                                  "mrr": np.round(median * np.exp(0.5 * rng.standard_normal(n)), 2)}))
    table = pd.concat(rows, ignore_index=True)
    table.to_csv(tmp_path / "customers.csv", index=False)
    out = tmp_path / "fitted.toml"
    assert _calibrate([tmp_path / "customers.csv", "--duration", "tenure", "--event", "churned", "--segment", "plan",
                       "--mrr", "mrr", "--out", out, "--base", BASE, "--check-reps", 0], capsys) == 0
    result = json.loads((tmp_path / "fitted.calibration.json").read_text())
    for name, (q, median) in truth.items():
        e = result["segments"][name]["estimates"]
        assert e["term_months"]["value"] == 1
        mine = table[table["plan"] == name]
        months_faced = float(mine["tenure"].sum())
        monthly = 1.0 - (1.0 - e["annual_churn"]["value"]) ** (1.0 / 12.0)
        assert abs(monthly - q) <= 3 * math.sqrt(q * (1 - q) / months_faced), (name, monthly)
        m = e["mrr_median"]
        assert abs(math.log(m["value"] / median)) <= 3 * m["details"]["log_mean_se"], (name, m["value"])
    # A customer table says nothing of expansion: kept from the base, and said so.
    text = out.read_text()
    assert "expansion_rate = 0.3 # from base: assumption (not in a customer table)" in text


def test_cohorts_give_the_engine_the_published_sbg(tmp_path, capsys):
    """The "regular" cohort's sBG goes to the engine as it is: churn_concentration = α + β and, with
    12-month periods, annual_churn = α/(α + β), a new account's mean churn per renewal. The
    homogeneous equivalent is recorded too: the constant per-renewal probability whose survival
    over the 7 observed renewals equals the sBG's, 1 − S(7)^(1/7)."""
    from csim.forecast import ShiftedBetaGeometric

    out = tmp_path / "cohort.toml"
    assert _calibrate(["--survivors", ",".join(map(str, REGULAR)), "--segment", "mid", "--period-months", 12,
                       "--out", out, "--base", BASE, "--check-reps", 0], capsys) == 0
    e = json.loads((tmp_path / "cohort.calibration.json").read_text())["segments"]["mid"]["estimates"]
    sbg = ShiftedBetaGeometric().fit_survivors(REGULAR)
    assert e["annual_churn"]["details"]["model"] == "sbg"
    assert abs(e["annual_churn"]["value"] - sbg.alpha_ / (sbg.alpha_ + sbg.beta_)) < 1e-9
    assert abs(e["churn_concentration"]["value"] - (sbg.alpha_ + sbg.beta_)) < 1e-9
    implied = 1.0 - float(sbg.survival(7)) ** (1.0 / 7.0)
    assert abs(e["annual_churn"]["details"]["equivalent_constant_annual_churn"] - implied) < 1e-9
    assert e["term_months"]["value"] == 12
    text = out.read_text()
    assert f"alpha = {sbg.alpha_:.3g}, beta = {sbg.beta_:.3g}" in text
    # The base's other segments are left as they are.
    assert "annual_churn = 0.3 # from base: assumption (not in survivor counts)" in text


def test_the_messy_ledger_calibrates_and_counts_skipped_rows(tmp_path, capsys):
    out = tmp_path / "messy.toml"
    assert _calibrate([MESSY, "--columns", MESSY_COLUMNS, "--as-of", "2024-12-31", "--skip-bad-rows", "--out", out,
                       "--base", BASE, "--check-reps", 2]) == 0
    printed = capsys.readouterr().out
    assert "2 skipped" in printed
    result = json.loads((tmp_path / "messy.calibration.json").read_text())
    assert result["input"]["rows"] == 9 and result["input"]["rows_skipped"] == 2
    assert "2 skipped (first: column 'begins' row 8" in out.read_text()
    # Four customers: churn cannot be fitted anywhere, and the file says so instead of guessing.
    for segment in result["segments"].values():
        assert segment["estimates"]["annual_churn"]["source"].startswith("from base: assumption")
    check = pd.DataFrame(result["check"])
    assert (check["low"] >= 0).all()
    assert (check.loc[check["metric"].str.startswith("retention_"), "high"] <= 1).all()


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "never.toml"
    (tmp_path / "quiet.csv").write_text("t,e\n1,0\n2,0\n3,0\n4,0\n5,0\n6,0\n")
    cases = [
        ([MESSY, "--out", out], ["messy_ledger.csv", "column 'customer_id'", "missing", "--columns"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--as-of", "2024-13-45", "--out", out], ["--as-of", "2024-13-45"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--out", tmp_path / "never.txt"], ["--out", ".toml"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--out", BASE, "--base", BASE], ["--out", "is the base scenario"]),
        ([tmp_path / "quiet.csv", "--duration", "t", "--event", "e", "--out", out], ["quiet.csv", "column 'e'",
                                                                                     "no churn events"]),
        ([MESSY, "--survivors", "1000,800", "--out", out], ["give either INPUT or --survivors"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--mrr", "mrr", "--out", out], ["--mrr", "customer table"]),
        (["--survivors", "1000,800", "--out", out], ["--segment", "smb, mid, enterprise"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--out", out, "--check-reps", "-1"], ["--check-reps"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--skip-bad-rows", "--holdout-from", "2024-06-15", "--out", out],
         ["--holdout-from", "2024-06-15", "first day of a month"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--skip-bad-rows", "--holdout-from", "2024-01-01", "--out", out],
         ["--holdout-from", "no history before it"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--skip-bad-rows", "--holdout-from", "2024-10-01", "--out", out],
         ["--holdout-from", "no whole month after it", "2024-09-30"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--holdout-from", "2024-06-01", "--as-of", "2024-09-01", "--out", out],
         ["--holdout-from", "--as-of"]),
        ([MESSY, "--columns", MESSY_COLUMNS, "--holdout-from", "2024-06-01", "--check-reps", "0", "--out", out],
         ["--holdout-from", "--check-reps"]),
        ([tmp_path / "quiet.csv", "--duration", "t", "--event", "e", "--holdout-from", "2024-06-01", "--out", out],
         ["--holdout-from", "ledger"]),
    ]
    for argv, names in cases:
        argv = ["calibrate", *map(str, argv)]
        if "--base" not in argv:
            argv += ["--base", BASE]
        assert_bad_input(capsys, argv, out, names)
    assert not out.exists() and not (tmp_path / "never.calibration.json").exists()


def test_monthly_plans_with_heterogeneous_churn_get_the_sbg(tmp_path, capsys):
    """Monthly plans whose customers each have their own monthly churn, Beta(0.8, 6) across them:
    the sBG on months is chosen over the geometric model and goes to the engine as it is
    (churn_concentration = α + β of the library's fit on the same months), and the adjustment by
    simulation moves only the mean. The truth lies within 3 standard errors of the fitted α and β
    (the fit's own, from 2,000 customers)."""
    from csim.forecast import ShiftedBetaGeometric

    rng = np.random.default_rng(3)
    n, truth = 2000, {"alpha_": 0.8, "beta_": 6.0}
    churn_month = rng.geometric(rng.beta(truth["alpha_"], truth["beta_"], n))
    window = rng.integers(1, 25, n)
    tenure, churned = np.minimum(churn_month, window), churn_month <= window
    pd.DataFrame({"tenure": tenure, "churned": churned.astype(int)}).to_csv(tmp_path / "monthly.csv", index=False)
    out = tmp_path / "monthly.toml"
    assert _calibrate([tmp_path / "monthly.csv", "--duration", "tenure", "--event", "churned", "--out", out,
                       "--base", BASE, "--check-reps", 4, "--seed", 5], capsys) == 0
    e = json.loads((tmp_path / "monthly.calibration.json").read_text())["segments"]["all"]["estimates"]
    details = e["annual_churn"]["details"]
    assert details["model"] == details["best_model"] == "sbg"
    assert [c["model"] for c in details["candidates"]] == ["geometric", "sbg", "discrete_hazard"]
    sbg = ShiftedBetaGeometric().fit(durations=tenure, events=churned)
    assert abs(e["churn_concentration"]["value"] - (sbg.alpha_ + sbg.beta_)) < 1e-9
    mean = sbg.alpha_ / (sbg.alpha_ + sbg.beta_)
    assert abs(details["direct_annual_churn"] - (1 - (1 - mean) ** 12)) < 1e-9
    assert "adjusted by simulation" in e["annual_churn"]["source"]  # the mean moved; the concentration did not
    summary = sbg.summary
    for name, value in truth.items():
        assert abs(value - summary.loc[name, "estimate"]) <= 3 * summary.loc[name, "se"], (name, summary)
    assert "churn_concentration = " in out.read_text()


def test_reactivation_share_and_wait():
    """The mixture model recovers a known share and wait; with too few returns to tell the wait, the
    base's wait is kept and only the share fitted (the joint fit would send the share to 1 with an
    endless wait, and the engine would bring every churned customer back).

    400 churns, a share p = 0.2 coming back after an exponential wait of 100 days, watched 0–700 days.
    Tolerances: 3 standard errors of (logit p, log μ) from the observed information (the numerical
    Hessian of the same log-likelihood at the estimate), since share and wait are estimated together.
    """
    from scipy.special import expit

    from csim.calibrate.fit import fit_reactivation

    rng = np.random.default_rng(1)
    window = rng.uniform(0, 700, 400)
    wait = rng.exponential(100.0, 400)
    back = (rng.random(400) < 0.2) & (wait < window)
    p, _, days = fit_reactivation(wait[back], window[~back], (0.05, 0.2), 120.0)
    assert days.fitted

    def loglik(x):
        share, rate = expit(x[0]), math.exp(-x[1])
        return (back.sum() * math.log(share) + np.sum(math.log(rate) - rate * wait[back])
                + np.sum(np.log1p(share * np.expm1(-rate * window[~back]))))

    x = np.array([math.log(p.value / (1 - p.value)), math.log(days.value)])
    h = 1e-4
    hessian = np.array([[(loglik(x + h * (np.eye(2)[i] + np.eye(2)[j])) - loglik(x + h * (np.eye(2)[i] - np.eye(2)[j]))
                          - loglik(x - h * (np.eye(2)[i] - np.eye(2)[j])) + loglik(x - h * (np.eye(2)[i] + np.eye(2)[j])))
                         / (4 * h * h) for j in range(2)] for i in range(2)])
    se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    assert abs(x[0] - math.log(0.2 / 0.8)) <= 3 * se[0], (p.value, se)
    assert abs(x[1] - math.log(100.0)) <= 3 * se[1], (days.value, se)
    two = back & (np.cumsum(back) <= 2)
    p, _, days = fit_reactivation(wait[two], window[~two], (0.05, 0.2), 120.0)
    assert not days.fitted and days.value == 120.0 and "too few" in days.source
    # Two returns among ~400 churned customers watched for a year on average: a share near 2/400, not 1.
    assert 0 < p.value < 0.05 and "base's mean wait of 120 days" in p.source
