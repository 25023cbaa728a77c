"""Monthly table: every column on a hand-computed four-account, four-month book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csim.metrics import MONTHLY_COLUMNS, MRRBridgeError, check_mrr_bridge, monthly
from csim.records import MONTH_DAYS

from .builders import mrr_event, records, stacked, tiny_book

MD = MONTH_DAYS


EXPECTED = {
    "replication": [0, 0, 0, 0],
    "month": [0, 1, 2, 3],
    "mrr_start": [300.0, 350.0, 460.0, 110.0],
    "customers_start": [2, 3, 4, 2],
    "new": [50.0, 0.0, 0.0, 0.0],
    "expansion": [0.0, 50.0, 0.0, 0.0],
    "reactivation": [0.0, 80.0, 0.0, 120.0],
    "contraction": [0.0, 20.0, 0.0, 0.0],
    "churn": [0.0, 0.0, 350.0, 0.0],
    "mrr": [350.0, 460.0, 110.0, 230.0],
    "arr": [4200.0, 5520.0, 1320.0, 2760.0],
    "customers": [3, 4, 2, 3],
    "new_customers": [1, 0, 0, 0],
    "reactivated_customers": [0, 1, 0, 1],
    "logos_churned": [0, 0, 2, 0],
    "logo_churn": [0.0, 0.0, 0.5, 0.0],
    "nrr_period": [1.0, 380 / 350, 110 / 460, 1.0],
    "grr_period": [1.0, 330 / 350, 110 / 460, 1.0],
    "nrr_t12": [np.nan] * 4,
    "grr_t12": [np.nan] * 4,
    "leads": [2, 1, 0, 0],
    "deals_won": [2, 0, 0, 0],
    "referral_deals": [1, 0, 0, 0],
    "acquisition_spend": [350.0, 100.0, 0.0, 0.0],
    "cac": [175.0, np.nan, np.nan, np.nan],
    "cs_hours": [2.0, 0.0, 3.5, 0.0],
    "cs_utilisation": [2.0 / MD, 0.0, 3.5 / MD, 0.0],
    "touches_done": [1, 0, 1, 0],
    "touches_expired": [0, 1, 0, 0],
    "mean_touch_wait_days": [2.0, 9.0, np.nan, np.nan],
    # Requests: A (day 3) and the cancelled one (20) in month 0, B (31) and the expired one (50) in
    # month 1, the one still waiting (70) in month 2.
    "cs_requests": [2, 2, 1, 0],
    "cs_served": [1, 1, 0, 0],
    "cs_expired": [0, 1, 0, 0],
    "cs_cancelled": [1, 0, 0, 0],
    "cs_backlog": [0, 0, 1, 1],
    # Waits ending in month 0: A (2 d to its start), the cancelled one (5 d to the churn); month 1:
    # B (9 d), the expired one (10 d to its deadline).
    "cs_wait_mean_days": [3.5, 9.5, np.nan, np.nan],
}


def test_every_column_matches_hand_computation():
    frame = monthly(tiny_book())
    assert list(frame.columns) == list(MONTHLY_COLUMNS)
    assert set(EXPECTED) == set(MONTHLY_COLUMNS)
    expected = pd.DataFrame(EXPECTED)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False, rtol=1e-12)
    check_mrr_bridge(frame)


def test_replications_are_separate_rows():
    frame = monthly(stacked(tiny_book(), [0, 7]))
    assert frame["replication"].tolist() == [0] * 4 + [7] * 4
    assert frame["mrr"].tolist() == EXPECTED["mrr"] * 2


def test_opening_is_opening_balance_not_new():
    frame = monthly(records([mrr_event(1, 0.0, 0, 999, "opening")], months=2))
    assert frame["mrr_start"].tolist() == [9.99, 9.99]
    assert frame["new"].tolist() == [0.0, 0.0]


def test_start_on_month_edge_belongs_to_later_month():
    frame = monthly(records([mrr_event(1, MD, 0, 100)], months=2))
    assert frame["new"].tolist() == [0.0, 1.0]


def test_empty_records_give_empty_frame_with_all_columns():
    frame = monthly(records(months=0))
    assert list(frame.columns) == list(MONTHLY_COLUMNS) and frame.empty
    check_mrr_bridge(frame)
    frame = monthly(records(months=3))  # no replication present at all
    assert frame.empty


def test_month_without_customers_has_nan_ratios():
    leads = [{"lead": 0, "arrived": 1.0, "closed": 2.0, "outcome": "not_converted", "cost": 10.0}]
    frame = monthly(records(leads=leads, months=2))
    assert frame["customers"].tolist() == [0, 0]
    assert frame[["nrr_period", "grr_period", "logo_churn", "cac", "cs_utilisation"]].isna().all().all()


def test_bridge_check_names_the_offending_row():
    frame = monthly(tiny_book())
    frame.loc[2, "churn"] += 0.01
    with pytest.raises(MRRBridgeError, match="replication 0, month 2"):
        check_mrr_bridge(frame)
    frame = monthly(tiny_book())
    frame.loc[3, ["mrr_start", "mrr"]] += 1.0
    with pytest.raises(MRRBridgeError, match="between months at replication 0, month 3"):
        check_mrr_bridge(frame)
