"""``csim run`` end to end on a tiny scenario: every output file, provenance, resume from checkpoints."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import csim.engine.runner as runner
from csim.cli import main
from tests.engine.scenarios import TINY_TOML

SETS = ("--set", "cs_team.headcount=4", "--set", "segments.smb.annual_churn=0.2")
FILES = ("summary.json", "monthly.csv", "events.parquet", "accounts.parquet", "ledger.csv", "report.md", "scenario.json",
         "mrr.png", "mrr_movements.png", "customers.png", "nrr.png")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    scenario = root / "tiny.toml"
    scenario.write_text(TINY_TOML, encoding="utf-8")
    out = root / "out"
    status = main(["run", str(scenario), "--out", str(out), "--no-progress", "--keep-checkpoints", *SETS])
    return status, scenario, out


def test_run_writes_every_output(first_run):
    status, _, out = first_run
    assert status == 0
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for png in ("mrr.png", "mrr_movements.png", "customers.png", "nrr.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "monthly.csv")
    for col in ("replication", "month", "customers", "mrr", "new", "expansion", "contraction", "churn", "reactivation"):
        assert col in table.columns, col
    assert sorted(set(zip(table["replication"], table["month"]))) == [(r, m) for r in range(2) for m in range(3)]
    assert table["customers"].min() > 0
    events = pd.read_parquet(out / "events.parquet")
    accounts = pd.read_parquet(out / "accounts.parquet")
    assert set(events["replication"]) == {0, 1}
    initial = (accounts["channel"].astype(str) == "initial").groupby(accounts["replication"]).sum()
    assert initial.to_dict() == {0: 20, 1: 20}


def test_summary_carries_provenance(first_run):
    from csim import __version__
    from csim.scenario import load_scenario

    _, scenario, out = first_run
    summary = json.loads((out / "summary.json").read_text())
    prov = summary["provenance"]
    assert prov["package_version"] == __version__
    assert prov["scenario_hash"] == load_scenario(scenario, ["cs_team.headcount=4", "segments.smb.annual_churn=0.2"]).content_hash()
    assert prov["scenario_hash"] != load_scenario(scenario).content_hash()
    assert prov["seed"] == 11
    assert prov["replications"] == 2
    assert prov["horizon_months"] == 3


def test_set_overrides_reach_the_run(first_run):
    _, _, out = first_run
    used = json.loads((out / "scenario.json").read_text())
    assert used["cs_team"]["headcount"] == 4 and isinstance(used["cs_team"]["headcount"], int)
    assert used["segments"][0]["annual_churn"] == 0.2


def test_rerun_resumes_from_checkpoints(first_run, monkeypatch, capsys):
    status, scenario, out = first_run
    before = (out / "monthly.csv").read_bytes()
    assert len(list((out / ".replications").rglob("replication-*.npz"))) == 2

    def no_simulation(*args, **kwargs):
        raise AssertionError("a checkpointed replication was simulated again")

    checkpoints = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / ".replications").rglob("*.npz")}
    # The rerun must load both replications from .replications, never simulate (serial, so the
    # patched function is the one that would run).
    monkeypatch.setattr(runner, "simulate_replication", no_simulation)
    assert main(["run", str(scenario), "--out", str(out), "--no-progress", "--executor", "serial",
                 "--keep-checkpoints", *SETS]) == 0
    assert (out / "monthly.csv").read_bytes() == before
    # Checkpoints are read, not rewritten.
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / ".replications").rglob("*.npz")} == checkpoints


def test_partial_checkpoints_resume_to_the_same_result(first_run, tmp_path):
    _, scenario, out = first_run
    before = pd.read_csv(out / "monthly.csv")
    # Copy one of the two checkpoints into a fresh output directory, then run: one replication
    # loads, the other is simulated, and the table equals the uninterrupted run's.
    fresh = tmp_path / "fresh"
    src = next((out / ".replications").glob("*/replication-00001.npz"))
    dst = fresh / ".replications" / src.parent.name / src.name
    dst.parent.mkdir(parents=True)
    dst.write_bytes(src.read_bytes())
    assert main(["run", str(scenario), "--out", str(fresh), "--no-progress", *SETS]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(fresh / "monthly.csv"), before)


def test_the_run_pipeline_is_a_library_function(tmp_path):
    import csim
    from tests.engine.scenarios import scenario

    s = scenario(horizon_months=3)
    summary = csim.run_scenario(s, 2, 5, tmp_path / "run", executor="serial", progress=False)
    assert summary["replications"] == [0, 1] and summary["provenance"]["seed"] == 5
    for name in ("summary.json", "monthly.csv", "events.parquet", "accounts.parquet", "report.md", "scenario.json"):
        assert (tmp_path / "run" / name).exists(), name
    assert callable(csim.compare_scenarios)
    # Checkpoints go once the outputs are complete, unless kept.
    assert not (tmp_path / "run" / ".replications").exists()


def test_overrides_are_in_the_header_report_and_provenance(first_run, capsys, tmp_path):
    _, scenario, _ = first_run
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--no-progress", "--reps", "1", *SETS]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "with cs_team.headcount=4, segments.smb.annual_churn=0.2" in header
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["overrides"] == {"cs_team.headcount": 4, "segments.smb.annual_churn": 0.2}
    report = (out / "report.md").read_text()
    assert report.splitlines()[0].endswith("with cs_team.headcount=4, segments.smb.annual_churn=0.2")
    assert "| overrides | `cs_team.headcount=4, segments.smb.annual_churn=0.2` |" in report


def test_scenario_json_reproduces_the_run(first_run, tmp_path):
    """``csim run OUT/scenario.json`` gives the same numbers, with the run's seed and replications."""
    _, scenario, first = first_run
    out = tmp_path / "again"
    assert main(["run", str(first / "scenario.json"), "--out", str(out), "--no-progress"]) == 0
    a = json.loads((first / "summary.json").read_text())["metrics"]
    b = json.loads((out / "summary.json").read_text())["metrics"]
    assert {k: v["per_replication"] for k, v in a.items()} == {k: v["per_replication"] for k, v in b.items()}
    assert (first / "monthly.csv").read_bytes() == (out / "monthly.csv").read_bytes()


