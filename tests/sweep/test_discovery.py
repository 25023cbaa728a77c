"""PRIM finds boxes that are known in advance: clean, with label noise, categorical, and two at once."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from csim.sweep.discovery import Box, peeling_trajectory, prim

#: Every dataset here is drawn from this seed; conclusions are checked once, never retried.
SEED = 0
N = 2000


def _cube(seed: int = SEED, dims: int = 3) -> tuple[pd.DataFrame, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.uniform(size=(N, dims)), columns=[f"x{i + 1}" for i in range(dims)]), rng


def _corner(X: pd.DataFrame) -> np.ndarray:
    """The true region: x1 > 0.6 and x2 < 0.4 (16 % of the unit cube)."""
    return ((X["x1"] > 0.6) & (X["x2"] < 0.4)).to_numpy()


def _assert_corner(box: Box, tolerance: float) -> None:
    assert set(box.limits) == {"x1", "x2"} and not box.categories
    low1, high1 = box.limits["x1"]
    low2, high2 = box.limits["x2"]
    # Only the sides the region has: x1 from below, x2 from above.
    assert high1 == math.inf and low2 == -math.inf
    assert low1 == pytest.approx(0.6, abs=tolerance)
    assert high2 == pytest.approx(0.4, abs=tolerance)


def test_known_box_is_found_exactly_without_noise():
    X, _ = _cube()
    y = _corner(X)
    box = prim(X, y)[0]
    _assert_corner(box, 0.03)
    assert box.density >= 0.95 and box.coverage >= 0.9
    # The statistics describe the cases the box contains, and its limits are values of the data.
    inside = box.contains(X)
    assert box.n == inside.sum() and box.mass == pytest.approx(inside.mean())
    assert box.density == pytest.approx(y[inside].mean()) and box.coverage == pytest.approx(y[inside].sum() / y.sum())
    assert box.limits["x1"][0] in set(X["x1"]) and box.limits["x2"][1] in set(X["x2"])


def test_known_box_survives_ten_percent_label_noise():
    X, rng = _cube()
    y = _corner(X) ^ (rng.uniform(size=N) < 0.10)
    box = prim(X, y)[0]
    # Peeling follows the noise too (x3, the far sides of x1 and x2); simplification drops those.
    _assert_corner(box, 0.06)
    assert box.density >= 0.8


def test_categorical_dimension_is_restricted_to_its_category():
    rng = np.random.default_rng(SEED)
    X = pd.DataFrame({"strategy": rng.choice(["a", "b", "c"], N), "x1": rng.uniform(size=N),
                      "x2": rng.uniform(size=N)})
    y = ((X["strategy"] == "b") & (X["x1"] < 0.5)).to_numpy()
    box = prim(X, y, categorical=["strategy"])[0]
    assert box.categories == {"strategy": ("b",)}
    assert set(box.limits) == {"x1"} and box.limits["x1"][0] == -math.inf
    assert box.limits["x1"][1] == pytest.approx(0.5, abs=0.03)
    assert box.density >= 0.95
    assert box.describe().startswith("x1 ≤ 0.") and box.describe().endswith(" and strategy = b")


def test_two_separate_regions_give_two_boxes():
    X, _ = _cube()
    y = ((X["x1"] > 0.8) | (X["x2"] > 0.85)).to_numpy()
    boxes = prim(X, y, max_boxes=2)
    assert len(boxes) == 2
    assert sorted(tuple(b.limits) for b in boxes) == [("x1",), ("x2",)]
    assert all(not b.categories and b.density > y.mean() for b in boxes)
    # The second box was searched among the cases outside the first: together they cover most wins.
    first, second = boxes
    assert first.coverage + second.coverage == pytest.approx(y[first.contains(X) | second.contains(X)].sum() / y.sum())
    assert first.coverage + second.coverage >= 0.9


def test_no_case_of_interest_gives_no_box():
    X, _ = _cube()
    assert prim(X, np.zeros(N, bool)) == []


def test_every_case_of_interest_gives_one_unrestricted_box():
    X, _ = _cube()
    (box,) = prim(X, np.ones(N, int))
    assert box.limits == {} and box.categories == {}
    assert (box.density, box.coverage, box.mass, box.n) == (1.0, 1.0, 1.0, N)
    assert box.describe() == "everywhere" and box.contains(X).all()


def test_missing_or_non_binary_outcome_is_refused():
    X, _ = _cube()
    y = _corner(X).astype(float)
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        prim(X, y)
    with pytest.raises(ValueError):
        prim(X, np.full(N, 2.0))


def test_trajectory_shrinks_one_peel_at_a_time_down_to_min_mass():
    X, _ = _cube()
    X["x3"] = np.floor(X["x3"] * 3)  # three values: the quantile is the extreme, the extreme is peeled
    boxes = peeling_trajectory(X, _corner(X), alpha=0.05, min_mass=0.1)
    assert boxes[0].describe() == "everywhere" and boxes[0].mass == 1.0
    masses = [b.mass for b in boxes]
    assert all(later < earlier for earlier, later in zip(masses, masses[1:]))
    assert masses[-1] >= 0.1 and boxes[-1].density == 1.0
    assert all(b.n == b.contains(X).sum() for b in boxes)


def test_describe_quotes_only_restricted_sides_with_units():
    stats = dict(coverage=0.8, density=0.9, mass=0.2, n=40)
    assert Box(limits={"a": (0.2, 0.5)}, categories={}, **stats).describe() == "0.2 ≤ a ≤ 0.5"
    assert Box(limits={"a": (-math.inf, 0.5)}, categories={}, **stats).describe() == "a ≤ 0.5"
    assert Box(limits={"a": (7.0, 7.0)}, categories={}, **stats).describe() == "a = 7"  # one level wide
    box = Box(limits={"cs_team.headcount": (5.0, math.inf), "segments.smb.annual_churn": (-math.inf, 0.3117)},
              categories={"strategy": ("a", "b")}, **stats)
    assert box.describe() == ("cs_team.headcount ≥ 5 and segments.smb.annual_churn ≤ 0.312 and strategy in {a, b}")
    assert box.describe({"cs_team.headcount": "CSMs"}).startswith("cs_team.headcount ≥ 5 CSMs and ")
    X = pd.DataFrame({"cs_team.headcount": [4, 5, 9], "segments.smb.annual_churn": [0.1, 0.2, 0.3],
                      "strategy": ["a", "b", "b"]})
    assert box.contains(X).tolist() == [False, True, True]


def test_the_region_outside_a_one_level_box_reads_as_not_equal():
    from csim.sweep.analyze import _negation

    stats = dict(coverage=0.8, density=0.9, mass=0.2, n=40)
    assert _negation(Box(limits={"cs_team.headcount": (7.0, 7.0)}, categories={}, **stats)) == "cs_team.headcount ≠ 7"
    assert _negation(Box(limits={"a": (0.2, 0.5)}, categories={}, **stats)) == "a < 0.2 or a > 0.5"
