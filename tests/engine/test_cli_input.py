"""Bad scenario input through ``csim run``: exit status 2, one stderr line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from csim.cli import main
from csim.scenario import load_scenario
from tests.engine.scenarios import TINY_TOML

GOOD = TINY_TOML


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _fail(capsys, tmp_path: Path, scenario: Path | str, *extra: str) -> str:
    """Run ``csim run``, expect status 2 and exactly one stderr line without a traceback; return it."""
    status = main(["run", str(scenario), "--out", str(tmp_path / "out"), "--no-progress", *extra])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert not (tmp_path / "out" / "summary.json").exists()
    return lines[0]


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        # unknown key inside a table
        (GOOD + "\n[cs_team]\nheadcount_typo = 4\n", "cs_team.headcount_typo"),
        # wrong type
        (GOOD + '\n[cs_team]\nheadcount = "four"\n', "cs_team.headcount"),
        # probability outside [0, 1]
        (GOOD.replace("annual_churn = 0.3", "annual_churn = 1.5"), "annual_churn"),
        # negative rate
        (GOOD.replace("term_months = 1", "term_months = 1\nexpansion_rate = -0.5"), "expansion_rate"),
        # unknown top-level key
        ("colour = 'red'\n" + GOOD, "colour"),
    ],
    ids=["unknown-key", "wrong-type", "probability-above-1", "negative-rate", "unknown-top-level"],
)
def test_invalid_values_name_the_file_and_the_key(capsys, tmp_path, edit, key):
    path = _write(tmp_path, "bad.toml", edit)
    line = _fail(capsys, tmp_path, path)
    assert line.startswith("csim: error: ")
    assert str(path) in line
    assert key in line


def test_segment_errors_name_the_segment(capsys, tmp_path):
    path = _write(tmp_path, "bad.toml", GOOD.replace("annual_churn = 0.3", "annual_churn = 1.5"))
    line = _fail(capsys, tmp_path, path)
    assert "segments[0:smb].annual_churn" in line
    # One bad value is one problem: no cascade of follow-up errors is counted.
    assert "more problem" not in line


def test_missing_file(capsys, tmp_path):
    missing = tmp_path / "nowhere.toml"
    line = _fail(capsys, tmp_path, missing)
    assert str(missing) in line and "no such scenario file" in line


def test_toml_syntax_error(capsys, tmp_path):
    path = _write(tmp_path, "broken.toml", GOOD + "\nhorizon_months 4\n")
    line = _fail(capsys, tmp_path, path)
    assert str(path) in line and "TOML syntax error" in line


@pytest.mark.parametrize("assignment", ["cs_team.head_count=4", "segments.enterprise.annual_churn=0.1",
                                        "segments.7.annual_churn=0.1", "no_equals_sign"])
def test_unknown_set_path(capsys, tmp_path, assignment):
    path = _write(tmp_path, "good.toml", GOOD)
    line = _fail(capsys, tmp_path, path, "--set", assignment)
    assert str(path) in line and assignment.partition("=")[0] in line


def test_set_value_is_validated(capsys, tmp_path):
    path = _write(tmp_path, "good.toml", GOOD)
    line = _fail(capsys, tmp_path, path, "--set", "segments.smb.annual_churn=1.5")
    assert str(path) in line and "annual_churn" in line


def test_extends_to_a_missing_file_names_the_child_and_the_key(capsys, tmp_path):
    child = _write(tmp_path, "child.toml", 'extends = "parent_missing.toml"\nhorizon_months = 3\n')
    line = _fail(capsys, tmp_path, child)
    assert str(child) in line
    assert "extends" in line
    assert "parent_missing.toml" in line


def test_circular_extends(capsys, tmp_path):
    _write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    b = _write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    line = _fail(capsys, tmp_path, b)
    assert "extends" in line and "circular" in line


def test_bad_reps(capsys, tmp_path):
    path = _write(tmp_path, "good.toml", GOOD)
    line = _fail(capsys, tmp_path, path, "--reps", "0")
    assert str(path) in line and "--reps" in line


def test_set_overrides_are_typed_and_address_segments_by_name(tmp_path):
    path = _write(tmp_path, "good.toml", GOOD)
    scn = load_scenario(path, ["cs_team.headcount=4", "segments.smb.annual_churn=0.2", "segments.0.term_months=3",
                               'name="renamed"'])
    assert scn.cs_team.headcount == 4 and type(scn.cs_team.headcount) is int
    assert scn.segments[0].annual_churn == 0.2
    assert scn.segments[0].term_months == 3
    assert scn.name == "renamed"
    # Untouched values keep the file's.
    assert scn.segments[0].mrr_median == 100.0 and scn.initial_book.customers == 20


def test_extends_merges_tables_key_by_key(tmp_path):
    _write(tmp_path, "parent.toml", GOOD + "\n[cs_team]\nheadcount = 2\nhours_per_week = 20\n")
    child = _write(tmp_path, "child.toml", 'extends = "parent.toml"\n[cs_team]\nheadcount = 5\n')
    scn = load_scenario(child)
    assert scn.cs_team.headcount == 5          # child wins
    assert scn.cs_team.hours_per_week == 20.0  # parent's sibling key survives
    assert scn.segments[0].name == "smb"


def test_independent_problems_are_counted(capsys, tmp_path):
    text = GOOD.replace("annual_churn = 0.3", "annual_churn = 1.5") + "\n[cs_team]\nheadcount = -1\n"
    line = _fail(capsys, tmp_path, _write(tmp_path, "bad.toml", text))
    assert "annual_churn" in line and "(and 1 more problem)" in line
