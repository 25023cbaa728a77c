"""Health moves applied inline give the records that health moves as events give.

An account applies the health moves due before its next event at once, instead of sleeping
until each (csim.engine.account.Account._advance). That is exact only because nothing but the
account's own events and its touches changes it: the test runs the same replication both ways
and asks for the same records. Times may differ by rounding (a SimPy timeout lands at
``now + (t − now)``, and the inline path sleeps from other ``now``s), so times are compared to
1e-9 days and everything else exactly. Things due to different accounts at the very same instant
may be handled in another order (see the property test).
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from csim.engine.account import Account
from csim.engine.world import World
from csim.records import TABLES
from csim.scenario import load_scenario

from .test_identities import scenarios

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHORT = ["horizon_months=24"]


def _run(scenario, inline: bool, monkeypatch, seed: int = 11) -> tuple[object, int]:
    monkeypatch.setattr(Account, "inline_moves", inline)
    world = World(scenario, 0, seed)
    records = world.run()
    return records, next(world.env._eid)


def _assert_same_records(inline, events) -> None:
    """Every records column equal; times to 1e-9 days."""
    for table, columns in TABLES.items():
        for column in columns:
            a, b = getattr(inline, table)[column], getattr(events, table)[column]
            assert a.shape == b.shape, (table, column)
            if a.dtype.kind == "f":
                np.testing.assert_allclose(a, b, rtol=0.0, atol=1e-9, err_msg=f"{table}.{column}")
            else:
                np.testing.assert_array_equal(a, b, err_msg=f"{table}.{column}")


@pytest.mark.parametrize(("name", "overrides"), [
    ("baseline", []),                                      # monthly plans, annual terms, requests
    ("baseline", ["cs_team.headcount=1"]),                # requests wait for a CSM: moves become events
    ("expansion_focus", []),                              # health-threshold plays, cadences
    ("expansion_focus", ["cs_team.headcount=1"]),         # requests wait past their deadline
    ("segmented", []),                                    # plays per segment, both thresholds
    ("save_desk", ["health.churn_effect=6.0"]),           # saves, health driving churn hard
    ("baseline", ["cs_team.arr_per_csm=400000"]),         # a coverage rule counts MRR each month
])
def test_inline_health_moves_give_the_records_of_moves_as_events(name, overrides, monkeypatch):
    scenario = load_scenario(SCENARIOS / f"{name}.toml", SHORT + overrides)
    inline, inline_events = _run(scenario, True, monkeypatch)
    events, all_events = _run(scenario, False, monkeypatch)
    _assert_same_records(inline, events)
    # The inline path is taken: health moves (about four per account-year) cost no events.
    assert inline_events < 0.9 * all_events, (inline_events, all_events)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(scenarios().filter(lambda s: s.initial_book.max_tenure_months >= 1.0))
def test_inline_health_moves_on_any_scenario(scenario):
    # Hypothesis-drawn worlds (tests/engine/test_identities.py): every mechanism, random rates,
    # teams of 0 to 3 CSMs, plays of every trigger. Same records both ways. Left out: books whose
    # accounts all start at one instant. Their onboarding windows end together, and SimPy handles
    # things due at one instant in the order they were scheduled, which depends on when each
    # account last went to sleep: with one CSM, which of them is served first is a coin the two
    # paths toss differently. 400 drawn worlds with distinct starts gave identical records.
    with pytest.MonkeyPatch.context() as patch:
        inline, _ = _run(scenario, True, patch, scenario.seed)
        events, _ = _run(scenario, False, patch, scenario.seed)
    _assert_same_records(inline, events)
