"""Figures are PNG files and axes; the report carries the figures, the numbers and provenance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from csim import __version__  # noqa: E402
from csim.metrics import monthly, summary  # noqa: E402
from csim.plots import plot_customers, plot_mrr, plot_mrr_waterfall, plot_nrr, save_run_figures  # noqa: E402
from csim.report import format_value, write_run_report  # noqa: E402

from .builders import records, stacked, tiny_book  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def frame():
    return monthly(stacked(tiny_book(), [0, 1, 2]))


@pytest.mark.parametrize("plot", [plot_mrr, plot_mrr_waterfall, plot_customers, plot_nrr])
def test_plots_return_the_axes_they_drew_on(plot, frame):
    fig, ax = plt.subplots()
    try:
        assert plot(frame, ax=ax) is ax
        assert ax.get_title()
        own = plot(frame)  # ax=None makes a new figure
        assert own is not ax and own.figure is not fig
        plt.close(own.figure)
    finally:
        plt.close(fig)


def test_waterfall_bars_sum_to_mrr_change(frame):
    fig, ax = plt.subplots()
    plot_mrr_waterfall(frame, ax=ax)
    net = ax.lines[0].get_ydata()
    change = frame.groupby("month")["mrr"].mean() - frame.groupby("month")["mrr_start"].mean()
    assert net == pytest.approx(change.to_numpy())
    plt.close(fig)


def test_nrr_plot_names_both_forms(frame):
    fig, ax = plt.subplots()
    labels = [line.get_label() for line in plot_nrr(frame, ax=ax).lines]
    assert "NRR, trailing-12-month cohort form" in labels and "NRR, monthly period form" in labels
    plt.close(fig)


def test_save_run_figures_writes_pngs(tmp_path, frame):
    paths = save_run_figures(frame, tmp_path / "run")
    assert [p.name for p in paths] == ["mrr.png", "mrr_movements.png", "customers.png", "nrr.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(p.name for p in paths)


def test_empty_run_still_draws(tmp_path):
    paths = save_run_figures(monthly(records(months=0)), tmp_path)
    assert all(p.read_bytes()[:8] == PNG_MAGIC for p in paths)


def test_report_has_numbers_figures_and_provenance(tmp_path, frame):
    book = stacked(tiny_book(), [0, 1, 2])
    result = summary(book, frame)
    figures = save_run_figures(frame, tmp_path)
    path = write_run_report(tmp_path, result, figures, {"scenario_hash": "abc123", "seed": 42})
    text = path.read_text()
    assert path == tmp_path / "report.md"
    assert "# Run report: tiny" in text
    assert "| Ending MRR | 230.00 | n/a (3 finite replications)" not in text  # identical copies: zero width
    assert "| Ending MRR | 230.00 | 230.00 to 230.00 | currency/month | - | `ending_mrr` |" in text
    assert "| Net revenue retention (last 12 months, at the end) | n/a |" in text and "trailing-12-month cohort" in text
    assert "`nrr_t12_end`: run shorter than 13 months" in text
    assert "| Customers lost per year | " + format_value(result["metrics"]["logo_churn_annual"]["mean"], "fraction") in text
    for name in ("mrr.png", "mrr_movements.png", "customers.png", "nrr.png"):
        assert f"]({name})" in text
    assert "| scenario_hash | `abc123` |" in text and "| seed | `42` |" in text
    assert f"| package_version | `{__version__}` |" in text
    assert "Across 3 replications of 4 months" in text


def test_format_value():
    assert format_value(0.1234, "fraction") == "12.3 %"
    assert format_value(1234567.891, "currency/month") == "1,234,567.89"
    assert format_value(float("nan"), "ratio") == "n/a"
    assert format_value(2.5, "ratio") == "2.50"


def test_money_at_a_glance_is_the_same_on_axes_and_in_sentences():
    from matplotlib.figure import Figure

    from csim.plots import money_ticks
    from csim.report import short_money

    assert [short_money(v) for v in (950, 12_000, 1_234_567, 120_448_320.36, -3.4e9)] == [
        "950", "12k", "1.23M", "120M", "-3.4B"]
    ax = Figure().subplots()
    money_ticks(ax.yaxis)
    assert ax.yaxis.get_major_formatter()(2_500_000, 0) == "2.5M"
