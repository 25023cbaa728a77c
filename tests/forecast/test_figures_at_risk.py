"""Every Kaplan–Meier figure prints the number still at risk under its axis, one row per curve."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from csim.compare.figures import plot_survival as compare_survival  # noqa: E402
from csim.forecast import KaplanMeier  # noqa: E402
from csim.forecast.plots import plot_groups, plot_survival  # noqa: E402


def _curves():
    rng = np.random.default_rng(4)
    out = {}
    for label, scale in (("small", 6.0), ("large", 12.0)):
        t = np.ceil(rng.exponential(scale, 300))
        out[label] = KaplanMeier().fit(t, (t < 20).astype(float))
    return out


def _rows(ax) -> dict[float, list[str]]:
    rows: dict[float, list[str]] = {}
    for text in ax.texts:
        x, y = text.get_position()
        if y < 0:
            rows.setdefault(round(y, 3), []).append(text.get_text())
    return rows


def _check(ax, curves) -> None:
    rows = _rows(ax)
    assert len(rows) == len(curves)
    ticks = [x for x in ax.get_xticks() if ax.get_xlim()[0] <= x <= ax.get_xlim()[1]]
    for (y, texts), (label, km) in zip(sorted(rows.items(), reverse=True), curves.items()):
        table = km.table_ if hasattr(km, "table_") else km
        assert texts[0] == label
        # The count under tick x is the number at risk at the first tenure at or after x.
        expected = [int(table["at_risk"][table["t"] >= x].iloc[0]) if (table["t"] >= x).any() else 0 for x in ticks]
        assert [int(s.replace(",", "")) for s in texts[1:]] == expected


def test_group_survival_figure_has_an_at_risk_row_per_group():
    curves = _curves()
    ax = plot_groups(curves, ax=Figure().subplots())
    _check(ax, curves)


def test_single_curve_figure_keeps_its_at_risk_row():
    km = _curves()["small"]
    ax = plot_survival(km, ax=Figure().subplots())
    _check(ax, {"at risk": km})


def test_compare_survival_figure_has_an_at_risk_row_per_scenario():
    tables = {label: km.table_ for label, km in _curves().items()}
    ax = compare_survival(tables, ax=Figure().subplots())
    _check(ax, tables)
