"""NRR/GRR in the monthly period form and the trailing-12-month cohort form, and cohort tables."""

from __future__ import annotations

import numpy as np
import pytest

from csim.metrics import annualise, cohort_retention, monthly
from csim.records import MONTH_DAYS

from .builders import mrr_event, records

MD = MONTH_DAYS


def t12_book():
    """A: 100 -> 200 in month 6. B: 100, churns in month 3, pays 50 again in month 8.
    C: new in month 5 (not in the month-0 cohort)."""
    return records([
        mrr_event(1, 0.0, 0, 10000, "opening"),
        mrr_event(1, 6 * MD + 1, 10000, 20000),
        mrr_event(2, 0.0, 0, 10000, "opening"),
        mrr_event(2, 3 * MD + 1, 10000, 0),
        mrr_event(2, 8 * MD + 1, 0, 5000, "reactivation"),
        mrr_event(3, 5 * MD + 1, 0, 7000),
    ], months=14)


def test_t12_and_period_forms_differ_and_are_named():
    frame = monthly(t12_book())
    assert frame.loc[:11, ["nrr_t12", "grr_t12"]].isna().all().all()
    # Month 12: cohort = customers at end of month 0 (A, B: 200 in all); now A 200, B 50.
    assert frame.loc[12, "nrr_t12"] == pytest.approx(250 / 200)
    assert frame.loc[12, "grr_t12"] == pytest.approx((100 + 50) / 200)
    assert frame.loc[13, "nrr_t12"] == pytest.approx(250 / 200)
    # Period form: nothing moves in months 9..13, so it is exactly 1.
    assert frame.loc[12, "nrr_period"] == 1.0 and frame.loc[12, "grr_period"] == 1.0
    # Month 6: A expands 100 -> 200 among A (100) and C (70): period NRR 270/170, GRR 1.
    assert frame.loc[6, "nrr_period"] == pytest.approx(270 / 170)
    assert frame.loc[6, "grr_period"] == 1.0


def test_annualise():
    assert annualise(0.0) == 0.0
    assert annualise(0.01) == pytest.approx(1 - 0.99**12)
    np.testing.assert_allclose(annualise(np.array([1.0, 0.5])), [1.0, 1 - 0.5**12])


def cohort_book():
    """Month-0 cohort: a (100) churns in month 2, b (100) expands to 150 in month 1.
    Month-1 cohort: c (50) stays. Opening account d is left out of cohort tables."""
    return records([
        mrr_event(1, 1.0, 0, 100),
        mrr_event(1, 2 * MD + 1, 100, 0),
        mrr_event(2, 2.0, 0, 100),
        mrr_event(2, MD + 1, 100, 150),
        mrr_event(3, MD + 3, 0, 50),
        mrr_event(4, 0.0, 0, 999, "opening"),
    ], months=3)


def test_cohort_retention_logos_and_revenue():
    logos = cohort_retention(cohort_book(), "logos")
    assert logos.index.tolist() == [0, 1] and logos.columns.tolist() == [0, 1, 2]
    np.testing.assert_allclose(logos.loc[0].to_numpy(), [1.0, 1.0, 0.5])
    np.testing.assert_allclose(logos.loc[1].to_numpy(), [1.0, 1.0, np.nan])
    revenue = cohort_retention(cohort_book(), "revenue")
    np.testing.assert_allclose(revenue.loc[0].to_numpy(), [1.0, 1.25, 0.75])
    np.testing.assert_allclose(revenue.loc[1].to_numpy(), [1.0, 1.0, np.nan])


def test_cohort_retention_means_over_replications():
    book = cohort_book()
    # Replication 1: only account 1 (month-0 cohort, churns in month 2) -> logos 1, 1, 0.
    events = {c: np.concatenate([v, v[:2]]) for c, v in book.events.items()}
    events["replication"][-2:] = 1
    two = type(book)(events=events, accounts=book.accounts, leads=book.leads, touches=book.touches,
                     horizon_days=book.horizon_days, segments=book.segments)
    logos = cohort_retention(two, "logos")
    np.testing.assert_allclose(logos.loc[0].to_numpy(), [1.0, 1.0, 0.25])
    np.testing.assert_allclose(logos.loc[1].to_numpy(), [1.0, 1.0, np.nan])  # only in replication 0


def test_cohort_retention_degenerate():
    assert cohort_retention(records(months=3)).empty
    with pytest.raises(ValueError, match="logos"):
        cohort_retention(cohort_book(), "dollars")
