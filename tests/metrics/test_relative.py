"""CS ROI and value per CSM-hour against a reference, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from csim.metrics.relative import relative_values


def _values(**per_label):
    names = ("cumulative_revenue", "cs_cost", "acquisition_spend", "csm_hours_used")
    return {name: {label: np.asarray(v[i], float) for label, v in per_label.items()} for i, name in enumerate(names)}


def test_incremental_roi_and_value_per_hour_by_hand():
    values = _values(ref=([1000.0, 2000.0], [100.0, 100.0], [50.0, 50.0], [10.0, 20.0]),
                     more=([1500.0, 2100.0], [300.0, 300.0], [60.0, 40.0], [30.0, 20.1]))
    out, reasons = relative_values(values, "ref", margin=0.8)
    # replication 0: ΔGP = 0.8 × 500 = 400, ΔCS = 200, Δacq = 10 -> (400 - 200 - 10) / 200
    # replication 1: ΔGP = 80, ΔCS = 200, Δacq = -10 -> (80 - 200 + 10) / 200
    np.testing.assert_allclose(out["cs_roi"]["more"], [190 / 200, -110 / 200])
    # value per CSM-hour: 400 / 20 h; replication 1 within 1 % of the reference's hours: not defined
    assert out["value_per_csm_hour"]["more"][0] == pytest.approx(20.0)
    assert np.isnan(out["value_per_csm_hour"]["more"][1])
    assert "ref" not in out["cs_roi"]
    assert reasons == {"value_per_csm_hour": ["more: CSM-hours within 1% of the reference's (equal effort)"]}


def test_equal_cs_cost_leaves_roi_undefined_with_its_reason():
    values = _values(ref=([1000.0], [100.0], [0.0], [10.0]), same_team=([1200.0], [100.0], [0.0], [15.0]))
    out, reasons = relative_values(values, "ref", margin=0.5)
    assert np.isnan(out["cs_roi"]["same_team"][0])
    assert reasons["cs_roi"] == ["same_team: CS cost equal to the reference's (no extra spend)"]
    assert out["value_per_csm_hour"]["same_team"][0] == pytest.approx(0.5 * 200 / 5)
