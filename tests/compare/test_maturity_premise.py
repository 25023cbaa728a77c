"""The four CS-maturity lines come from one world: the scenarios differ only in CS."""

from __future__ import annotations

from csim.scenario import load_scenario
from tests.compare.conftest import SCENARIOS


def test_maturity_scenarios_differ_only_in_the_cs_team_and_strategy():
    base = load_scenario(SCENARIOS / "cs_maturity_none.toml").model_dump()
    for level in ("early", "starting", "mature"):
        other = load_scenario(SCENARIOS / f"cs_maturity_{level}.toml").model_dump()
        differing = {key for key in base if base[key] != other[key]}
        assert differing == {"name", "description", "cs_team", "strategy"}, (level, differing)
