"""On a small real sweep the expected directions hold, with intervals; discovery and the report say so."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from csim.cli import main
from csim.metrics.intervals import t_interval
from csim.sweep.analyze import discovery_sentence, winning_region

from .conftest import SCENARIOS

REPS = 4
HEADCOUNTS = (1, 2, 4)
CHURN = (0.1, 0.4)


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    """renewal_focus on a 400-account book for 24 months: headcount × SMB churn, 4 replications."""
    out = tmp_path_factory.mktemp("directions") / "sweep"
    args = ["sweep", str(SCENARIOS / "renewal_focus.toml"), "--param", "horizon_months=24",
            "--param", "initial_book.customers=400", "--param", "acquisition.leads_per_month=100",
            "--param", "cs_team.headcount=" + ",".join(map(str, HEADCOUNTS)),
            "--param", "segments.smb.annual_churn=" + ",".join(map(str, CHURN)),
            "--design", "grid", "--reps", str(REPS), "--seed", "17", "--out", str(out), "--no-progress",
            "--metric", "nrr_t12_window"]
    assert main(args) == 0
    return out, pd.read_parquet(out / "results.parquet")


def _paired(results, metric, where_a, where_b):
    """t-interval over replications of metric(b) − metric(a), a and b two points (common random numbers)."""
    def at(where):
        rows = results
        for key, value in where.items():
            rows = rows[rows[key] == value]
        return rows.set_index("replication")[metric].sort_index()
    return t_interval((at(where_b) - at(where_a)).to_numpy())


def test_more_csms_never_raise_the_mean_touch_wait(grid_sweep):
    _, results = grid_sweep
    for churn in CHURN:
        for small, large in zip(HEADCOUNTS, HEADCOUNTS[1:]):
            d = _paired(results, "mean_touch_wait_days", {"cs_team.headcount": small, "segments.smb.annual_churn": churn},
                        {"cs_team.headcount": large, "segments.smb.annual_churn": churn})
            assert d.low <= 0, (churn, small, large, d)  # never significantly higher
        # From one CSM to two the wait falls, and the interval says so.
        d = _paired(results, "mean_touch_wait_days", {"cs_team.headcount": 1, "segments.smb.annual_churn": churn},
                    {"cs_team.headcount": 2, "segments.smb.annual_churn": churn})
        assert d.high < 0, d


def test_higher_base_churn_lowers_nrr(grid_sweep):
    out, results = grid_sweep
    for headcount in HEADCOUNTS:
        d = _paired(results, "nrr_t12_window", {"cs_team.headcount": headcount, "segments.smb.annual_churn": CHURN[0]},
                    {"cs_team.headcount": headcount, "segments.smb.annual_churn": CHURN[1]})
        assert d.high < 0, (headcount, d)
    indices = pd.read_csv(out / "indices.csv")
    row = indices[(indices["metric"] == "nrr_t12_window") & (indices["parameter"] == "segments.smb.annual_churn")].iloc[0]
    assert row["method"] == "SRC" and row["ci_high"] < 0


def test_the_report_answers_the_three_questions_in_its_first_paragraph(grid_sweep):
    out, _ = grid_sweep
    report = (out / "report.md").read_text()
    first = report.split("\n\n")[1]
    assert first.startswith("**Which lever matters most?** On net revenue retention (trailing 12 months, "
                            "averaged over the last year): **segments.smb.annual_churn** (SRC -")
    assert "**How many CSMs?**" in first and "cs_team.headcount" in first
    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis["levers"][0]["parameter"] == "segments.smb.annual_churn"
    assert analysis["team"]["best"]["renewal_focus"]["level"] in HEADCOUNTS
    for figure in ("tornado.png", "heatmap.png", "team_sizing.png", "pareto.png"):
        assert (out / figure).stat().st_size > 1000
    # analyze again with another metric: same inputs, new answer, no recomputation.
    tasks = sorted(p.stat().st_mtime_ns for p in (out / "tasks").iterdir())
    assert main(["sweep", "analyze", str(out), "--metric", "mean_touch_wait_days"]) == 0
    assert json.loads((out / "analysis.json").read_text())["metric"] == "mean_touch_wait_days"
    assert sorted(p.stat().st_mtime_ns for p in (out / "tasks").iterdir()) == tasks


def test_discovery_finds_where_the_versus_scenario_wins_on_a_known_region():
    # A synthetic sweep outcome: the paired difference is positive with a tight interval exactly where
    # headcount >= 6 and churn <= 0.25, and straddles zero elsewhere.
    rng = np.random.default_rng(8)
    n = 400
    head = rng.integers(1, 13, n)
    churn = rng.uniform(0.1, 0.4, n)
    wins = (head >= 6) & (churn <= 0.25)
    mean = np.where(wins, 1.0, 0.0)
    points = pd.DataFrame({"point": np.arange(n), "cs_team.headcount": head, "segments.smb.annual_churn": churn,
                           "scenario": "difference", "ending_arr": mean, "ending_arr_low": mean - 0.5,
                           "ending_arr_high": mean + 0.5})
    labels = {"base": "renewal_focus", "versus": "expansion_focus"}
    found = winning_region(points, ["cs_team.headcount", "segments.smb.annual_churn"], "ending_arr", labels)
    assert found["wins"] == wins.sum() and found["loses"] == 0
    box = found["boxes"][0]
    assert box.limits["cs_team.headcount"][0] == 6 and box.limits["segments.smb.annual_churn"][1] == pytest.approx(0.25, abs=0.01)
    assert box.density == 1.0 and box.coverage >= 0.9
    sentence = discovery_sentence(found, labels, "ending_arr")
    assert sentence.startswith(f"expansion_focus beats renewal_focus on ending ARR (its 95 % interval excludes zero) at {wins.sum()} of 400 points")
    assert "It stops winning on ending ARR when cs_team.headcount < 6 or segments.smb.annual_churn > 0.2" in sentence
