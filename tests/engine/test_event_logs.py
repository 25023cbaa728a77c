"""Exact event logs of one account on tiny deterministic scenarios (SimPy style ``log == [...]``).

The base scenario (tests/engine/scenarios.py) has one initial-book account that starts at day 0
with MRR 100.00 (10000 cents, sigma 0) on a 12-month term, and nothing else: no churn, no MRR
movements, no health moves, no leads, no CS team. Each test switches on one mechanism.
A year is 365.25 days, a month 365.25/12 = 30.4375 days; notice is 30 days (at most a quarter
of the term), the onboarding window 90 days.
"""

from __future__ import annotations

import math

import numpy as np

from csim.engine.world import simulate_replication
from csim.records import MONTH_DAYS
from csim.strategy import TOUCH_KINDS
from tests.engine.scenarios import event_log, scenario

YEAR = 365.25
MISSED = (90.0, "first_value_missed", 10000, 10000)


def touches(records):
    t = records.touches
    return [(TOUCH_KINDS[k], round(float(r), 9), round(float(s), 9), round(float(f), 9), float(h))
            for k, r, s, f, h in zip(t["touch"], t["requested"], t["started"], t["finished"], t["csm_hours"])]


def test_renewals_with_price_uplift():
    rec = simulate_replication(scenario(segment={"price_uplift": 0.07}, horizon_months=40), 0)
    assert event_log(rec) == [
        (0.0, "opening", 0, 10000),
        MISSED,
        (YEAR, "renewal", 10000, 10700),
        (2 * YEAR, "renewal", 10700, 11449),
        (3 * YEAR, "renewal", 11449, 12250),   # 11449 · 1.07 = 12250.43
    ]
    assert rec.accounts["renewals"].tolist() == [3]
    assert rec.accounts["final_mrr"].tolist() == [12250]


def test_uplift_only_on_terms_of_a_year_or_more():
    rec = simulate_replication(scenario(segment={"price_uplift": 0.07, "term_months": 6}, horizon_months=13), 0)
    assert event_log(rec) == [
        (0.0, "opening", 0, 10000), MISSED,
        (6 * MONTH_DAYS, "renewal", 10000, 10000),
        (12 * MONTH_DAYS, "renewal", 10000, 10000),
    ]


def test_downgrade_waits_for_the_renewal_of_a_committed_term():
    # Many downgrade decisions in the year, one downgrade at renewal, after the uplift:
    # round(round(10000 · 1.1) · (1 − 0.2)) = 8800.
    scn = scenario(segment={"price_uplift": 0.1, "contraction_rate": 50.0, "contraction_size": 0.2}, horizon_months=13)
    assert event_log(simulate_replication(scn, 0)) == [
        (0.0, "opening", 0, 10000), MISSED, (YEAR, "renewal", 10000, 8800)]


def test_monthly_plan_contracts_at_once():
    scn = scenario(segment={"term_months": 1, "contraction_rate": 3.0, "contraction_size": 0.25}, horizon_months=13)
    log = [e for e in event_log(simulate_replication(scn, 0)) if e[1] != "first_value_missed"]
    assert log[0] == (0.0, "opening", 0, 10000)
    assert [e[1] for e in log[1:]] == ["contraction"] * (len(log) - 1) and len(log) >= 3
    mrr = 10000
    for _, _, before, after in log[1:]:
        assert (before, after) == (mrr, round(mrr * 0.75))
        mrr = after


def test_churn_intent_then_churn_at_term_end():
    rec = simulate_replication(scenario(segment={"annual_churn": 1.0}, horizon_months=24), 0)
    assert event_log(rec) == [
        (0.0, "opening", 0, 10000), MISSED,
        (YEAR - 30.0, "churn_intent", 10000, 10000),
        (YEAR, "churn", 10000, 0),
    ]
    acc = rec.accounts
    assert acc["churned"].tolist() == [True] and acc["end"].tolist() == [YEAR] and acc["final_mrr"].tolist() == [0]


def test_notice_is_capped_at_a_quarter_of_the_term():
    rec = simulate_replication(scenario(segment={"annual_churn": 1.0, "term_months": 1}, horizon_months=3), 0)
    assert event_log(rec) == [
        (0.0, "opening", 0, 10000),
        (0.75 * MONTH_DAYS, "churn_intent", 10000, 10000),
        (MONTH_DAYS, "churn", 10000, 0),
    ]


def test_first_value_reached_at_the_drawn_day():
    scn = scenario(onboarding={"first_value_prob": 1.0, "first_value_sigma": 0.0, "first_value_days": 45.0})
    rec = simulate_replication(scn, 0)
    assert event_log(rec) == [(0.0, "opening", 0, 10000), (45.0, "first_value", 10000, 10000)]
    assert rec.accounts["first_value"].tolist() == [True] and rec.accounts["first_value_day"].tolist() == [45.0]


def test_first_value_after_the_window_is_missed():
    scn = scenario(onboarding={"first_value_prob": 1.0, "first_value_sigma": 0.0, "first_value_days": 120.0})
    rec = simulate_replication(scn, 0)
    assert event_log(rec) == [(0.0, "opening", 0, 10000), MISSED]
    assert rec.accounts["first_value"].tolist() == [False] and np.isnan(rec.accounts["first_value_day"][0])


