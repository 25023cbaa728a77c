"""P(strategy beats reference) and what a difference moves with."""

from __future__ import annotations

import numpy as np

from csim.compare.uncertainty import probability_beats, rank_correlations


def test_ties_count_one_half_and_self_comparison_is_one_half():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    p = probability_beats(a, a.copy(), better=1)
    assert p["probability"] == 0.5 and p["all_tied"] and p["ties"] == 4


def test_direction_follows_better():
    a = np.array([1.0, 1.0, 1.0, 1.0])
    b = np.array([2.0, 0.0, 2.0, 1.0])  # two wins, one loss, one tie when more is better
    assert probability_beats(a, b, 1)["probability"] == (2 + 0.5) / 4
    assert probability_beats(a, b, -1)["probability"] == (1 + 0.5) / 4
    assert np.isnan(probability_beats(a, b, 0)["probability"])


def test_nan_replications_are_left_out():
    a = np.array([1.0, np.nan, 1.0])
    b = np.array([2.0, 5.0, np.nan])
    p = probability_beats(a, b, 1)
    assert p["n"] == 1 and p["probability"] == 1.0


def test_rank_correlation_finds_the_parameter_the_difference_moves_with():
    rng = np.random.default_rng(3)
    driver, noise = rng.normal(size=200), rng.normal(size=200)
    difference = 3.0 * driver + 0.3 * rng.normal(size=200)
    rows = rank_correlations({"noise": noise, "driver": driver, "constant": np.ones(200)}, difference)
    assert rows[0]["parameter"] == "driver" and rows[0]["rho"] > 0.9
    noise_row = next(r for r in rows if r["parameter"] == "noise")
    assert abs(noise_row["rho"]) < 0.2  # 200 draws: |rho| of independent series ~ N(0, 1/sqrt(199)), 2.8 SE
    assert np.isnan(next(r for r in rows if r["parameter"] == "constant")["rho"])
