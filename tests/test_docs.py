"""The documentation tells the truth about the code."""

from pathlib import Path

from csim.scenario.reference import BEGIN, END, PRIORS_BEGIN, PRIORS_END, parameter_table, prior_table

ROOT = Path(__file__).resolve().parents[1]


def test_model_doc_lists_every_parameter_as_the_schema_defines_it():
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == parameter_table(), "regenerate with: python -m csim.scenario.reference"


def test_every_scenario_file_in_the_repository_loads():
    from csim.scenario import load_scenario

    files = sorted((ROOT / "scenarios").glob("*.toml"))
    assert files, "no scenario files found"
    for path in files:
        scenario = load_scenario(path)
        assert scenario.name == path.stem, f"{path.name}: name should match the file name"


def _readme_commands() -> list[str]:
    """The `csim ...` command lines of the README's shell blocks, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```sh"
            continue
        if inside and line.startswith("csim "):
            commands.append(line.split("#")[0].strip())
    return commands


def test_readme_tour_commands_run(tmp_path, monkeypatch, capsys):
    """Every `csim` command in the README runs as written (outputs go to a temporary folder)."""
    import shlex

    from csim.cli import main

    commands = _readme_commands()
    assert len(commands) >= 4
    monkeypatch.chdir(ROOT)
    for command in commands:
        argv = shlex.split(command)[1:]
        if "--out" in argv:
            i = argv.index("--out") + 1
            argv[i] = str(tmp_path / argv[i])
        argv = argv + (["--no-progress"] if argv[0] in ("run", "compare", "sweep") else [])
        assert main(argv) == 0, command
        if "--out" in argv:
            out = Path(argv[argv.index("--out") + 1])
            assert (out / "report.md").exists(), f"{command}: no report.md in {out}"
    assert "properties" in capsys.readouterr().out  # csim schema printed the JSON Schema


def test_model_doc_lists_every_effect_prior_of_the_scenario_files():
    """docs/model.md's effect-prior table is the one the scenario files give (every distribution, its source)."""
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    start, end = text.index(PRIORS_BEGIN), text.index(PRIORS_END) + len(PRIORS_END)
    assert text[start:end] == prior_table(ROOT / "scenarios"), \
        "regenerate with: python -m csim.scenario.reference priors"
