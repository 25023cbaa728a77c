"""Shared small worlds for the comparison tests: the repository's scenario files, shortened."""

from __future__ import annotations

from pathlib import Path

import pytest

from csim.compare import run_scenarios
from csim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

#: A seed fixed for every comparison test: conclusions are checked with intervals, never retried.
SEED = 4242

#: 18 months: every annual term of the initial book meets one renewal window and decision.
SHORT = ["horizon_months=18"]

#: The same CS capacity as the baseline (4 CSMs × 30 h/week) in eight half-time CSMs, so that
#: the team can be cut to an eighth of its headcount while keeping at least one CSM.
EIGHT_HALF_TIME = ["cs_team.headcount=8", "cs_team.hours_per_week=15"]


def scenario(name: str, *overrides: str):
    """A scenario file of the repository with ``--set`` style overrides."""
    return load_scenario(SCENARIOS / f"{name}.toml", [*SHORT, *overrides])


@pytest.fixture(scope="session")
def team_sizes():
    """no_cs, renewal_focus and expansion_focus with the full team and with an eighth of it."""
    names = ["no_cs", "renewal_focus", "expansion_focus"]
    return {
        headcount: run_scenarios([scenario(n, *EIGHT_HALF_TIME, f"cs_team.headcount={headcount}") for n in names],
                                 8, SEED, progress=False)
        for headcount in (8, 1)
    }
