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
