"""Health moves applied inline give the records that health moves as events give.

An account applies the health moves due before its next event at once, instead of sleeping
until each (csim.engine.account.Account._advance). That is exact only because nothing but the
account's own events and its touches changes it: the test runs the same replication both ways
and asks for the same records. Times may differ by rounding (a SimPy timeout lands at
``now + (t − now)``, and the inline path sleeps from other ``now``s), so times are compared to
1e-9 days and everything else exactly.
"""

from pathlib import Path

import numpy as np
import pytest

from csim.engine.account import Account
from csim.engine.world import World
from csim.records import TABLES
from csim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHORT = ["horizon_months=24"]


def _run(scenario, inline: bool, monkeypatch) -> tuple[object, int]:
    monkeypatch.setattr(Account, "inline_moves", inline)
    world = World(scenario, 0, 11)
    records = world.run()
    return records, next(world.env._eid)


@pytest.mark.parametrize(("name", "overrides"), [
    ("baseline", []),                                      # monthly plans, annual terms, requests
    ("baseline", ["cs_team.headcount=1"]),                # requests wait for a CSM: moves become events
    ("expansion_focus", []),                              # health-threshold plays, cadences
    ("expansion_focus", ["cs_team.headcount=1"]),         # requests wait past their deadline
    ("segmented", []),                                    # plays per segment, both thresholds
    ("save_desk", ["health.churn_effect=6.0"]),           # saves, health driving churn hard
])
def test_inline_health_moves_give_the_records_of_moves_as_events(name, overrides, monkeypatch):
    scenario = load_scenario(SCENARIOS / f"{name}.toml", SHORT + overrides)
    inline, inline_events = _run(scenario, True, monkeypatch)
    events, all_events = _run(scenario, False, monkeypatch)
    for table, columns in TABLES.items():
        for column in columns:
            a, b = getattr(inline, table)[column], getattr(events, table)[column]
            assert a.shape == b.shape, (table, column)
            if a.dtype.kind == "f":
                np.testing.assert_allclose(a, b, rtol=0.0, atol=1e-9, err_msg=f"{table}.{column}")
            else:
                np.testing.assert_array_equal(a, b, err_msg=f"{table}.{column}")
    # The inline path is taken: health moves (about four per account-year) cost no events.
    assert inline_events < 0.9 * all_events, (inline_events, all_events)
