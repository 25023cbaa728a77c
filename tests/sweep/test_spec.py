"""Sweep definitions: parameters typed by the scenario schema, designs, and a directory bound to one sweep."""

from __future__ import annotations

import json

import numpy as np
import pytest

from csim.cli import main
from csim.sweep import build_sweep
from csim.sweep.design import unit_design
from csim.sweep.spec import Parameter

from .conftest import SCENARIOS, small_params, sweep_args

BASE = SCENARIOS / "renewal_focus.toml"


@pytest.mark.parametrize("param, expected", [
    ("cs_team.headcont=1:3", "--param cs_team.headcont: unknown key 'headcont'"),
    ("segments.nowhere.annual_churn=0.1:0.2", "no item 'nowhere'"),
    ("segments.smb.annual_churn=0.3:0.3", "--param segments.smb.annual_churn: empty range '0.3:0.3'"),
    ("segments.smb.annual_churn=0.4:0.1", "empty range"),
    ("strategy.name=1:3", "--param strategy.name: a range needs a numeric key"),
    ("cs_team.headcount=2,2.5", "--param cs_team.headcount: level 2.5 is not a whole number"),
    ("cs_team.headcount=2,many", "--param cs_team.headcount: level 'many' is not a number"),
    ("segments.smb.annual_churn=0.1:1.5", "--param segments.smb.annual_churn: range end 1.5"),
    ("cs_team.headcount=1.5:4", "takes whole numbers"),
    ("strategy=renewal_focus,nosuchfile", "--param strategy: no scenario file 'nosuchfile'"),
    ("cs_team.headcount", "expected PATH=LEVELS"),
])
def test_a_bad_parameter_is_one_line_naming_it(param, expected, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["sweep", str(BASE), "--param", param, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("csim: error: ") and "Traceback" not in err
    assert expected in err
    assert not out.exists()  # nothing half-written


def test_a_combination_invalid_at_one_point_is_refused_before_anything_runs(tmp_path, capsys):
    # Each level is valid alone; warm-up 30 with a 24-month horizon is not.
    out = tmp_path / "out"
    status = main(["sweep", str(BASE), "--param", "horizon_months=24,60", "--param", "warmup_months=0,30",
                   "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and "point 1 (horizon_months=24, warmup_months=30)" in err
    assert not out.exists()


def test_levels_ranges_and_sections_are_typed():
    sweep = build_sweep(BASE, small_params("cs_team.headcount=1:12", "segments.smb.annual_churn=0.1:0.4",
                                           "strategy=renewal_focus,expansion_focus"), design="lhs", points=24)
    head, churn, strategy = sweep.parameters
    assert head.integer and head.is_range and (head.low, head.high) == (1, 12)
    assert not churn.integer and churn.is_range
    assert strategy.categorical and strategy.levels == ("renewal_focus", "expansion_focus")
    assert dict(sweep.fixed) == {"horizon_months": 24, "initial_book.customers": 100, "acquisition.leads_per_month": 60}
    values = [p["cs_team.headcount"] for p in sweep.points]
    assert all(isinstance(v, int) and 1 <= v <= 12 for v in values)
    # Scenario files travel as their validated section: the point's scenario has that file's plays.
    point = next(i for i, p in enumerate(sweep.points) if p["strategy"] == "expansion_focus")
    scenario = sweep.scenario(point, "base")
    assert scenario.strategy.name == "expansion_focus" and scenario.horizon_months == 24
    assert scenario.cs_team.headcount == sweep.points[point]["cs_team.headcount"]


def test_grid_size_is_the_product_of_the_levels():
    sweep = build_sweep(BASE, small_params("cs_team.headcount=1,2,4", "segments.smb.annual_churn=0.1:0.4",
                                           "health.churn_effect=2,4"), design="grid", points=5)
    assert len(sweep.points) == 3 * 5 * 2
    assert len({tuple(p.values()) for p in sweep.points}) == 30
    assert sorted({p["segments.smb.annual_churn"] for p in sweep.points}) == pytest.approx(np.linspace(0.1, 0.4, 5))
    assert len(sweep.tasks()) == 30 * sweep.reps


def test_latin_hypercube_puts_one_point_in_every_stratum():
    n = 37
    u = unit_design("lhs", ["a", "b", "c"], n, seed=9)
    for column in u.T:
        assert sorted(np.floor(column * n).astype(int)) == list(range(n))
    param = Parameter("x", low=0.1, high=0.4)
    values = np.array(param.values_at(u[:, 0]))
    assert sorted(np.floor((values - 0.1) / 0.3 * n).astype(int)) == list(range(n))


def test_an_integer_range_takes_each_whole_number_equally():
    param = Parameter("cs_team.headcount", low=1, high=12, integer=True)
    u = (np.arange(1200) + 0.5) / 1200
    counts = np.bincount(param.values_at(u), minlength=13)[1:]
    assert counts.tolist() == [100] * 12


def test_sobol_design_is_balanced():
    # Saltelli's scheme: N base rows A (every (d+2)-th row); a scrambled Sobol' net of N = 2^k points
    # puts exactly N/2^j points in each of the 2^j equal bins of every column, for 2^j <= N.
    d, n = 3, 64
    u = unit_design("sobol", ["a", "b", "c"], n, seed=4)
    assert u.shape == (n * (d + 2), d)
    base = u[:: d + 2]
    for bins in (2, 4, 8, 64):
        for column in base.T:
            assert np.bincount(np.floor(column * bins).astype(int), minlength=bins).tolist() == [n // bins] * bins


def test_sobol_needs_a_power_of_two(tmp_path, capsys):
    status = main(["sweep", str(BASE), "--param", "cs_team.headcount=1:4", "--design", "sobol", "--points", "12",
                   "--out", str(tmp_path / "o"), "--no-progress"])
    assert status == 2 and "power of two (e.g. 8 or 16), not 12" in capsys.readouterr().err


def test_the_design_depends_on_the_seed_only():
    a = build_sweep(BASE, small_params("segments.smb.annual_churn=0.1:0.4"), design="lhs", points=8, seed=1)
    b = build_sweep(BASE, small_params("segments.smb.annual_churn=0.1:0.4"), design="lhs", points=8, seed=1)
    c = build_sweep(BASE, small_params("segments.smb.annual_churn=0.1:0.4"), design="lhs", points=8, seed=2)
    assert a.points == b.points and a.points != c.points


def test_dry_run_prints_points_and_task_count_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "o"
    args = sweep_args(out, "cs_team.headcount=1,2", "segments.smb.annual_churn=0.1:0.4", design="grid", points=3, reps=2)
    assert main(args + ["--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "6 points × 2 replications × 2 scenarios = 24 tasks (design grid)" in text
    assert not out.exists()


def test_a_different_sweep_in_an_existing_directory_is_refused(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(sweep_args(out, "cs_team.headcount=1,2", design="grid", reps=2, versus=False)) == 0
    capsys.readouterr()
    before = sorted(p.name for p in (out / "tasks").iterdir())
    status = main(sweep_args(out, "cs_team.headcount=1,3", design="grid", reps=2, versus=False))
    err = capsys.readouterr().err
    assert status == 2 and "holds a different sweep" in err and "parameters" in err
    status = main(sweep_args(out, "cs_team.headcount=1,2", design="grid", reps=3, versus=False))
    err = capsys.readouterr().err
    assert status == 2 and "reps (2 here, 3 now)" in err
    assert sorted(p.name for p in (out / "tasks").iterdir()) == before
    # The same definition resumes, computing nothing.
    assert main(sweep_args(out, "cs_team.headcount=1,2", design="grid", reps=2, versus=False)) == 0
    assert "4 tasks: 4 already done, 0 computed" in capsys.readouterr().out
    assert json.loads((out / "sweep.json").read_text())["definition"]["n_tasks"] == 4


def test_a_sweep_file_gives_the_same_sweep_as_the_command_line(tmp_path, capsys):
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(f"""
[sweep]
base = "{BASE}"
versus = "{SCENARIOS / 'expansion_focus.toml'}"
design = "grid"
reps = 2
seed = 5
[sweep.params]
horizon_months = 24
"initial_book.customers" = 100
"acquisition.leads_per_month" = 60
"cs_team.headcount" = [1, 2]
""")
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["sweep", str(sweep_file), "--out", str(a), "--no-progress", "--executor", "serial"]) == 0
    assert main(sweep_args(b, "cs_team.headcount=1,2", design="grid", points=3, reps=2)) == 0
    assert (a / "results.csv").read_bytes() == (b / "results.csv").read_bytes()
    sweep_file.write_text(sweep_file.read_text() + "colour = 'red'\n")
    capsys.readouterr()
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "c")]) == 2
    assert "sweep.params.colour" in capsys.readouterr().err