def test_output_files_follow_the_umask(tmp_path, first_run):
    import os

    _, scenario, _ = first_run
    old = os.umask(0o022)
    try:
        assert main(["run", str(scenario), "--out", str(tmp_path / "o"), "--no-progress", "--reps", "1"]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "o").iterdir()}
    assert set(modes.values()) == {0o644}, modes
    assert (tmp_path / "o").stat().st_mode & 0o777 == 0o755


def test_the_ledger_reproduces_the_mrr_path(first_run):
    """ledger.csv summed over the periods active at each month end is monthly.csv's MRR, to the cent."""
    from csim.ledger import LEDGER_COLUMNS, monthly_mrr_from_ledger

    _, _, out = first_run
    ledger = pd.read_csv(out / "ledger.csv")
    assert tuple(ledger.columns) == LEDGER_COLUMNS
    table = pd.read_csv(out / "monthly.csv").sort_values(["replication", "month"])
    rebuilt = monthly_mrr_from_ledger(ledger, int(table["month"].max()) + 1)
    assert (rebuilt["mrr"].to_numpy() - table["mrr"].to_numpy()).__abs__().max() < 0.005
    # Running periods have no end date; ended ones end on or after their start.
    running = ledger["end_date"].isna()
    assert running.sum() == ledger.loc[running, "customer_id"].groupby(ledger["replication"]).nunique().sum()
    ended = ledger[~running]
    assert (pd.to_datetime(ended["end_date"]) >= pd.to_datetime(ended["start_date"])).all()


def test_the_report_answers_first_and_says_what_it_rests_on(first_run):
    """report.md opens with the answer (with intervals), explains each headline metric, and lists
    the scenario's assumptions with their values here."""
    from csim.scenario import load_scenario
    from csim.scenario.reference import assumptions

    _, scenario, out = first_run
    report = (out / "report.md").read_text()
    sections = [line for line in report.splitlines() if line.startswith("## ")]
    assert sections[0] == "## In short" and "## What this rests on" in sections
    assert "interval" in report.split("## In short")[1].split("##")[0]
    assert "### What each metric means" in report and "`ending_arr`): 12 x ending MRR" in report
    rests = report.split("## What this rests on")[1].split("## ")[0]
    run = load_scenario(scenario, [SETS[1], SETS[3]])
    for key, value in assumptions(run):
        if not isinstance(value, str):
            assert f"`{key}` = " in rests, key


def test_every_scenario_file_lists_its_assumptions():
    """The run report's "What this rests on" reads every scenario of scenarios/ (segments of plays are names)."""
    from pathlib import Path

    from csim.scenario import load_scenario
    from csim.scenario.reference import assumptions

    files = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))
    assert len(files) >= 5
    for path in files:
        found = dict(assumptions(load_scenario(path)))
        assert "health.reviews_per_year" in found, path.name
