"""Plays validate like the rest of the scenario: a bad touch, trigger or segment is one line
naming the file and the key, exit status 2, through scenario loading and ``csim compare``."""

from __future__ import annotations

from pathlib import Path

import pytest

from csim.cli import main
from csim.errors import InputError
from csim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.toml"

PLAY = """
[[strategy.plays]]
touch = "{touch}"
trigger = "{trigger}"
segments = [{segments}]
{extra}
"""


def _strategy(tmp_path: Path, touch="value_review", trigger="cadence", segments='"mid"',
              extra="every_days = 90.0") -> Path:
    path = tmp_path / "strategy.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "strategy"\n[strategy]\nname = "s"\n'
                    + PLAY.format(touch=touch, trigger=trigger, segments=segments, extra=extra), encoding="utf-8")
    return path


@pytest.mark.parametrize(("edit", "key", "words"), [
    ({"touch": "lunch"}, "strategy.plays[0].touch", "value_review"),
    ({"trigger": "full_moon"}, "strategy.plays[0].trigger", "cadence"),
    ({"segments": '"smb", "whales"'}, "strategy", "'whales'"),
    ({"extra": ""}, "strategy.plays[0]", "every_days"),
    ({"extra": "every_days = 90.0\nefect = { health = 0.1 }"}, "strategy.plays[0].efect", "unknown key"),
    ({"extra": "every_days = 90.0\neffect = { save_prob = 1.5 }"}, "strategy.plays[0].effect.save_prob", "must be in [0, 1]"),
], ids=["unknown-touch", "unknown-trigger", "unknown-segment", "cadence-without-period", "misspelt-effect",
        "probability-above-1"])
def test_bad_play_names_the_file_and_the_key(tmp_path, edit, key, words):
    path = _strategy(tmp_path, **edit)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert key in message and words in message, message
    assert "\n" not in message


def test_good_play_loads(tmp_path):
    scenario = load_scenario(_strategy(tmp_path))
    assert scenario.strategy.plays[0].segments == ("mid",)


def _compare_fails(capsys, tmp_path, *argv) -> str:
    status = main(["compare", *map(str, argv), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "out" / "comparison.json").exists()
    return lines[0]


def test_compare_rejects_a_bad_play_in_any_scenario(capsys, tmp_path):
    bad = _strategy(tmp_path, touch="lunch")
    line = _compare_fails(capsys, tmp_path, BASELINE, bad)
    assert str(bad) in line and "strategy.plays[0].touch" in line


def test_compare_rejects_a_missing_file(capsys, tmp_path):
    line = _compare_fails(capsys, tmp_path, BASELINE, tmp_path / "nope.toml")
    assert "nope.toml" in line and "no such scenario file" in line


def test_compare_rejects_one_replication_and_unequal_horizons(capsys, tmp_path):
    assert "--reps" in _compare_fails(capsys, tmp_path, BASELINE, BASELINE, "--reps", "1")
    short = tmp_path / "short.toml"
    short.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "short"\nhorizon_months = 12\n', encoding="utf-8")
    assert "horizon_months" in _compare_fails(capsys, tmp_path, BASELINE, short)


def test_compare_rejects_a_bad_override(capsys, tmp_path):
    line = _compare_fails(capsys, tmp_path, BASELINE, BASELINE, "--set", "cs_team.headcont=2")
    assert "headcont" in line
