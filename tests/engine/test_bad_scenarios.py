"""The bad-input corpus for scenarios, overrides and options, across ``csim run``, ``compare`` and ``sweep``.

Every case asserts the README's promise (see :func:`tests.bad_input.assert_bad_input`): exit
status 2, exactly one stderr line ``csim: error: …`` naming the file and the key (or the option),
no traceback, and the output folder exactly as it was — for a fresh folder (nothing created) and
for a folder that already holds a previous output (not touched). All of them fail before the
first replication, so the corpus is quick.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from csim.cli import main
from tests.bad_input import assert_bad_input, snapshot


def scenario_text(top: str = "", segment: str = "", acquisition: str = "", tail: str = "") -> str:
    """A tiny valid scenario with lines added to its top level, its one segment, its [acquisition]
    table, and whole tables at the end."""
    return f"""\
name = "tiny"
horizon_months = 3
replications = 2
seed = 11
{top}

[[segments]]
name = "smb"
lead_share = 1.0
mrr_median = 100.0
annual_churn = 0.3
term_months = 1
{segment}

[acquisition]
leads_per_month = 5
{acquisition}

[initial_book]
customers = 20
{tail}
"""


PLAY = """
[strategy]
name = "s"
[[strategy.plays]]
touch = "value_review"
trigger = "cadence"
every_days = 90
csm_hours = 1.0
"""

#: A second segment with lead share 0.5.
SECOND_SEGMENT = '[[segments]]\nname = "mid"\nlead_share = 0.5\nmrr_median = 900.0\nannual_churn = 0.1\n'

#: (id, scenario text, strings the error line must name). ``{path}`` is replaced by the file.
SCENARIO_CASES = [
    ("leads-inf", scenario_text(acquisition="leads_per_month = inf").replace("leads_per_month = 5\n", ""),
     ["acquisition.leads_per_month", "infinite"]),
    ("leads-1e30", scenario_text().replace("leads_per_month = 5", "leads_per_month = 1e30"),
     ["acquisition.leads_per_month", "max_accounts"]),
    ("leads-1e7", scenario_text().replace("leads_per_month = 5", "leads_per_month = 1e7"),
     ["acquisition.leads_per_month", "max_accounts"]),
    ("leads-nan", scenario_text().replace("leads_per_month = 5", "leads_per_month = nan"),
     ["acquisition.leads_per_month", "is NaN"]),
    ("churn-effect-nan", scenario_text(tail="[health]\nchurn_effect = nan"), ["health.churn_effect", "is NaN"]),
    ("churn-effect-huge", scenario_text(tail="[health]\nchurn_effect = 1e6"), ["health.churn_effect", "[-50, 50]"]),
    ("churn-effect-wide-prior", scenario_text(tail='[health]\nchurn_effect = { dist = "normal", mean = 4, sd = 100 }'),
     ["health.churn_effect", "reaches outside"]),
    ("empty-file", "", ["empty", "extends"]),
    ("comment-only", "# nothing here\n", ["empty"]),
    ("extends-dot", 'extends = "."\n' + scenario_text(), ["extends", "folder"]),
    ("extends-missing", 'extends = "nowhere.toml"\n' + scenario_text(), ["extends", "nowhere.toml"]),
    ("extends-number", "extends = 3\n" + scenario_text(), ["extends", "file path"]),
    ("lead-shares-1.3", scenario_text(tail=SECOND_SEGMENT).replace("lead_share = 1.0", "lead_share = 0.8"),
     ["segments.lead_share", "1.3", "normalize_lead_shares"]),
    ("duplicate-segments", scenario_text(tail='[[segments]]\nname = "smb"\nlead_share = 0.0\nmrr_median = 5.0\n'
                                              'annual_churn = 0.1'), ["segments", "unique"]),
    ("unknown-key", scenario_text(tail="[cs_team]\nheadcount_typo = 4"), ["cs_team.headcount_typo", "unknown key"]),
    ("unknown-table", scenario_text(tail="[colour]\nred = 1"), ["colour", "unknown key"]),
    ("wrong-type", scenario_text(tail='[cs_team]\nheadcount = "four"'), ["cs_team.headcount"]),
    ("float-for-int", scenario_text(tail="[cs_team]\nheadcount = 2.5"), ["cs_team.headcount"]),
    ("probability-above-1", scenario_text().replace("annual_churn = 0.3", "annual_churn = 1.5"),
     ["segments[0:smb].annual_churn"]),
    ("negative-rate", scenario_text(segment="expansion_rate = -0.5"), ["segments[0:smb].expansion_rate"]),
    ("rate-above-a-day", scenario_text(segment="expansion_rate = 1e9"), ["segments[0:smb].expansion_rate", "365"]),
    ("negative-mrr", scenario_text().replace("mrr_median = 100.0", "mrr_median = -100.0"),
     ["segments[0:smb].mrr_median"]),
    ("segment-nan", scenario_text().replace("mrr_median = 100.0", "mrr_median = nan"),
     ["segments[0:smb].mrr_median", "is NaN"]),
    ("growth-minus-inf", scenario_text(acquisition="lead_growth_annual = -inf"),
     ["acquisition.lead_growth_annual", "infinite"]),
    ("growth-huge", scenario_text(acquisition="lead_growth_annual = 50"), ["acquisition.lead_growth_annual"]),
    ("toml-syntax", scenario_text() + "\nthis is = = not toml\n", ["TOML syntax error"]),
    ("warmup-not-below-horizon", scenario_text(top="warmup_months = 3"), ["warmup_months", "horizon_months"]),
    ("horizon-0", scenario_text().replace("horizon_months = 3", "horizon_months = 0"), ["horizon_months"]),
    ("replications-0", scenario_text().replace("replications = 2", "replications = 0"), ["replications"]),
    ("seed-negative", scenario_text().replace("seed = 11", "seed = -1"), ["seed"]),
    ("max-accounts-0", scenario_text(top="max_accounts = 0"), ["max_accounts"]),
    ("cadence-without-every", scenario_text(tail=PLAY.replace("every_days = 90\n", "")),
     ["strategy.plays[0]", "every_days"]),
    ("play-unknown-segment", scenario_text(tail=PLAY + 'segments = ["ent"]'), ["strategy.plays[0].segments", "ent"]),
    ("play-unknown-touch", scenario_text(tail=PLAY.replace('"value_review"', '"hug"')), ["strategy.plays[0].touch"]),
    ("prior-missing-key", scenario_text(tail='[health]\nchurn_effect = { dist = "normal", mean = 4 }'),
     ["health.churn_effect", "sd"]),
    ("prior-unknown-dist", scenario_text(tail='[health]\nchurn_effect = { dist = "cauchy", mean = 4 }'),
     ["health.churn_effect"]),
    ("prior-outside-probability", scenario_text(tail=PLAY + '[strategy.plays.effect]\nsave_prob = { dist = "normal", '
                                                            'mean = 0.3, sd = 0.2 }'),
     ["strategy.plays[0].effect.save_prob", "reaches outside"]),
    ("prior-low-above-high", scenario_text(tail='[health]\nchurn_effect = { dist = "uniform", low = 5, high = 1 }'),
     ["health.churn_effect", "low must be below high"]),
    ("renewal-logodds-100", scenario_text(tail=PLAY + "[strategy.plays.effect]\nrenewal_logodds = 100"),
     ["strategy.plays[0].effect.renewal_logodds"]),
    ("health-shift-2", scenario_text(tail=PLAY + "[strategy.plays.effect]\nhealth = 2"),
     ["strategy.plays[0].effect.health"]),
    ("ceiling-below-reference", scenario_text(tail="[health]\ntarget_ceiling = 0.4"), ["health", "target_ceiling"]),
    ("coverage-unknown-segment", scenario_text(tail="[cs_team]\naccounts_per_csm = { ent = 10 }"),
     ["cs_team.accounts_per_csm", "ent"]),
    ("no-segments", scenario_text().split("[[segments]]")[0] + "segments = []\n", ["segments"]),
]


@pytest.fixture
def previous_output(tmp_path) -> Path:
    """A folder holding a previous output that a failed command must leave byte-for-byte."""
    out = tmp_path / "previous"
    out.mkdir()
    (out / "summary.json").write_text('{"previous": true}\n')
    (out / "report.md").write_text("# previous\n")
    return out


@pytest.mark.parametrize(("text", "names"), [c[1:] for c in SCENARIO_CASES], ids=[c[0] for c in SCENARIO_CASES])
def test_bad_scenario_file_through_run(capsys, tmp_path, text, names):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    assert_bad_input(capsys, ["run", path, "--out", tmp_path / "out", "--no-progress"], tmp_path / "out",
                     [str(path), *names])


@pytest.mark.parametrize("case", ["leads-1e30", "churn-effect-nan", "rate-above-a-day", "lead-shares-1.3",
                                  "empty-file"])
def test_bad_scenario_file_through_compare_and_sweep(capsys, tmp_path, previous_output, case):
    text, names = next(c[1:] for c in SCENARIO_CASES if c[0] == case)
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text(scenario_text(), encoding="utf-8")
    # The bad file second: the error names it, not the first.
    assert_bad_input(capsys, ["compare", good, bad, "--out", previous_output, "--no-progress"], previous_output,
                     [str(bad), *names])
    assert_bad_input(capsys, ["sweep", bad, "--param", "cs_team.headcount=1,2", "--out", previous_output,
                              "--no-progress"], previous_output, [str(bad), *names])


def test_a_scenario_that_is_not_a_file(capsys, tmp_path):
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    assert_bad_input(capsys, ["run", folder, "--out", tmp_path / "o"], tmp_path / "o", [str(folder), "folder"])
    missing = tmp_path / "missing.toml"
    assert_bad_input(capsys, ["run", missing, "--out", tmp_path / "o"], tmp_path / "o", [str(missing), "no such"])
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80")
    assert_bad_input(capsys, ["run", binary, "--out", tmp_path / "o"], tmp_path / "o", [str(binary), "UTF-8"])


def test_circular_extends(capsys, tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\nname = "a"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\nname = "b"\n')
    assert_bad_input(capsys, ["run", tmp_path / "a.toml", "--out", tmp_path / "o"], tmp_path / "o",
                     ["extends", "circular"])


@pytest.mark.parametrize(("text", "names"), [
    ("{ not json", ["JSON syntax error", "line 1"]),
    ("[1, 2]", ["object of keys"]),
    ('{"horizon_months": "long"}', ["horizon_months"]),
], ids=["syntax", "array", "wrong-type"])
def test_bad_json_scenario(capsys, tmp_path, text, names):
    path = tmp_path / "scenario.json"
    path.write_text(text)
    assert_bad_input(capsys, ["run", path, "--out", tmp_path / "o"], tmp_path / "o", [str(path), *names])


#: (id, --set assignment, names)
OVERRIDE_CASES = [
    ("nan", "cs_team.headcount=nan", ["cs_team.headcount", "is NaN"]),
    ("inf", "acquisition.leads_per_month=inf", ["acquisition.leads_per_month", "infinite"]),
    ("negative", "cs_team.headcount=-1", ["cs_team.headcount"]),
    ("unknown-path", "cs_team.size=3", ["cs_team.size"]),
    ("unknown-segment", "segments.ent.annual_churn=0.1", ["segments.ent"]),
    ("no-equals", "cs_team.headcount", ["--set cs_team.headcount", "KEY=VALUE"]),
    ("probability", "segments.smb.annual_churn=2", ["segments[0:smb].annual_churn"]),
    ("huge-leads", "acquisition.leads_per_month=1e9", ["acquisition.leads_per_month", "max_accounts"]),
]


@pytest.mark.parametrize(("assignment", "names"), [c[1:] for c in OVERRIDE_CASES], ids=[c[0] for c in OVERRIDE_CASES])
def test_bad_override(capsys, tmp_path, previous_output, assignment, names):
    path = tmp_path / "good.toml"
    path.write_text(scenario_text(), encoding="utf-8")
    assert_bad_input(capsys, ["run", path, "--set", assignment, "--out", previous_output, "--no-progress"],
                     previous_output, [str(path), *names])


def _good(tmp_path: Path) -> Path:
    path = tmp_path / "good.toml"
    path.write_text(scenario_text(), encoding="utf-8")
    return path


#: (id, argv after the command and scenario, names). ``OUT`` is the output folder, ``FILE`` a regular file.
OPTION_CASES = [
    ("run", "seed-abc", ["--seed", "abc", "--out", "OUT"], ["csim run", "--seed", "abc"]),
    ("run", "reps-0", ["--reps", "0", "--out", "OUT"], ["--reps"]),
    ("run", "workers-0", ["--workers", "0", "--out", "OUT"], ["--workers"]),
    ("run", "executor", ["--executor", "cloud", "--out", "OUT"], ["--executor", "cloud"]),
    ("run", "no-out", [], ["--out"]),
    ("run", "out-is-a-file", ["--out", "FILE"], ["--out", "not a folder"]),
    ("run", "out-under-a-file", ["--out", "FILE/sub"], ["--out", "which is a file"]),
    ("run", "out-in-proc", ["--out", "/proc/csim-out"], ["--out", "/proc"]),
    ("compare", "reps-1", ["--reps", "1", "--out", "OUT"], ["--reps"]),
    ("compare", "out-is-a-file", ["--out", "FILE"], ["--out"]),
    ("compare", "survival-reps", ["--survival-reps", "-1", "--out", "OUT"], ["--survival-reps"]),
    ("compare", "equalize", ["--equalize", "effort", "--out", "OUT"], ["--equalize"]),
    ("sweep", "param-nan", ["--param", "cs_team.headcount=nan", "--out", "OUT"], ["--param cs_team.headcount"]),
    ("sweep", "param-unknown", ["--param", "cs_team.size=1,2", "--out", "OUT"], ["cs_team.size"]),
    ("sweep", "param-range", ["--param", "segments.smb.annual_churn=0.1:1.5", "--out", "OUT"],
     ["segments.smb.annual_churn"]),
    ("sweep", "out-is-a-file", ["--param", "cs_team.headcount=1,2", "--out", "FILE"], ["--out"]),
    ("sweep", "design", ["--param", "cs_team.headcount=1:3", "--design", "random", "--out", "OUT"], ["--design"]),
]


@pytest.mark.parametrize(("command", "argv", "names"), [c[:1] + c[2:] for c in OPTION_CASES],
                         ids=[f"{c[0]}-{c[1]}" for c in OPTION_CASES])
def test_bad_option(capsys, tmp_path, command, argv, names):
    path = _good(tmp_path)
    file = tmp_path / "a-file"
    file.write_text("keep me\n")
    out = tmp_path / "out"
    words = [str(out) if a == "OUT" else a.replace("FILE", str(file)) for a in argv]
    scenarios = [path, path] if command == "compare" else [path]
    watched = file if "FILE" in " ".join(argv) else out
    assert_bad_input(capsys, [command, *scenarios, *words, "--no-progress"], watched, names)
    assert file.read_text() == "keep me\n"


def test_usage_errors_are_one_line(capsys):
    for argv, names in ((["frobnicate"], ["invalid choice", "frobnicate"]), (["run"], ["required"]), ([], ["COMMAND"])):
        assert_bad_input(capsys, argv, Path("/nonexistent-csim-out"), names)


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(capsys, tmp_path, monkeypatch):
    import csim.runs

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(csim.runs, "run_scenario", broken)
    path = _good(tmp_path)
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["csim: error: unexpected RuntimeError: disk on fire "
                                "(run with --debug for the traceback)"]
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(["run", str(path), "--out", str(tmp_path / "o"), "--debug"])


def test_a_team_of_none_with_staffed_plays_is_said(capsys, tmp_path):
    path = tmp_path / "noteam.toml"
    path.write_text(scenario_text(tail="[cs_team]\nheadcount = 0\n" + PLAY))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--no-progress", "--reps", "1",
                 "--executor", "serial"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"csim: notice: {path}: cs_team.headcount: 0 CSMs and no coverage rule, so the 1 play(s) that need CSM "
        "hours are never served (their touches expire)"]


def test_lead_shares_are_normalised_only_when_asked_and_then_said(capsys, tmp_path):
    path = tmp_path / "shares.toml"
    path.write_text(scenario_text(top="normalize_lead_shares = true", tail=SECOND_SEGMENT)
                    .replace("lead_share = 1.0", "lead_share = 0.8"))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--no-progress", "--reps", "1",
                 "--executor", "serial"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [f"csim: notice: {path}: segments.lead_share: the shares sum to 1.3; divided by their sum "
                   "(normalize_lead_shares = true)"]


# ------------------------------------------------------------------------------ perturbations

#: Scenario fields a perturbation may hit: top level, the segment, acquisition, health, a play.
FIELDS = [
    ("", "horizon_months"), ("", "replications"), ("", "seed"), ("", "max_accounts"), ("", "warmup_months"),
    ("segments", "lead_share"), ("segments", "mrr_median"), ("segments", "annual_churn"),
    ("segments", "expansion_rate"), ("segments", "term_months"), ("segments", "conversion"),
    ("segments", "sales_cycle_days"), ("acquisition", "leads_per_month"), ("acquisition", "lead_growth_annual"),
    ("initial_book", "customers"), ("initial_book", "max_tenure_months"), ("health", "churn_effect"),
    ("health", "expansion_effect"), ("health", "reviews_per_year"), ("cs_team", "headcount"),
    ("cs_team", "hours_per_week"), ("renewal", "window_days"), ("payments", "recovery_prob"),
]
BAD_VALUES = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, -1e9, 1e30, 1e9, 0, -7, "text", True,
                              [1, 2], {"x": 1}])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(FIELDS), BAD_VALUES), min_size=1, max_size=3))
def test_perturbed_scenarios_never_raise_a_traceback(tmp_path_factory, edits):
    """Random fields set to NaN, ±inf, negative, huge or the wrong type: a one-line error (exit 2)
    and nothing written, or (if the values happen to be valid) a scenario that validates."""
    import io
    from contextlib import redirect_stderr

    from csim.scenario.load import validate_scenario

    data = {"name": "tiny", "horizon_months": 3, "replications": 1, "seed": 11,
            "segments": [{"name": "smb", "lead_share": 1.0, "mrr_median": 100.0, "annual_churn": 0.3,
                          "term_months": 1}],
            "acquisition": {"leads_per_month": 5}, "initial_book": {"customers": 20}}
    for (section, key), value in edits:
        if section == "":
            data[key] = value
        elif section == "segments":
            data["segments"][0][key] = value
        else:
            data.setdefault(section, {})[key] = value
    root = tmp_path_factory.mktemp("perturbed")
    path = root / "scenario.json"
    import json

    path.write_text(json.dumps(data))  # JSON carries NaN and Infinity like TOML's nan and inf
    try:
        validate_scenario(json.loads(path.read_text()), path)
    except Exception as exc:  # noqa: BLE001 - the only allowed failure is a one-line InputError
        from csim.errors import InputError

        assert isinstance(exc, InputError), repr(exc)
        err = io.StringIO()
        with redirect_stderr(err):
            status = main(["run", str(path), "--out", str(root / "out"), "--no-progress"])
        assert status == 2 and len(err.getvalue().splitlines()) == 1, err.getvalue()
        assert "Traceback" not in err.getvalue()
        assert snapshot(root / "out") is None


def test_an_output_folder_of_other_files_is_never_replaced(capsys, tmp_path):
    """Outputs replace their folder whole: a folder holding anything but a previous csim output
    (a project folder, the scenario's own folder) is refused before any work."""
    path = _good(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine\n")
    for command in (["run", path], ["compare", path, path], ["sweep", path, "--param", "cs_team.headcount=1,2"]):
        assert_bad_input(capsys, [*command, "--out", project, "--no-progress"], project,
                         [str(project), "--out", "notes.txt"])
    assert_bad_input(capsys, ["run", path, "--out", tmp_path, "--no-progress"], tmp_path,
                     [str(tmp_path), "--out", "holds the input"])


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_dask_scheduler_that_does_not_answer(capsys, tmp_path, monkeypatch, command):
    import csim.engine.runner

    monkeypatch.setattr(csim.engine.runner, "SCHEDULER_TIMEOUT_SECONDS", 1)
    path = _good(tmp_path)
    extra = ["--param", "cs_team.headcount=1,2"] if command == "sweep" else []
    assert_bad_input(capsys, [command, path, *extra, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9",
                              "--out", tmp_path / "out", "--no-progress"], tmp_path / "out",
                     ["tcp://127.0.0.1:9", "--scheduler", "no Dask scheduler answers"])


#: (id, [sweep] table text, names): sweep files through ``csim sweep SWEEP.toml``.
SWEEP_FILE_CASES = [
    ("not-a-table", 'sweep = 3\n', ["sweep", "must be a table"]),
    ("unknown-key", '[sweep]\nbase = "good.toml"\ncolour = "red"\n', ["sweep.colour", "unknown key"]),
    ("no-base", '[sweep]\nreps = 2\n', ["sweep.base", "missing"]),
    ("base-missing-file", '[sweep]\nbase = "nowhere.toml"\n[sweep.params]\n"cs_team.headcount" = "1:3"\n',
     ["nowhere.toml", "no such"]),
    ("base-not-a-string", '[sweep]\nbase = 3\n', ["sweep.base", "file path"]),
    ("params-not-a-table", '[sweep]\nbase = "good.toml"\nparams = 3\n', ["sweep.params"]),
    ("param-wrong-type", '[sweep]\nbase = "good.toml"\n[sweep.params]\n"cs_team.headcount" = true\n',
     ["sweep.params.cs_team.headcount"]),
    ("param-nan", '[sweep]\nbase = "good.toml"\n[sweep.params]\n"cs_team.headcount" = "nan"\n',
     ["cs_team.headcount"]),
    ("reps-not-int", '[sweep]\nbase = "good.toml"\nreps = "two"\n[sweep.params]\n"cs_team.headcount" = "1:3"\n',
     ["sweep.reps", "integer"]),
    ("design-unknown", '[sweep]\nbase = "good.toml"\ndesign = "random"\n[sweep.params]\n"cs_team.headcount" = "1:3"\n',
     ["sweep.design", "random"]),
    ("toml-syntax", '[sweep\nbase = "good.toml"\n', ["TOML syntax error"]),
]


@pytest.mark.parametrize(("text", "names"), [c[1:] for c in SWEEP_FILE_CASES], ids=[c[0] for c in SWEEP_FILE_CASES])
def test_bad_sweep_file(capsys, tmp_path, previous_output, text, names):
    _good(tmp_path)
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    assert_bad_input(capsys, ["sweep", path, "--out", previous_output, "--no-progress"], previous_output, names)


def test_sweep_analyze_of_a_folder_that_is_not_a_sweep(capsys, tmp_path, previous_output):
    assert_bad_input(capsys, ["sweep", "analyze", previous_output], previous_output,
                     [str(previous_output), "not a sweep directory"])
    assert_bad_input(capsys, ["sweep", "analyze", tmp_path / "nowhere"], tmp_path / "nowhere", ["not a sweep directory"])


#: (id, extra argv after two scenarios, names): more of csim compare's routes.
COMPARE_CASES = [
    ("bad-override", ["--set", "segments.smb.annual_churn=1.5"], ["segments[0:smb].annual_churn"]),
    ("override-nan", ["--set", "acquisition.leads_per_month=nan"], ["acquisition.leads_per_month", "is NaN"]),
    ("horizons-differ", ["OTHER"], ["horizon_months", "differ"]),
    ("missing-scenario", ["MISSING"], ["missing.toml", "no such"]),
    ("workers-0", ["--workers", "0"], ["--workers"]),
    ("seed-negative", ["--seed", "-3"], ["--seed"]),
]


@pytest.mark.parametrize(("extra", "names"), [c[1:] for c in COMPARE_CASES], ids=[c[0] for c in COMPARE_CASES])
def test_bad_compare(capsys, tmp_path, previous_output, extra, names):
    path = _good(tmp_path)
    other = tmp_path / "other.toml"
    other.write_text(scenario_text().replace("horizon_months = 3", "horizon_months = 4"))
    words = [str(other) if a == "OTHER" else str(tmp_path / "missing.toml") if a == "MISSING" else a for a in extra]
    scenarios = [path] + ([] if words and words[0].endswith(".toml") else [path])
    assert_bad_input(capsys, ["compare", *scenarios, *words, "--out", previous_output, "--no-progress"],
                     previous_output, names)
