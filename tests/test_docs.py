"""The documentation tells the truth about the code."""

from pathlib import Path

from csim.scenario.reference import BEGIN, END, parameter_table

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
