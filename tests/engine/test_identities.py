"""Identities that must hold exactly on any engine scenario (hypothesis-generated).

* the MRR bridge, to the cent, every month of every replication (``check_mrr_bridge``);
* per-account MRR continuity: each event's ``mrr_before`` is the account's previous ``mrr_after``;
* accounts: acquired = active at the horizon + churned-and-not-back, and the account table agrees
  with the event log (first churn day, reactivation, final MRR, renewals, expansions);
* logos: customers at month end = start + new + reactivated − churned, and the last month's
  customers are the accounts with final MRR > 0.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csim.engine.runner import simulate
from csim.metrics import check_mrr_bridge, monthly
from csim.records import CHANNELS, EVENT_KINDS, LEAD_OUTCOMES, TOUCH_OUTCOMES
from csim.scenario import Scenario

K = {name: code for code, name in enumerate(EVENT_KINDS)}
CHURN_KINDS = (K["churn"], K["churn_involuntary"])
ACQUIRE_KINDS = (K["opening"], K["start"])

rates = st.floats(0.0, 4.0, allow_nan=False)
probs = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def segments(draw, name: str):
    return {
        "name": name, "lead_share": draw(st.floats(0.1, 1.0)), "mrr_median": draw(st.floats(10.0, 5000.0)),
        "mrr_sigma": draw(st.floats(0.0, 1.0)), "term_months": draw(st.sampled_from([1, 3, 12])),
        "price_uplift": draw(st.floats(0.0, 0.2)), "annual_churn": draw(probs),
        "expansion_rate": draw(rates), "expansion_size": draw(st.floats(0.0, 0.5)),
        "contraction_rate": draw(rates), "contraction_size": draw(probs),
        "payment_failure_rate": draw(rates), "good_fit_share": draw(probs), "conversion": draw(probs),
        "sales_cycle_days": draw(st.floats(1.0, 60.0)), "referral_rate": draw(st.floats(0.0, 2.0)),
    }


PLAYS = [
    {"touch": "onboarding_session", "trigger": "onboarding_start", "csm_hours": 2.0,
     "effect": {"first_value_prob": 0.3, "first_value_speedup": 0.5, "health": 0.1}},
    {"touch": "tech_touch", "trigger": "cadence", "every_days": 20.0, "delay_days": 5.0, "csm_hours": 0.0,
     "effect": {"health": 0.02, "renewal_logodds": 0.3}},
    {"touch": "health_intervention", "trigger": "health_below", "threshold": 0.45, "cooldown_days": 30.0,
     "csm_hours": 3.0, "duration": "exponential", "effect": {"target_health": 0.1, "health": 0.1}},
    {"touch": "expansion_offer", "trigger": "health_above", "threshold": 0.55, "csm_hours": 1.0,
     "effect": {"expansion_prob": 0.5}},
    {"touch": "renewal_call", "trigger": "renewal_window", "delay_days": 10.0, "csm_hours": 1.0,
     "effect": {"renewal_logodds": 1.0}},
    {"touch": "save_attempt", "trigger": "churn_intent", "csm_hours": 4.0, "priority": 0, "deadline_days": 10.0,
     "effect": {"save_prob": 0.5}},
    {"touch": "support", "trigger": "request", "rate_per_year": 2.0, "csm_hours": 1.0, "duration": "exponential",
     "effect": {"health": -0.02}},
    {"touch": "first_value_check", "trigger": "first_value_missed", "csm_hours": 1.0, "effect": {"health": 0.05}},
]


@st.composite
def scenarios(draw) -> Scenario:
    n_segments = draw(st.integers(1, 2))
    plays = draw(st.lists(st.sampled_from(PLAYS), max_size=4, unique_by=lambda p: p["touch"]))
    return Scenario.model_validate({
        "name": "prop", "seed": draw(st.integers(0, 2**31)), "replications": 2, "normalize_lead_shares": True,
        "horizon_months": draw(st.integers(3, 18)),
        "segments": [draw(segments(f"s{i}")) for i in range(n_segments)],
        "acquisition": {"leads_per_month": draw(st.floats(0.0, 20.0)), "lead_growth_annual": draw(st.floats(-0.5, 1.0))},
        "initial_book": {"customers": draw(st.integers(0, 40)), "max_tenure_months": draw(st.floats(0.0, 36.0))},
        "health": {"reviews_per_year": draw(st.floats(0.0, 12.0)), "churn_effect": draw(st.floats(-4.0, 8.0))},
        "payments": {"dunning_days": draw(st.floats(0.0, 30.0)), "recovery_prob": draw(probs)},
        "reactivation": {"prob_voluntary": draw(probs), "prob_involuntary": draw(probs),
                         "mean_days": draw(st.floats(1.0, 200.0))},
        "referral": {"conversion": draw(probs), "detractor_loss": draw(st.floats(0.0, 0.5))},
        "renewal": {"notice_days": draw(st.floats(0.0, 60.0)), "window_days": draw(st.floats(1.0, 120.0))},
        "cs_team": {"headcount": draw(st.integers(0, 3)), "hours_per_week": draw(st.floats(5.0, 40.0))},
        "strategy": {"name": "mixed", "plays": plays},
    })


def _check_account_continuity(rec) -> None:
    ev = rec.events
    order = np.lexsort((np.arange(ev["time"].size), ev["account"], ev["replication"]))
    rep, acct = ev["replication"][order], ev["account"][order]
    before, after, time = ev["mrr_before"][order], ev["mrr_after"][order], ev["time"][order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (rep[1:] != rep[:-1]) | (acct[1:] != acct[:-1])
    # The first event of an account opens it from 0; every later one continues the previous.
    assert np.all(before[first] == 0)
    assert np.all(np.isin(ev["kind"][order][first], ACQUIRE_KINDS))
    assert np.array_equal(before[~first], after[np.flatnonzero(~first) - 1])
    # An account's events are logged in time order.
    assert np.all(np.diff(time)[~first[1:]] >= 0.0)


def _check_accounts(rec) -> None:
    ev, acc = rec.events, rec.accounts
    horizon = rec.horizon_days
    assert np.all((ev["time"] >= 0.0) & (ev["time"] < horizon))
    for r in np.unique(acc["replication"]).tolist():
        a = {c: v[acc["replication"] == r] for c, v in acc.items()}
        e = {c: v[ev["replication"] == r] for c, v in ev.items()}
        ids = a["account"]
        assert np.unique(ids).size == ids.size
        acquired = np.isin(e["kind"], ACQUIRE_KINDS)
        assert np.array_equal(np.sort(e["account"][acquired]), np.sort(ids))
        # Final MRR is the last MRR-carrying event of each account (events carry the current MRR).
        last = {}
        for account, value in zip(e["account"].tolist(), e["mrr_after"].tolist()):
            last[account] = value
        assert [last[i] for i in ids.tolist()] == a["final_mrr"].tolist()
        # acquired = active + churned-and-not-back
        active = a["final_mrr"] > 0
        gone = np.array([last[i] == 0 for i in ids.tolist()])
        assert active.sum() + gone.sum() == ids.size
        # Only a churn takes an account to 0; a never-churned account is active.
        assert np.all(a["churned"][~active])
        assert np.all(active[~a["churned"]])
        # first churn day and churn flag match the log
        churn_rows = np.isin(e["kind"], CHURN_KINDS)
        first_churn = {}
        for account, t in zip(e["account"][churn_rows].tolist(), e["time"][churn_rows].tolist()):
            first_churn.setdefault(account, t)
        assert a["churned"].tolist() == [i in first_churn for i in ids.tolist()]
        assert a["end"].tolist() == [first_churn.get(i, horizon) for i in ids.tolist()]
        # counters
        for kind, column in (("reactivation", "reactivated"), ("renewal", "renewals"), ("expansion", "expansions")):
            counts = {}
            for account in e["account"][e["kind"] == K[kind]].tolist():
                counts[account] = counts.get(account, 0) + 1
            expected = [counts.get(i, 0) for i in ids.tolist()]
            got = a[column].tolist()
            assert got == (expected if column != "reactivated" else [c > 0 for c in expected]), column
        # initial MRR is the acquisition event's
        acq = dict(zip(e["account"][acquired].tolist(), e["mrr_after"][acquired].tolist()))
        assert a["initial_mrr"].tolist() == [acq[i] for i in ids.tolist()]
        # Won leads are the marketing and referral accounts.
        leads = {c: v[rec.leads["replication"] == r] for c, v in rec.leads.items()}
        won = leads["outcome"] == LEAD_OUTCOMES.index("won")
        assert np.array_equal(np.sort(leads["account"][won]), np.sort(ids[a["channel"] != CHANNELS.index("initial")]))
        assert np.all(leads["account"][~won] == -1)


def _check_monthly(rec) -> None:
    table = monthly(rec)
    check_mrr_bridge(table)
    logos = table["customers_start"] + table["new_customers"] + table["reactivated_customers"] - table["logos_churned"]
    assert np.array_equal(logos.to_numpy(), table["customers"].to_numpy())
    last = table[table["month"] == rec.horizon_months - 1].set_index("replication")["customers"]
    for r, customers in last.items():
        active = (rec.accounts["final_mrr"] > 0) & (rec.accounts["replication"] == r)
        assert customers == active.sum()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(scenarios())
def test_engine_identities(scn):
    rec = simulate(scn, executor="serial", progress=False)
    _check_account_continuity(rec)
    _check_accounts(rec)
    _check_monthly(rec)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.floats(0.5, 40.0))
def test_every_request_ends_as_exactly_one_thing(scenario, deadline):
    """Requests made = served + expired + cancelled + waiting at the horizon, per play and per
    month; expiry and cancellation are recorded when they happen, and nothing ends after the horizon."""
    from csim.metrics.cs import cs_effort

    plays = [{**p, "deadline_days": deadline} for p in scenario.model_dump()["strategy"]["plays"]]
    data = scenario.model_dump()
    data["strategy"]["plays"] = plays
    scenario = Scenario.model_validate(data)
    rec = simulate(scenario, 2, executor="serial", progress=False)
    t = rec.touches
    outcome = {name: t["outcome"] == code for code, name in enumerate(TOUCH_OUTCOMES)}
    # Exactly one outcome each, and each outcome's times are those of that fate.
    assert sum(m.astype(int) for m in outcome.values()).tolist() == [1] * t["outcome"].size
    horizon = rec.horizon_days
    assert (t["requested"] < horizon).all()
    ended = t["ended"]
    assert np.isnan(ended[outcome["waiting"]]).all() and np.isnan(t["started"][outcome["waiting"]]).all()
    for fate in ("expired", "cancelled"):
        assert np.isnan(t["started"][outcome[fate]]).all() and (ended[outcome[fate]] < horizon).all()
    # At the deadline; with no CSM at all a CSM touch can never be served and ends at once.
    wait = deadline if scenario.cs_team.headcount > 0 else 0.0
    np.testing.assert_allclose(ended[outcome["expired"]] - t["requested"][outcome["expired"]], wait, atol=1e-9)
    assert (ended[outcome["cancelled"]] >= t["requested"][outcome["cancelled"]]).all()
    served = outcome["done"]
    assert (t["started"][served] - t["requested"][served] <= deadline + 1e-9).all()
    # Per play and replication: the four fates add up to the requests made.
    effort = cs_effort(rec, by_play=True)
    np.testing.assert_array_equal(effort["requests"], effort["done"] + effort["expired"] + effort["cancelled"]
                                  + effort["waiting"])
    # Per month: requests made to date = fates to date + backlog at the month end.
    table = monthly(rec)
    for _, rows in table.groupby("replication"):
        made = rows["cs_requests"].cumsum().to_numpy()
        settled = (rows["cs_served"] + rows["cs_expired"] + rows["cs_cancelled"]).cumsum().to_numpy()
        np.testing.assert_array_equal(made, settled + rows["cs_backlog"].to_numpy())
