"""Comparisons whose direction is known from how the scenarios are built."""

from __future__ import annotations


from csim.compare import metric_values, run_scenarios
from csim.compare.uncertainty import probability_beats
from csim.metrics import t_interval
from tests.compare.conftest import SEED, scenario

SMALL = ["horizon_months=18", "initial_book.customers=400", "acquisition.leads_per_month=100"]
ZERO = "{}"


def _zero_effect(name: str, *overrides: str):
    """A strategy file with every play's effect set to nothing (plays still cost CSM time)."""
    s = scenario(name, *SMALL, *overrides)
    return scenario(name, *SMALL, *overrides,
                    *[f"strategy.plays.{i}.effect={ZERO}" for i in range(1, len(s.strategy.plays))])


def test_plays_without_effect_never_beat_reactive_support_on_churn():
    # Same support play as no_cs, plus plays that only take CSM time: support waits more, nothing helps.
    runs = run_scenarios([scenario("no_cs", *SMALL), _zero_effect("expansion_focus", "cs_team.headcount=1")],
                         6, SEED, executor="serial", progress=False)
    churn = metric_values(runs)["logo_churn_annual"]
    d = churn["expansion_focus"] - churn["no_cs"]
    assert t_interval(d).high >= 0, d  # not better at 95 %


def test_a_renewal_play_with_a_large_lasting_effect_beats_a_zero_effect_expansion_strategy():
    lasting = scenario("renewal_focus", *SMALL, "strategy.plays.1.effect={ renewal_logodds = 1.0, target_health = 0.2, health = 0.2 }")
    runs = run_scenarios([_zero_effect("expansion_focus"), lasting], 6, SEED, executor="serial", progress=False)
    churn = metric_values(runs)["logo_churn_annual"]
    d = churn["renewal_focus"] - churn["expansion_focus"]
    assert t_interval(d).high < 0, d
    assert probability_beats(churn["expansion_focus"], churn["renewal_focus"], -1)["probability"] == 1.0
