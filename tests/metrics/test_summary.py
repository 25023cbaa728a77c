"""Headline summary: hand-computed values, intervals against scipy, degenerate runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from csim.metrics import METRICS, monthly, summary, summary_frame, t_interval, t_interval_by
from csim.records import MONTH_DAYS, Records

from .builders import mrr_event, records, stacked, tiny_book


def values(result):
    return {name: m["mean"] for name, m in result["metrics"].items()}


def test_summary_of_tiny_book_by_hand():
    result = summary(tiny_book())
    got = values(result)
    arpa = 1150 / 12  # sum of month-end MRR / sum of month-end customers
    churn = 2 / 11  # logos lost / customers at month starts (2 + 3 + 4 + 2)
    expected = {
        "ending_mrr": 230.0,
        "ending_arr": 2760.0,
        "ending_customers": 3.0,
        "nrr_period_mean": np.mean([1.0, 380 / 350, 110 / 460, 1.0]),
        "grr_period_mean": np.mean([1.0, 330 / 350, 110 / 460, 1.0]),
        "logo_churn_monthly": churn,
        "logo_churn_annual": 1 - (1 - churn) ** 12,
        "new_customers": 2.0,
        "acquisition_spend": 450.0,
        "cac": 225.0,
        "arpa": arpa,
        "ltv": arpa * 0.8 / churn,
        "ltv_revenue": arpa / churn,
        # month-start MRR 300, 350, 460, 110; expansion 50 and contraction 20 over the run
        "ltv_discounted": arpa * 0.8 / (1.1 ** (1 / 12) - 1 + churn - (50 - 20) / (300 + 350 + 460 + 110)),
        "ltv_cac": arpa * 0.8 / churn / 225.0,
        # new customers 2 (first MRR 50) and 4 (40): payback on new-customer ARPA 45, not the book's
        "new_customer_arpa": 45.0,
        "cac_per_new_arr": 450.0 / (12 * 90.0),
        "cac_payback_months": 225.0 / (45.0 * 0.8),
        "cumulative_revenue": 1150.0,
        "logo_churn_annual_window": 1 - (1 - churn) ** 12,  # the 4-month run lies inside the 12-month window
        "csm_hours_used": 5.5,
        "touches_expired_share": 1 / 5,
        "cs_unserved_share": 2 / 5,  # one expired, one still waiting at the horizon, of five requests
        "cs_backlog_at_horizon": 1.0,
        "cs_months_saturated": 0.0,
        "quick_ratio": (50 + 50) / (350 + 20),
        "referral_share": 0.5,
        "expansion_share": 0.5,
        "cs_cost": 120000.0 * 4 / 12,
        "cs_utilisation": 5.5 / (4 * MONTH_DAYS),
        "mean_touch_wait_days": 5.5,
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12), name
    assert math.isnan(got["nrr_t12_end"]) and math.isnan(got["grr_t12_end"])
    assert result["nan_reasons"]["nrr_t12_end"] == ["run shorter than 13 months"]
    assert set(got) == {name for name, m in METRICS.items() if not m.relative}
    assert math.isnan(got["nrr_t12_window"])
    assert result["scenario_name"] == "tiny" and result["replications"] == [0] and result["months"] == 4
    # One replication: a mean but no interval.
    m = result["metrics"]["ending_mrr"]
    assert m["n"] == 1 and math.isnan(m["ci_low"]) and math.isnan(m["ci_high"])
    json.dumps(result)  # JSON-ready (NaN allowed as in Python's json)


def test_discounted_ltv_diverges_when_expansion_outpaces_churn_and_discounting():
    book = tiny_book()
    # Monthly churn 2/11 and net expansion 30/1220: with a discount rate of -99 % a year (monthly
    # 0.01^(1/12) - 1 ≈ -0.32) the denominator discount + churn - growth is negative: the series diverges.
    fast = Records(horizon_days=book.horizon_days, segments=book.segments,
                   meta={**book.meta, "discount_rate_annual": -0.99}, events=book.events, accounts=book.accounts,
                   leads=book.leads, touches=book.touches)
    result = summary(fast)
    assert math.isnan(result["metrics"]["ltv_discounted"]["mean"])
    assert "net expansion outpaces churn plus discounting: the discounted LTV diverges" in result["nan_reasons"]["ltv_discounted"]


def test_named_forms_and_frame():
    result = summary(tiny_book())
    assert result["metrics"]["nrr_t12_end"]["form"] == "trailing-12-month cohort, last month"
    assert result["metrics"]["nrr_t12_window"]["form"] == "trailing-12-month cohort, mean over the last 12 months"
    assert result["metrics"]["nrr_period_mean"]["form"].startswith("monthly period")
    table = summary_frame(result)
    assert table["metric"].tolist() == [name for name, m in METRICS.items() if not m.relative]
    assert table.set_index("metric").loc["nrr_t12_end", "nan_reason"] == "run shorter than 13 months"


def test_interval_across_replications_matches_scipy():
    mrr = [100_00, 200_00, 600_00]
    book = records([mrr_event(1, 0.0, 0, v, "opening", replication=r) for r, v in enumerate(mrr)], months=2)
    m = summary(book)["metrics"]["ending_mrr"]
    x = np.array(mrr) / 100
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (m["mean"], m["n"]) == (300.0, 3)
    assert m["ci_low"] == pytest.approx(low) and m["ci_high"] == pytest.approx(high)
    assert m["per_replication"] == [100.0, 200.0, 600.0]


def test_t_interval_known_numbers():
    x = [2.0, 4.0, 4.0, 5.0, 10.0, np.nan, np.inf]  # non-finite values are dropped
    got = t_interval(x, 0.9)
    finite = np.array(x[:5])
    low, high = stats.t.interval(0.9, 4, loc=finite.mean(), scale=stats.sem(finite))
    assert got.n == 5 and got.mean == 5.0
    assert got.low == pytest.approx(low) and got.high == pytest.approx(high)
    assert t_interval([]).n == 0 and math.isnan(t_interval([]).mean)
    one = t_interval([3.0])
    assert one.mean == 3.0 and math.isnan(one.low) and one.n == 1
    same = t_interval([1.0, 1.0])
    assert same.low == same.high == 1.0


def test_t_interval_by_matches_scalar_version():
    frame = monthly(stacked(tiny_book(), [0, 1, 2]))
    frame.loc[frame["replication"] == 1, "mrr"] += 30.0
    by = t_interval_by(frame, "month", "mrr")
    for month, row in by.iterrows():
        ref = t_interval(frame.loc[frame["month"] == month, "mrr"])
        assert row["mean"] == pytest.approx(ref.mean) and row["low"] == pytest.approx(ref.low)
        assert row["n"] == ref.n


def test_degenerate_runs_do_not_crash():
    empty = summary(records(months=3))
    assert empty["replications"] == []
    assert all(m["n"] == 0 and math.isnan(m["mean"]) for m in empty["metrics"].values())
    # One customer, no churn, no leads, no meta: the ratios that would divide by zero are NaN with a reason.
    quiet = summary(records([mrr_event(1, 0.0, 0, 100, "opening")], months=2))
    got = values(quiet)
    assert got["ending_mrr"] == 1.0 and got["logo_churn_monthly"] == 0.0
    for name in ("ltv", "ltv_revenue", "ltv_cac", "cac", "quick_ratio", "cs_cost", "cs_utilisation",
                 "mean_touch_wait_days", "referral_share", "expansion_share", "cac_payback_months"):
        assert math.isnan(got[name]), name
        assert quiet["nan_reasons"][name], name
    assert "no logo churn observed: lifetime unbounded" in quiet["nan_reasons"]["ltv"]
    assert "meta gross_margin missing" in quiet["nan_reasons"]["ltv"]


def test_payback_by_segment_by_hand():
    # tiny_book: both new accounts (2: first MRR 50, lead cost 300; 4: 40, lead cost 50) are in
    # segment 0; the unconverted lead (cost 100) too. Segment 1 acquired nobody.
    by_segment = summary(tiny_book())["by_segment"]
    smb = by_segment["smb"]
    assert smb["cac"]["mean"] == pytest.approx(450.0 / 2)
    assert smb["new_customer_arpa"]["mean"] == pytest.approx(45.0)
    assert smb["cac_payback_months"]["mean"] == pytest.approx(225.0 / (45.0 * 0.8))
    assert math.isnan(by_segment["enterprise"]["cac_payback_months"]["mean"])


def test_touches_by_play_by_hand():
    # tiny_book's five requests are all of play 0: two served (2 h and 3.5 h), one expired, one
    # cancelled by a churn, one still waiting at the end.
    from csim.strategy import TOUCH_KINDS

    assert summary(tiny_book())["cs_by_play"] == [
        {"play": 0, "touch": TOUCH_KINDS[0], "requests": 5.0, "done": 2.0, "expired": 1.0, "cancelled": 1.0,
         "waiting": 1.0, "csm_hours": 5.5}]


def test_warmup_months_leave_the_first_months_out_of_run_level_rates():
    # tiny_book with month 0 as warm-up: months 1-3 start with 3, 4, 2 customers and lose 0, 2, 0;
    # month-end MRR 460, 110, 230 over 4 + 2 + 3 customers; both new accounts started in month 0.
    from dataclasses import replace

    book = tiny_book()
    plain = summary(book)["metrics"]
    warm = summary(replace(book, meta={**book.meta, "warmup_months": 1}))
    m = warm["metrics"]
    churn = 2 / 9
    assert m["logo_churn_monthly"]["mean"] == pytest.approx(churn)
    assert m["arpa"]["mean"] == pytest.approx(800 / 9)
    assert m["new_customers"]["mean"] == 0.0 and math.isnan(m["cac"]["mean"])
    assert warm["warmup_months"] == 1
    for name in ("ending_arr", "ending_customers", "cumulative_revenue", "logo_churn_annual_window"):
        assert m[name]["mean"] == pytest.approx(plain[name]["mean"]), name
