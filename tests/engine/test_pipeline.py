"""The marketing pipeline at day 0: empty, or with the deals a running lead flow has in flight.

Known answer: at a constant lead rate λ (leads a month) a pipeline that has run for ever closes
won deals at a constant rate λ·c (c the mean conversion) in every month, the first included. So
with ``deals_in_flight`` the won deals closing in month 0 match those closing in month 6 within 4
Poisson standard errors of their difference; with an empty pipeline month 0 holds far fewer (a
deal needs its sales cycle, median 30–120 days here, to close). Leads before day 0 that the run
keeps are exactly the won deals that close in it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from csim.engine.pipeline import draw_marketing_leads, in_flight_days
from csim.records import MONTH_DAYS
from csim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
Z = 4.0


def _won_closing(flag: bool, seed: int):
    scenario = load_scenario(SCENARIOS / "baseline.toml", [f"acquisition.deals_in_flight={str(flag).lower()}",
                                                          "acquisition.lead_growth_annual=0",
                                                          "acquisition.leads_per_month=3000", "horizon_months=8"])
    leads = draw_marketing_leads(scenario, np.random.default_rng(seed))
    month = np.floor(leads.closed[leads.converts] / MONTH_DAYS)
    return leads, scenario, int(np.sum(month == 0)), int(np.sum(month == 6))


def test_deals_in_flight_close_at_the_steady_rate_from_the_first_month():
    first, sixth = 0, 0
    for seed in range(3):
        leads, scenario, a, b = _won_closing(True, seed)
        first, sixth = first + a, sixth + b
        before = leads.arrived < 0
        assert before.any()
        assert np.all(leads.converts[before] & (leads.closed[before] >= 0))
        assert leads.arrived.min() >= -in_flight_days(scenario)
    assert abs(first - sixth) <= Z * math.sqrt(first + sixth), (first, sixth)


def test_an_empty_pipeline_closes_few_deals_in_the_first_month():
    _, _, first, sixth = _won_closing(False, 0)
    assert first < 0.5 * sixth, (first, sixth)


def test_the_default_pipeline_is_the_one_drawn_before():
    # deals_in_flight = false draws exactly what the engine drew before the option existed.
    _, scenario, _, _ = _won_closing(False, 0)
    assert in_flight_days(scenario) == 0.0
    leads = draw_marketing_leads(scenario, np.random.default_rng(0))
    assert leads.arrived.min() >= 0.0
