"""``csim forecast`` end to end on the three inputs, and one-line errors for bad data."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from csim.cli import main


@pytest.fixture(scope="module")
def customer_csv(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 400
    size = rng.choice(["smb", "mid", "ent"], n)
    csat = rng.integers(5, 11, n)
    tenure = np.ceil(8 * rng.weibull(1.1, n) * np.exp(0.15 * (csat - 8)))
    censor = np.ceil(rng.uniform(0, 24, n))
    frame = pd.DataFrame({"months": np.minimum(tenure, censor), "churned": (tenure <= censor).astype(int),
                          "size": size, "csat": csat})
    path = tmp_path_factory.mktemp("data") / "customers.csv"
    frame.to_csv(path, index=False)
    return path


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_customer_table_outputs(customer_csv, tmp_path, capsys):
    out = tmp_path / "out"
    status, _, err = run([
        "forecast", str(customer_csv), "--duration", "months", "--event", "churned", "--covariates", "size,csat",
        "--reference", "size=smb", "--group", "size", "--horizon", "12", "--at", "3,6", "--draws", "200", "--out", str(out)],
        capsys)
    assert status == 0, err
    result = json.loads((out / "forecast.json").read_text())
    # Whole-month tenures: the discrete-time hazard model is fitted too.
    assert set(result["models"]) == {"exponential", "weibull", "lognormal", "loglogistic", "sbg", "bdw", "discrete_hazard"}
    assert [row["t"] for row in result["kaplan_meier"]["at"]] == [3.0, 6.0]
    assert result["cox"]["ties"] == "efron"
    assert set(result["cox"]["coefficients"]) == {"size[ent]", "size[mid]", "csat"}
    assert result["cox"]["encoding"]["size"]["reference"] == "smb"
    assert result["groups"]["log_rank"][0]["test"] == "logrank"
    assert "backtest" in result["model_choice"]
    survival = pd.read_csv(out / "survival.csv")
    assert {"kaplan_meier", "weibull", "sbg"} <= set(survival["source"])
    for name in ("report.md", "survival.png", "projection.png", "customers.png", "hazard_ratios.png", "groups.png"):
        assert (out / name).stat().st_size > 0


def test_survivor_counts(tmp_path, capsys):
    out = tmp_path / "cohort"
    status, _, err = run(["forecast", "--survivors", "1000,869,743,653,593,551,517,491",
                          "--survivors", "800,600,480,400", "--horizon", "12", "--draws", "200", "--out", str(out)], capsys)
    assert status == 0, err
    result = json.loads((out / "forecast.json").read_text())
    assert set(result["models"]) == {"sbg", "bdw"}
    assert set(result["projections"]["per_cohort"]["sbg"]) == {"cohort 1", "cohort 2"}


def test_cohort_table_file(tmp_path, capsys):
    path = tmp_path / "cohorts.csv"
    path.write_text("cohort,p0,p1,p2,p3,p4\n2024-01,1000,631,468,382,326\n2024-02,900,580,430,,\n")
    status, _, err = run(["forecast", str(path), "--cohorts", "--draws", "100", "--out", str(tmp_path / "o")], capsys)
    assert status == 0, err
    result = json.loads((tmp_path / "o" / "forecast.json").read_text())
    assert [c["label"] for c in result["input"]["cohorts"]] == ["2024-01", "2024-02"]
    assert result["input"]["cohorts"][1]["survivors"] == [900.0, 580.0, 430.0]


def test_subscription_table(tmp_path, capsys):
    path = tmp_path / "subs.csv"
    rows = ["customer_id,start_date,end_date,plan"]
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2023-01-01")
    for i in range(150):
        s = start + pd.Timedelta(days=int(rng.integers(0, 365)))
        months = rng.exponential(10)
        e = s + pd.Timedelta(days=int(months * 30.4))
        end = "" if e > pd.Timestamp("2024-06-30") else e.date().isoformat()
        rows.append(f"c{i},{s.date()},{end},{'pro' if i % 2 else 'basic'}")
    rows.append("c0,2024-08-01,,pro")  # starts after the as-of date: ignored
    path.write_text("\n".join(rows) + "\n")
    status, _, err = run(["forecast", str(path), "--as-of", "2024-06-30", "--group", "plan", "--models", "weibull,exponential",
                          "--draws", "100", "--out", str(tmp_path / "o")], capsys)
    assert status == 0, err
    result = json.loads((tmp_path / "o" / "forecast.json").read_text())
    assert result["input"]["customers"] == 150
    assert any("after the as-of date" in note for note in result["notes"])


def test_simulated_account_table(tmp_path, capsys):
    rng = np.random.default_rng(5)
    n = 300
    start = rng.uniform(-720, 700, n)
    end = np.minimum(start + rng.exponential(400, n), 730.0)
    keep = end > 0  # accounts that churned before day 0 are never recorded
    frame = pd.DataFrame({"replication": 0, "account": np.arange(n), "segment": rng.integers(0, 2, n),
                          "channel": rng.integers(0, 3, n), "icp_fit": rng.uniform(size=n) < 0.7,
                          "start": start, "entry": np.maximum(start, 0.0), "end": end, "churned": end < 730.0,
                          "first_value": rng.uniform(size=n) < 0.5})[keep]
    path = tmp_path / "accounts.parquet"
    frame.to_parquet(path)
    status, _, err = run(["forecast", str(path), "--group", "first_value", "--models", "exponential,weibull",
                          "--draws", "100", "--out", str(tmp_path / "o")], capsys)
    assert status == 0, err
    result = json.loads((tmp_path / "o" / "forecast.json").read_text())
    assert result["input"]["left_truncated"] > 0
    # Exponential tenure with mean 400 days: the rate must be recovered despite truncation.
    lam = result["models"]["exponential"]["parameters"]["lambda_"]
    assert lam["lower_95"] < 400 / 30.4375 < lam["upper_95"]


BAD_TABLES = [
    ("missing column", "months,churned\n3,1\n", ["--duration", "tenure", "--event", "churned"],
     "column 'tenure': missing (the table has: months, churned)"),
    ("non-numeric duration", "months,churned\n3,1\n4,0\nabc,1\n", ["--duration", "months", "--event", "churned"],
     "column 'months', row 3: not a number ('abc')"),
    ("negative duration", "months,churned\n3,1\n-2,0\n", ["--duration", "months", "--event", "churned"],
     "column 'months', row 2: negative duration (-2)"),
    ("event not 0/1", "months,churned\n3,1\n4,2\n", ["--duration", "months", "--event", "churned"],
     "column 'churned', row 2: event must be 0 or 1, got '2'"),
    ("empty duration", "months,churned\n3,1\n,0\n", ["--duration", "months", "--event", "churned"],
     "column 'months', row 2: empty value"),
    ("end before start", "customer_id,start_date,end_date\na,2024-01-01,2024-03-01\nb,2024-05-01,2024-02-01\n",
     ["--as-of", "2024-06-30"], "column 'end_date', row 2: end date 2024-02-01 is before start date 2024-05-01"),
    ("unparsable date", "customer_id,start_date,end_date\na,2024-01-01,2024-03-01\nb,next tuesday,\n",
     ["--as-of", "2024-06-30"], "column 'start_date', row 2: not a date ('next tuesday')"),
    ("increasing survivors", "cohort,p0,p1,p2\nA,1000,600,700\n", ["--cohorts"],
     "column 'p2', row 1: survivors increase from 600 to 700"),
]


@pytest.mark.parametrize("label, content, flags, message", BAD_TABLES, ids=[b[0] for b in BAD_TABLES])
def test_bad_data_is_one_line_and_exit_2(tmp_path, capsys, label, content, flags, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    status, out, err = run(["forecast", str(path), *flags, "--out", str(tmp_path / "o")], capsys)
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err == f"csim: error: {path}: {message}\n"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, message", [
    (["--survivors", "1000,abc,400"], "csim: error: --survivors: value 2: not a number ('abc')\n"),
    (["--survivors", "1000,1200"], "csim: error: --survivors: value 2: survivors increase from 1000 to 1200\n"),
    (["--as-of", "someday"], None),
])
def test_bad_command_line_values(tmp_path, capsys, customer_csv, argv, message):
    args = ["forecast", *argv, "--out", str(tmp_path / "o")]
    if argv[0] == "--as-of":
        args.insert(1, str(customer_csv))
        message = "csim: error: --as-of: not a date ('someday'); use YYYY-MM-DD\n"
    status, _, err = run(args, capsys)
    assert status == 2
    assert err == message


def test_table_of_unknown_shape_says_how_to_read_it(tmp_path, capsys):
    # A file that is neither a customer nor an account table: say how to read it.
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    status, _, err = run(["forecast", str(path), "--out", str(tmp_path / "o")], capsys)
    assert status == 2 and err.startswith(f"csim: error: {path}: say how to read it")


def test_monthly_table_with_covariates_gets_discrete_fit_choice_and_prediction_quality(tmp_path):
    """Whole-month tenures with a covariate: the discrete-time model is fitted and backtested, the
    report says which model to project with, and the Cox model is scored on held-out customers
    (cross-validated skill and AUC, calibration at each --at tenure)."""
    import json

    rng = np.random.default_rng(5)
    n = 600
    x = rng.integers(0, 2, n)
    months = np.ceil(rng.exponential(8.0 / np.exp(0.8 * x)))
    censor = rng.integers(6, 25, n)
    frame = pd.DataFrame({"months": np.minimum(months, censor), "churned": (months <= censor).astype(int), "x": x})
    data = tmp_path / "monthly.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    assert main(["forecast", str(data), "--duration", "months", "--event", "churned", "--covariates", "x",
                 "--at", "3,6,12", "--draws", "200", "--out", str(out)]) == 0
    result = json.loads((out / "forecast.json").read_text())
    assert "discrete_hazard" in result["models"]
    assert "discrete_hazard" in {row["model"] for row in result["model_choice"]["backtest"]["summary"]}
    use = result["model_choice"]["use_for_projection"]
    assert use["by"] == "backtest" and use["model"] == result["model_choice"]["backtest"]["summary"][0]["model"]
    quality = result["prediction_quality"]
    assert quality["folds"] == 5 and len(quality["per_fold"]) == 5
    # x raises the hazard by e^0.8: the model must beat Kaplan-Meier and rank better than chance.
    assert quality["brier_skill"] > 0 and quality["mean_auc"] > 0.55
    assert [row["t"] for row in quality["calibration"]["at"]] == [3.0, 6.0, 12.0]
    report = (out / "report.md").read_text()
    assert "**For projection use" in report and "## Prediction on held-out customers (Cox)" in report


def _help_of(option: str, text: str) -> str:
    """The help text of ``option`` in argparse's --help output, on one line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(option + " "))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("   ") or line.lstrip().startswith("-"):
            break
        block.append(line)
    return " ".join(" ".join(block).split())


def test_models_help_and_errors_come_from_the_registry(tmp_path, capsys):
    from csim.forecast.registry import MODELS, projection_models

    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    models_help = _help_of("--models", text)
    for name in MODELS:
        assert re.search(rf"(?<!\w){re.escape(name)}(?!\w)", models_help), f"{name} missing from: {models_help}"
    listing = text[text.index("\nModels:\n"):]
    for name, spec in MODELS.items():
        assert re.search(rf"^  {re.escape(name)} +{re.escape(spec.description)}$", listing, re.MULTILINE), name
    # A registered model that --models does not choose, and an unknown one: both list the choices.
    not_projected = next(name for name, spec in MODELS.items() if not spec.projects)
    for name in (not_projected, "prophet"):
        argv = ["forecast", "--survivors", "1000,600,400", "--models", name, "--out", str(tmp_path / "o")]
        status, _, err = run(argv, capsys)
        assert status == 2 and f"--models: {name}: " in err and ", ".join(projection_models()) in err
