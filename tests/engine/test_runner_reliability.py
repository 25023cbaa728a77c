"""Local workers end with a killed run; damaged checkpoints are recomputed; a resumed run says so."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from csim.cli import main
from csim.engine.runner import simulate
from tests.engine.scenarios import TINY_TOML, scenario
from tests.engine.test_reproducible import assert_same_records

ROOT = Path(__file__).resolve().parents[2]
NOTICE = re.compile(r"^csim: notice: discarded a damaged checkpoint (\S+replication-\d{5}\.npz) \((.+)\); "
                    r"recomputing it$")

#: A small world: six months, thirty accounts, a few leads.
SMALL = dict(horizon_months=6, seed=3, initial_book={"customers": 30}, acquisition={"leads_per_month": 5.0})


def _lines(text: str, start: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(start)]


# --- workers end with their parent ---------------------------------------------------------------

def _session(group: int) -> dict[int, tuple[int, str]]:
    """Live (not zombie) processes of process group ``group``: pid -> (parent pid, command line)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, ppid, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
        if int(pgrp) == group and state != "Z":
            found[int(entry)] = (int(ppid), command)
    return found


def _workers(group: int, parent: int) -> list[int]:
    """The worker processes of ``parent``'s pool: not ``parent``, not a fork server or resource
    tracker it started (a fork server's workers are its children, loky's the parent's)."""
    helpers = ("forkserver", "resource_tracker")
    return [pid for pid, (ppid, command) in _session(group).items()
            if pid != parent and (ppid != parent or not any(h in command for h in helpers))]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_local_workers_end_with_a_killed_run(tmp_path):
    # ~2.5 s a replication, so the workers are busy simulating when the run is killed.
    command = [sys.executable, "-m", "csim", "run", str(ROOT / "scenarios" / "baseline.toml"), "--reps", "6",
               "--workers", "2", "--executor", "joblib", "--out", str(tmp_path / "out"), "--no-progress",
               "--set", "initial_book.customers=2000", "--set", "acquisition.leads_per_month=800"]
    # A session of its own: the run, its fork server, resource tracker and workers share its process group.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    group = process.pid  # the leader of a new session is the leader of its process group
    try:
        deadline, seen = time.monotonic() + 60, 0
        while time.monotonic() < deadline and process.poll() is None and seen < 2:  # two polls in a row
            seen = seen + 1 if len(_workers(group, process.pid)) >= 2 else 0
            time.sleep(0.05)
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()!r}"
        assert len(_workers(group, process.pid)) >= 2, _session(group)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 15  # workers check for their parent once a second
        while time.monotonic() < deadline and _session(group):
            time.sleep(0.2)
        left = _session(group)
        assert not left, f"processes of the killed run still running 15 s later: {left}"
    finally:
        process.stderr.close()
        try:
            os.killpg(group, signal.SIGKILL)  # clean up, whatever happened
        except ProcessLookupError:
            pass


def test_a_script_without_a_main_guard_runs_on_local_workers_without_joblib(tmp_path):
    """Workers do not run the caller's script again (multiprocessing would, unguarded), and
    ``executor="joblib"`` is only another name for the local pool."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        "from csim.engine.runner import simulate\n"
        "from tests.engine.scenarios import scenario\n"
        f"records = simulate(scenario(**{SMALL!r}), 3, executor='joblib', workers=2, progress=False)\n"
        "print('replications', sorted(set(records.accounts['replication'].tolist())))\n"
        "print('joblib imported', 'joblib' in sys.modules)\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["replications [0, 1, 2]", "joblib imported False"], result.stdout
    assert "Traceback" not in result.stderr


# --- damaged checkpoints -------------------------------------------------------------------------

def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _not_a_zip(path: Path) -> None:
    path.write_bytes(b"these are not the arrays you are looking for\n" * 20)


def _array_missing(path: Path) -> None:
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files if key != "events/time"}
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _wrong_type(path: Path) -> None:
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["accounts/replication"] = arrays["accounts/replication"].astype(np.float64)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("damage, reason", [
    (_truncate, r"truncated zip archive"),
    (_empty, r"empty file"),
    (_not_a_zip, r"not an \.npz archive"),
    (_array_missing, r"no array events/time"),
    (_wrong_type, r"array accounts/replication is float64\[\d+\], not 1-D int32"),
], ids=["truncated", "empty", "not_a_zip", "array_missing", "wrong_type"])
def test_a_damaged_checkpoint_is_discarded_and_recomputed(tmp_path, capsys, damage, reason):
    world = scenario(**SMALL)
    expected = simulate(world, 3, executor="serial", progress=False)
    simulate(world, 3, executor="serial", checkpoint_dir=tmp_path, progress=False)
    damaged = next(tmp_path.glob("*/replication-00001.npz"))
    intact = damaged.read_bytes()
    damage(damaged)
    capsys.readouterr()

    again = simulate(world, 3, executor="serial", checkpoint_dir=tmp_path, progress=False)
    err = capsys.readouterr().err
    notices = [NOTICE.match(line) for line in _lines(err, "csim: notice:")]
    assert len(notices) == 1 and notices[0], err
    assert notices[0][1] == str(damaged) and re.fullmatch(reason, notices[0][2])
    assert _lines(err, "resumed:") == [f"resumed: 2 of 3 replications from checkpoints ({tmp_path})"]
    assert_same_records(again, expected)
    assert damaged.read_bytes() == intact  # recomputed and saved again


def test_a_run_with_a_truncated_checkpoint_gives_the_same_summary(tmp_path, capsys):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML, encoding="utf-8")
    out = tmp_path / "out"
    args = ["run", str(path), "--reps", "3", "--executor", "serial", "--out", str(out), "--no-progress",
            "--keep-checkpoints"]
    assert main(args) == 0
    summary = (out / "summary.json").read_bytes()
    damaged = next(out.rglob("replication-00002.npz"))
    intact = damaged.read_bytes()
    _truncate(damaged)
    capsys.readouterr()

    assert main(args) == 0
    err = capsys.readouterr().err
    notices = _lines(err, "csim: notice: discarded")
    assert len(notices) == 1 and NOTICE.match(notices[0]), err
    assert notices[0].endswith(f"{os.sep}replication-00002.npz (truncated zip archive); recomputing it")
    assert (out / "summary.json").read_bytes() == summary
    rewritten = next(out.rglob("replication-00002.npz"))
    assert rewritten.read_bytes() == intact


# --- the resume message --------------------------------------------------------------------------

def test_a_resumed_run_says_how_many_replications_came_from_checkpoints(tmp_path, capsys):
    world = scenario(**SMALL)
    expected = simulate(world, 4, executor="serial", progress=False)
    capsys.readouterr()
    simulate(world, 2, executor="serial", checkpoint_dir=tmp_path, progress=False)
    assert capsys.readouterr().err == ""  # nothing reused, nothing said

    resumed = simulate(world, 4, executor="local", workers=2, checkpoint_dir=tmp_path, progress=False)
    assert capsys.readouterr().err.splitlines() == [f"resumed: 2 of 4 replications from checkpoints ({tmp_path})"]
    assert_same_records(resumed, expected)

    again = simulate(world, 4, executor="local", workers=2, checkpoint_dir=tmp_path, progress=False)
    assert capsys.readouterr().err.splitlines() == [f"resumed: 4 of 4 replications from checkpoints ({tmp_path})"]
    assert_same_records(again, expected)
