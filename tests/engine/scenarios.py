"""Small engine scenarios for the tests: everything random switched off unless a test turns it on."""

from __future__ import annotations

from typing import Any, Mapping

from csim.records import EVENT_KINDS, Records
from csim.scenario import Scenario
from csim.scenario.load import _merge as merge

#: A small scenario file for the command-line tests: 20 initial accounts, a few leads, 3 months.
TINY_TOML = """\
name = "tiny"
horizon_months = 3
replications = 2
seed = 11

[[segments]]
name = "smb"
lead_share = 1.0
mrr_median = 100.0
annual_churn = 0.3
term_months = 1

[acquisition]
leads_per_month = 5

[initial_book]
customers = 20
"""

#: One segment, one initial-book account at tenure 0, no leads, no churn, no MRR movement,
#: no health moves, no reactivation, no CS team. Tests switch on the one mechanism they check.
QUIET: dict[str, Any] = {
    "name": "quiet",
    "horizon_months": 12,
    "seed": 7,
    "replications": 1,
    "segments": [{
        "name": "solo", "lead_share": 1.0, "mrr_median": 100.0, "mrr_sigma": 0.0, "term_months": 12,
        "price_uplift": 0.0, "annual_churn": 0.0, "expansion_rate": 0.0, "contraction_rate": 0.0,
        "payment_failure_rate": 0.0, "referral_rate": 0.0, "good_fit_share": 1.0,
    }],
    "acquisition": {"leads_per_month": 0.0, "lead_growth_annual": 0.0},
    "initial_book": {"customers": 1, "max_tenure_months": 0.0},
    "health": {"reviews_per_year": 0.0, "churn_effect": 0.0, "initial_sd": 0.0},
    "onboarding": {"first_value_prob": 0.0},
    "reactivation": {"prob_voluntary": 0.0, "prob_involuntary": 0.0},
    "cs_team": {"headcount": 0},
}


_SEGMENT = {"lead_share": 0.5, "mrr_median": 100.0, "annual_churn": 0.35, "expansion_rate": 0.5,
            "contraction_rate": 0.2, "payment_failure_rate": 0.1, "referral_rate": 0.3, "mrr_sigma": 0.6,
            "good_fit_share": 0.6, "conversion": 0.3}
#: Two segments (monthly and annual), leads, an initial book, every MRR movement, and CS plays on a
#: team of one that cannot keep up: touches expire, so headcount changes what happens.
CS_WORLD: dict[str, Any] = dict(
    segments=[{**_SEGMENT, "name": "monthly", "term_months": 1}, {**_SEGMENT, "name": "annual", "term_months": 12}],
    horizon_months=24, seed=99,
    acquisition={"leads_per_month": 30.0},
    initial_book={"customers": 300, "max_tenure_months": 24.0},
    health={"reviews_per_year": 4.0, "churn_effect": 4.0, "initial_sd": 0.1},
    onboarding={"first_value_prob": 0.6},
    reactivation={"prob_voluntary": 0.05, "prob_involuntary": 0.2},
    cs_team={"headcount": 1},
    strategy={"name": "cs", "plays": [
        {"touch": "health_intervention", "trigger": "health_below", "threshold": 0.45, "csm_hours": 8.0,
         "deadline_days": 14.0, "effect": {"health": 0.15, "target_health": 0.1}},
        {"touch": "renewal_call", "trigger": "renewal_window", "csm_hours": 6.0, "deadline_days": 14.0,
         "effect": {"renewal_logodds": 1.0}},
        {"touch": "save_attempt", "trigger": "churn_intent", "csm_hours": 2.0, "priority": 0,
         "effect": {"save_prob": 0.5}},
    ]},
)


def scenario(segment: Mapping[str, Any] | None = None, **sections: Any) -> Scenario:
    """QUIET with ``segment`` merged into its one segment and ``sections`` merged at the top."""
    data = merge(QUIET, sections)
    if segment is not None:
        data["segments"] = [merge(QUIET["segments"][0], segment)]
    return Scenario.model_validate(data)


def event_log(records: Records, account_index: int | None = None) -> list[tuple[float, str, int, int]]:
    """Events as ``(day, kind name, mrr_before, mrr_after)`` in record order (days rounded to 1e-9)."""
    ev = records.events
    rows = []
    for i in range(len(ev["time"])):
        if account_index is not None and ev["account"][i] != account_index:
            continue
        rows.append((round(float(ev["time"][i]), 9), EVENT_KINDS[ev["kind"][i]], int(ev["mrr_before"][i]),
                     int(ev["mrr_after"][i])))
    return rows
