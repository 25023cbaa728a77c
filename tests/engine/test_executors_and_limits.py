"""The Dask executor gives the serial records; a runaway world stops with a one-line error."""

from __future__ import annotations

import pytest

from csim.cli import main
from csim.engine.runner import simulate
from csim.errors import LimitError
from csim.scenario import Scenario

from tests.engine.scenarios import CS_WORLD
from tests.engine.test_reproducible import assert_same_records


def test_dask_executor_gives_the_serial_records():
    """Same seed, same records, whatever the executor: here a local Dask cluster of 2 processes."""
    pytest.importorskip("dask.distributed")
    world = Scenario.model_validate({**CS_WORLD, "horizon_months": 6})
    serial = simulate(world, 3, executor="serial", progress=False)
    on_dask = simulate(world, 3, executor="dask", workers=2, progress=False)
    assert_same_records(serial, on_dask)


def test_supercritical_referral_growth_stops_at_max_accounts():
    # Every account refers 20 leads a year that all convert: the book explodes within months.
    world = Scenario.model_validate({
        **CS_WORLD, "max_accounts": 2000, "referral": {"conversion": 1.0},
        "segments": [{**s, "referral_rate": 20.0} for s in CS_WORLD["segments"]]})
    with pytest.raises(LimitError, match="max_accounts"):
        simulate(world, 1, executor="serial", progress=False)


def test_limit_error_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "runaway.toml"
    path.write_text('name = "runaway"\nhorizon_months = 24\nmax_accounts = 650\n', encoding="utf-8")
    assert main(["run", str(path), "--reps", "1", "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert str(path) in err[0] and "max_accounts" in err[0]
