"""Sweeps give the same tables whatever runs them, and a killed sweep resumes without losing or redoing work."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from csim.cli import main

from .conftest import ROOT, sweep_args

SWEPT = ("cs_team.headcount=1:4", "segments.smb.annual_churn=0.1:0.4")
POINTS, REPS = 6, 2
TASKS = POINTS * REPS * 2


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "sweep"
    assert main(sweep_args(out, *SWEPT, points=POINTS, reps=REPS, executor="serial")) == 0
    return out


def _same_tables(a, b):
    for name in ("results.csv", "points.csv", "indices.csv", "team_sizing.csv", "discovery_points.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_parquet(a / "results.parquet"), pd.read_parquet(b / "results.parquet"),
                                  check_exact=True)


def test_results_have_one_row_per_point_scenario_and_replication(serial_run):
    results = pd.read_parquet(serial_run / "results.parquet")
    assert len(results) == POINTS * 3 * REPS  # base, versus and their paired difference
    assert list(results.columns[:7]) == ["point", "cs_team.headcount", "segments.smb.annual_churn", "scenario",
                                         "replication", "seed", "error"]
    assert set(results["scenario"]) == {"renewal_focus", "expansion_focus", "difference"}
    key = ["point", "replication"]
    base = results[results["scenario"] == "renewal_focus"].set_index(key)["ending_arr"]
    other = results[results["scenario"] == "expansion_focus"].set_index(key)["ending_arr"]
    diff = results[results["scenario"] == "difference"].set_index(key)["ending_arr"]
    pd.testing.assert_series_equal(diff, other - base, check_names=False)
    points = pd.read_csv(serial_run / "points.csv")
    assert len(points) == POINTS * 3 and (points["n"] == REPS).all()
    assert (points["ending_arr_low"] <= points["ending_arr"]).all() and (points["ending_arr"] <= points["ending_arr_high"]).all()


def test_local_processes_give_identical_tables(serial_run, tmp_path):
    out = tmp_path / "local"
    assert main(sweep_args(out, *SWEPT, points=POINTS, reps=REPS, executor="local") + ["--workers", "2"]) == 0
    _same_tables(serial_run, out)


def test_a_dask_local_cluster_gives_identical_tables(serial_run, tmp_path):
    out = tmp_path / "dask"
    assert main(sweep_args(out, *SWEPT, points=POINTS, reps=REPS, executor="dask") + ["--workers", "2"]) == 0
    _same_tables(serial_run, out)


def test_a_running_dask_scheduler_named_by_address_gives_identical_tables(serial_run, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        out = tmp_path / "cluster"
        args = sweep_args(out, *SWEPT, points=POINTS, reps=REPS, executor="dask")
        assert main(args + ["--scheduler", cluster.scheduler_address]) == 0
    _same_tables(serial_run, out)


def test_a_sweep_killed_with_sigkill_resumes_to_the_same_tables(serial_run, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "csim.cli", *sweep_args(out, *SWEPT, points=POINTS, reps=REPS, executor="serial")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tasks = out / "tasks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if tasks.exists() and len(list(tasks.glob("p*.json"))) >= 5:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the sweep finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in tasks.glob("p*.json")}
    assert 5 <= len(finished) < TASKS
    assert not (out / "results.csv").exists()

    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    counts = re.search(r"(\d+) tasks: (\d+) already done, (\d+) computed", result.stdout)
    assert counts and int(counts[1]) == TASKS
    assert int(counts[2]) == len(finished) and int(counts[3]) == TASKS - len(finished)
    # The tasks finished before the kill were not computed again.
    assert {p.name: p.stat().st_mtime_ns for p in tasks.glob("p*.json") if p.name in finished} == finished
    _same_tables(serial_run, out)


def test_local_workers_end_with_a_killed_sweep(tmp_path):
    out = tmp_path / "orphans"
    command = [sys.executable, "-m", "csim.cli",
               *sweep_args(out, *SWEPT, points=POINTS, reps=REPS, executor="local"), "--workers", "2"]
    # A session of its own: the sweep, its fork server, resource tracker and workers share its process group.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    tasks = out / "tasks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if tasks.exists() and any(tasks.glob("p*.json")):
            break
        time.sleep(0.02)
    assert process.poll() is None, "the sweep finished before it could be killed"
    group = os.getpgid(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 15  # workers check for their sweep once a second
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)  # clean up before failing
    pytest.fail("processes of the killed sweep were still running 15 s later")
