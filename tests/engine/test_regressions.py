"""Cases that once failed, kept so they cannot come back."""

from pathlib import Path

from csim.engine.world import simulate_replication
from csim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_things_due_at_the_same_instant_do_not_schedule_into_the_past():
    # Two of an account's next things fell due at one instant; after handling the first, the
    # second's time lay a rounding error (7e-15 d) before env.now and SimPy refused the delay.
    records = simulate_replication(load_scenario(SCENARIOS / "cs_maturity_starting.toml"), 1, 7)
    assert len(records.events["time"]) > 0
    assert (records.events["time"] <= records.horizon_days).all()
