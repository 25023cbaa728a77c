"""Equal-effort comparison: the scaled strategy's CSM-hours match the reference's within 2 %, and
the solver behaves on known effort curves (a saturated team, a demand-limited one)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from csim.compare import compare_scenarios
from csim.compare.equalize import TOLERANCE, csm_hours_used, scale_capacity, solve_capacity_factor
from tests.compare.conftest import SEED, scenario

SMALL = ["horizon_months=12", "initial_book.customers=150", "acquisition.leads_per_month=60",
         "cs_team.headcount=1"]


def test_capacity_factor_scales_hours_and_cost_together():
    s = scenario("expansion_focus", *SMALL)
    scaled = scale_capacity(s, 0.5)
    assert scaled.cs_team.hours_per_week == pytest.approx(0.5 * s.cs_team.hours_per_week)
    assert scaled.cs_team.cost_per_csm_year == pytest.approx(0.5 * s.cs_team.cost_per_csm_year)
    assert scaled.cs_team.headcount == s.cs_team.headcount
    assert scale_capacity(s, 1.0) is s


def test_solver_on_a_saturated_team_finds_the_proportional_factor():
    # A busy team serves hours in proportion to its capacity: effort(f) = 1000 f.
    calls = []

    def effort(f):
        calls.append(f)
        return 1000.0 * f

    result = solve_capacity_factor(effort, target_value=620.0, as_configured=1000.0)
    assert result.reached and abs(result.relative_gap) <= TOLERANCE
    assert result.factor == pytest.approx(0.62, rel=0.01)
    assert len(calls) == 1  # the proportional step is exact here


def test_solver_on_a_demand_limited_strategy_says_it_cannot_reach_the_target():
    # Demand tops out at 800 hours: no capacity makes the strategy use 1,000.
    result = solve_capacity_factor(lambda f: min(800.0, 700.0 * f), target_value=1000.0, as_configured=700.0)
    assert not result.reached
    assert result.achieved == pytest.approx(800.0)
    assert math.isclose(result.target_value, 1000.0)


def test_solver_with_a_nonlinear_curve_converges_within_tolerance():
    # A queue that is busy below f = 0.5 and demand-limited above: effort saturates smoothly.
    curve = lambda f: 900.0 * (1.0 - math.exp(-2.0 * f))  # noqa: E731
    result = solve_capacity_factor(curve, target_value=500.0, as_configured=curve(1.0))
    assert result.reached
    assert abs(curve(result.factor) - 500.0) <= TOLERANCE * 500.0


def test_equalize_csm_hours_matches_the_reference_within_two_percent(tmp_path):
    reference, other = scenario("renewal_focus", *SMALL), scenario("expansion_focus", *SMALL)
    result = compare_scenarios([reference, other], 3, SEED, tmp_path, executor="serial", progress=False,
                               survival=False, equalize="csm_hours")
    eq = result["equal_effort"]["expansion_focus"]
    assert eq["as_configured"] > 1.2 * eq["target_value"]  # expansion_focus works the team harder
    assert eq["reached"] and abs(eq["achieved"] / eq["target_value"] - 1.0) <= TOLERANCE
    assert eq["capacity_factor"] < 1.0
    # The statistics reported are those of the equal-effort run: recompute its hours independently.
    scaled = scale_capacity(other, eq["capacity_factor"])
    from csim.engine.runner import simulate

    hours = csm_hours_used(simulate(scaled, 3, SEED, executor="serial", progress=False))
    assert np.mean(hours) == pytest.approx(eq["achieved"], rel=1e-12)
    assert result["as_configured"] is not None  # the as-configured answer is kept beside it


def test_equalize_cs_cost_with_fixed_headcount_is_the_cost_ratio(tmp_path):
    reference = scenario("renewal_focus", *SMALL)
    other = scenario("expansion_focus", *SMALL[:-1], "cs_team.headcount=3")
    result = compare_scenarios([reference, other], 2, SEED, tmp_path, executor="serial", progress=False,
                               survival=False, equalize="cs_cost")
    eq = result["equal_effort"]["expansion_focus"]
    assert eq["capacity_factor"] == pytest.approx(1 / 3, rel=1e-9)
    assert eq["reached"] and eq["achieved"] == pytest.approx(eq["target_value"], rel=1e-9)
