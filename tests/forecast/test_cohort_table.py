"""Reading survivor tables: which first column is a label (defect: year labels read as counts)."""

from __future__ import annotations

import pytest

from csim.forecast.data import load_cohort_table


@pytest.mark.parametrize("header", ["x", "0", "period", "cohort_year"])
def test_a_first_column_of_years_is_a_label_whatever_its_header(tmp_path, header):
    path = tmp_path / "cohorts.csv"
    path.write_text(f"{header},1,2,3\n2019,1000,800,700\n2020,900,700,650\n2021,950,800,\n")
    labels, cohorts = load_cohort_table(path)
    assert labels == ["2019", "2020", "2021"]
    assert cohorts == [[1000, 800, 700], [900, 700, 650], [950, 800]]


def test_period_zero_counts_stay_counts(tmp_path):
    path = tmp_path / "cohorts.csv"
    path.write_text("p0,p1,p2\n1000,800,700\n900,700,650\n")
    labels, cohorts = load_cohort_table(path)
    assert labels == ["cohort 1", "cohort 2"]
    assert cohorts == [[1000, 800, 700], [900, 700, 650]]


def test_a_youngest_cohort_with_only_its_period_zero_count_is_used_not_refused(tmp_path):
    """It holds no churn, so the fits equal those without it, and the output says so."""
    import json

    from csim.cli import main

    rows = "cohort,p0,p1,p2,p3\n2021,1000,800,700,650\n2022,900,720,640,\n2023,950,780,,\n"
    with_young = tmp_path / "with.csv"
    with_young.write_text(rows + "2024,1000,,,\n")
    without = tmp_path / "without.csv"
    without.write_text(rows)
    labels, cohorts = load_cohort_table(with_young)
    assert labels[-1] == "2024" and cohorts[-1] == [1000]
    results = []
    for path in (with_young, without):
        out = tmp_path / path.stem
        assert main(["forecast", str(path), "--cohorts", "--horizon", "6", "--draws", "100", "--out", str(out)]) == 0
        results.append(json.loads((out / "forecast.json").read_text()))
    assert results[0]["models"]["sbg"]["parameters"] == results[1]["models"]["sbg"]["parameters"]
    assert any(note.startswith("cohort 2024: only its period-0 count") for note in results[0]["notes"])


def test_a_table_of_period_zero_counts_only_is_refused(tmp_path, capsys):
    from tests.bad_input import assert_bad_input

    path = tmp_path / "young.csv"
    path.write_text("cohort,p0,p1\n2023,1000,\n2024,900,\n")
    assert_bad_input(capsys, ["forecast", path, "--cohorts", "--out", tmp_path / "o"], tmp_path / "o",
                     [str(path), "column 'p1'", "no cohort has a count for period 1"])
