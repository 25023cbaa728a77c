"""Sensitivity analysis code checked on functions with known answers (Ishigami, linear, a known optimum)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami

from csim.sweep.design import unit_design
from csim.sweep.sensitivity import global_indices, main_effects, tornado
from csim.sweep.sizing import OBJECTIVE, pareto_front, team_parameter, team_sizing

NAMES = ["x1", "x2", "x3"]
A, B = 7.0, 0.1
# Ishigami, x uniform on [-pi, pi]^3: closed-form variance decomposition (Ishigami & Homma 1990;
# Saltelli et al. 2008, Global Sensitivity Analysis: The Primer, §4.8).
V1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
V2 = A**2 / 8
V13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
V = V1 + V2 + V13
S1 = [V1 / V, V2 / V, 0.0]
ST = [(V1 + V13) / V, V2 / V, V13 / V]


def _ishigami(design, n, seed=11):
    u = unit_design(design, NAMES, n, seed)
    x = -math.pi + 2 * math.pi * u
    return u, pd.DataFrame(x, columns=NAMES), Ishigami.evaluate(x, A, B)


def _se(row) -> float:
    # SALib's interval is ± z·SE with z = 1.96 (95 %).
    return (row["ci_high"] - row["ci_low"]) / (2 * 1.96)


def test_sobol_indices_of_ishigami_match_the_closed_form():
    u, x, y = _ishigami("sobol", 4096)
    table = global_indices("sobol", NAMES, x, y, seed=3).set_index(["parameter", "index"])
    assert set(table["method"]) == {"Sobol (Saltelli)"}
    for i, name in enumerate(NAMES):
        for index, truth in (("S1", S1[i]), ("ST", ST[i])):
            row = table.loc[(name, index)]
            # Within 4 standard errors of the bootstrap, and the SE itself small at N = 4096.
            assert abs(row["value"] - truth) < 4 * _se(row), (name, index, row["value"], truth)
            assert _se(row) < 0.03


def test_morris_mu_star_of_ishigami_x2_is_exact():
    # On a 4-level grid x2 moves between -pi and pi/3 (or -pi/3 and pi): 7 sin^2 changes by 7 * 3/4
    # over a step of 2/3 of the unit range, so every elementary effect of x2 is 7.875 in size.
    u, x, y = _ishigami("morris", 40)
    table = global_indices("morris", NAMES, x, y, seed=3, unit=u).set_index(["parameter", "index"])
    assert table.loc[("x2", "mu_star"), "value"] == pytest.approx(7.875, abs=1e-9)
    assert "all elementary effects equal" in table.loc[("x2", "mu_star"), "note"]
    # x3 acts only with x1: its mu* is positive, its sigma large relative to it.
    assert table.loc[("x3", "mu_star"), "ci_low"] > 0
    assert table.loc[("x3", "sigma"), "value"] > table.loc[("x3", "mu_star"), "value"]


def test_standardised_regression_coefficients_of_ishigami_match_the_closed_form():
    # Cov(Y, x1) = E[x1 sin x1](1 + b E[x3^4]) = 1 + b pi^4 / 5; the others have no linear part.
    u, x, y = _ishigami("lhs", 2000)
    src1 = (1 + B * math.pi**4 / 5) / (math.sqrt(math.pi**2 / 3) * math.sqrt(V))
    table = global_indices("lhs", NAMES, x, y, seed=3).set_index("parameter")
    assert set(table["method"]) == {"SRC"} and "R² of the linear fit" in table.loc["x1", "note"]
    for name, truth in (("x1", src1), ("x2", 0.0), ("x3", 0.0)):
        row = table.loc[name]
        assert row["ci_low"] < truth < row["ci_high"], (name, row.to_dict(), truth)
    assert table.loc["x1", "ci_low"] > 0.3


def test_main_effects_and_tornado_rank_a_linear_outcome():
    rng = np.random.default_rng(2)
    x = pd.DataFrame({"big": rng.uniform(0, 1, 400), "small": rng.uniform(0, 1, 400), "none": rng.uniform(0, 1, 400)})
    y = 10 * x["big"] - 2 * x["small"]
    effects = main_effects(x, y.to_numpy(), list(x.columns), bins=4)
    assert (effects.groupby("parameter")["n"].sum() == 400).all()
    swings = tornado(effects)
    assert list(swings["parameter"]) == ["big", "small", "none"]
    # Quarter bins of a uniform: means 1/8 and 7/8 of the range apart by 3/4 of it.
    assert swings.loc[0, "swing"] == pytest.approx(10 * 0.75, rel=0.05)
    assert swings.loc[1, "swing"] == pytest.approx(-2 * 0.75, rel=0.1)
    # "none" moves the bin means only by chance: within 4 standard errors of a difference of two bin means.
    assert abs(swings.loc[2, "swing"]) < 4 * y.std() * math.sqrt(2 / 100)


def _team_results(optimum=5, reps=6, seed=1):
    """A results table with a known best team: objective = 1000 - 20 (h - optimum)^2 + 50 z + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    point = 0
    for h in range(1, 10):
        for z in (0.0, 0.5, 1.0):
            for r in range(reps):
                rows.append({"point": point, "cs_team.headcount": h, "z": z, "scenario": "s", "replication": r,
                             OBJECTIVE: 1000 - 20 * (h - optimum) ** 2 + 50 * z + rng.normal(0, 5)})
            point += 1
    return pd.DataFrame(rows)


def test_team_sizing_finds_a_known_optimum_with_an_interval():
    results = _team_results()
    assert team_parameter(["z", "cs_team.headcount"]) == "cs_team.headcount"
    table, best = team_sizing(results, "s", "cs_team.headcount", ["cs_team.headcount", "z"], seed=4)
    assert best["level"] == 5 and best["ci_low"] <= 5 <= best["ci_high"] and best["p_best"] > 0.9
    # Adjusted level means: 1000 - 20 (h-5)^2 + 50 * mean(z) = ... + 25.
    expected = 1000 - 20 * (table["level"] - 5) ** 2 + 25
    assert np.allclose(table["objective"], expected, atol=10)
    # Marginal value of one more CSM: -20 (2h - 11) between h-1 and h.
    marginal = table["marginal_value"].iloc[1:]
    assert np.allclose(marginal, -20 * (2 * table["level"].iloc[1:] - 11), atol=10)
    assert (table["ci_low"] <= table["objective"]).all() and (table["objective"] <= table["ci_high"]).all()


def test_team_sizing_adjusts_for_an_unbalanced_design():
    # Drop the z = 0 points of h = 4 and h = 6: a plain mean would favour them; the adjusted one does not.
    results = _team_results()
    keep = ~(results["cs_team.headcount"].isin([4, 6]) & (results["z"] == 0.0))
    table, best = team_sizing(results[keep], "s", "cs_team.headcount", ["cs_team.headcount", "z"], seed=4)
    assert best["level"] == 5
    assert table.set_index("level").loc[4, "objective"] == pytest.approx(1000 - 20 + 25, abs=10)


def test_pareto_front():
    points = pd.DataFrame({"nrr_t12_window": [1.0, 1.1, 1.05, 1.2, 1.2], "cs_cost": [1, 2, 3, 4, 5]})
    assert pareto_front(points).tolist() == [True, True, False, True, False]