def test_onboarding_touch_raises_and_speeds_up_first_value():
    # A poor-fit account (good_fit_share 0) with poor_fit_factor 0 cannot reach first value alone;
    # a tech-touch at day 10 adds probability 1 and halves the remaining 35 days: value at 27.5.
    play = {"touch": "onboarding_session", "trigger": "onboarding_start", "delay_days": 10.0, "csm_hours": 0.0,
            "effect": {"first_value_prob": 1.0, "first_value_speedup": 0.5}}
    scn = scenario(segment={"good_fit_share": 0.0},
                   onboarding={"first_value_prob": 1.0, "poor_fit_factor": 0.0, "first_value_sigma": 0.0},
                   strategy={"plays": [play]})
    rec = simulate_replication(scn, 0)
    assert rec.accounts["icp_fit"].tolist() == [False]
    assert event_log(rec) == [(0.0, "opening", 0, 10000), (27.5, "first_value", 10000, 10000)]
    assert touches(rec) == [("onboarding_session", 10.0, 10.0, 10.0, 0.0)]
    # Without the touch the same account misses.
    alone = simulate_replication(scenario(segment={"good_fit_share": 0.0},
                                          onboarding={"first_value_prob": 1.0, "poor_fit_factor": 0.0,
                                                      "first_value_sigma": 0.0}), 0)
    assert event_log(alone) == [(0.0, "opening", 0, 10000), MISSED]


def test_tech_touch_cadence():
    play = {"touch": "tech_touch", "trigger": "cadence", "every_days": 30.0, "delay_days": 10.0, "csm_hours": 0.0}
    rec = simulate_replication(scenario(horizon_months=4, strategy={"plays": [play]}), 0)
    # Horizon 4 months = 121.75 days: touches at 10, 40, 70, 100; done at once, no CSM time.
    assert touches(rec) == [("tech_touch", d, d, d, 0.0) for d in (10.0, 40.0, 70.0, 100.0)]
    assert rec.accounts["touches"].tolist() == [4]
    assert event_log(rec) == [(0.0, "opening", 0, 10000), MISSED]


def test_save_attempt_by_a_csm_reverses_each_churn_intent():
    # One CSM at 35 h/week: a 2-hour touch takes 2·7/35 = 0.4 days.
    play = {"touch": "save_attempt", "trigger": "churn_intent", "csm_hours": 2.0, "effect": {"save_prob": 1.0}}
    scn = scenario(segment={"annual_churn": 1.0}, horizon_months=25,
                   cs_team={"headcount": 1, "hours_per_week": 35.0}, strategy={"plays": [play]})
    rec = simulate_replication(scn, 0)
    assert event_log(rec) == [
        (0.0, "opening", 0, 10000), MISSED,
        (YEAR - 30.0, "churn_intent", 10000, 10000),
        (YEAR - 29.6, "saved", 10000, 10000),
        (YEAR, "renewal", 10000, 10000),
        (2 * YEAR - 30.0, "churn_intent", 10000, 10000),
        (2 * YEAR - 29.6, "saved", 10000, 10000),
        (2 * YEAR, "renewal", 10000, 10000),
    ]
    assert touches(rec) == [("save_attempt", YEAR - 30.0, YEAR - 30.0, round(YEAR - 29.6, 9), 2.0),
                            ("save_attempt", 2 * YEAR - 30.0, 2 * YEAR - 30.0, round(2 * YEAR - 29.6, 9), 2.0)]


def test_no_csm_means_touches_expire():
    play = {"touch": "save_attempt", "trigger": "churn_intent", "csm_hours": 2.0, "effect": {"save_prob": 1.0}}
    rec = simulate_replication(scenario(segment={"annual_churn": 1.0}, strategy={"plays": [play]},
                                        horizon_months=13), 0)
    assert [e[1] for e in event_log(rec)] == ["opening", "first_value_missed", "churn_intent", "churn"]
    t = rec.touches
    assert t["outcome"].tolist() == [1] and math.isnan(t["started"][0])  # expired


def test_involuntary_churn_and_reactivation_keep_the_mrr():
    scn = scenario(segment={"payment_failure_rate": 2.0}, horizon_months=24,
                   payments={"recovery_prob": 0.0, "dunning_days": 14.0},
                   reactivation={"prob_involuntary": 1.0, "mean_days": 30.0})
    log = [e for e in event_log(simulate_replication(scn, 0)) if e[1] not in ("first_value_missed", "renewal")]
    kinds = [e[1] for e in log]
    assert kinds[:5] == ["opening", "payment_failed", "churn_involuntary", "reactivation", "payment_failed"]
    failed, churn, back = log[1], log[2], log[3]
    assert churn[0] == round(failed[0] + 14.0, 9)                   # dunning lasts 14 days
    assert churn[2:] == (10000, 0) and back[2:] == (0, 10000)        # comes back at its last MRR
    assert back[0] > churn[0]
