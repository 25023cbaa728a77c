"""churn_by_term on an sBG segment: the multipliers make a cohort of Beta propensities churn the target hazards.

Independent check by Monte Carlo: N accounts draw p ~ Beta(α, β); at decision k each still there
leaves with probability m_k·p / (1 − p + m_k·p), as the engine's decision does at reference health.
The cohort's churn per decision must equal the targets within Z binomial standard errors
√(h(1 − h)/n), n at risk. The odds ratio of the targets to the sBG's own cohort hazards (right for a
homogeneous segment) must miss the hump by more than that: the check can tell the two apart.
"""

from __future__ import annotations

import math

import numpy as np

from csim.calibrate.fit import heterogeneous_multipliers

ALPHA, BETA = 2.2, 15.0  # near the sBG the real customer table gives its 10-50 segment
TARGETS = [0.07, 0.16, 0.21, 0.14]  # a hump in months 1-4, as in that table
N = 400_000
Z = 4.0


def _cohort_hazards(multipliers, seed=7):
    rng = np.random.default_rng(seed)
    p = rng.beta(ALPHA, BETA, N)
    alive = np.ones(N, bool)
    hazards, at_risk = [], []
    for m in multipliers:
        n = int(alive.sum())
        leave = alive & (rng.random(N) < m * p / (1.0 - p + m * p))
        hazards.append(leave.sum() / n)
        at_risk.append(n)
        alive &= ~leave
    return hazards, at_risk


def _sbg_hazards(k):
    # The sBG's cohort churn at decision j (1-based): α / (α + β + j − 1).
    return [ALPHA / (ALPHA + BETA + j) for j in range(k)]


def test_solved_multipliers_reproduce_the_hump_on_beta_propensities():
    m = heterogeneous_multipliers(TARGETS, ALPHA, BETA)
    hazards, at_risk = _cohort_hazards(m)
    for h, target, n in zip(hazards, TARGETS, at_risk):
        assert abs(h - target) <= Z * math.sqrt(target * (1 - target) / n), (h, target)


def test_odds_ratios_of_the_cohort_hazards_fall_short():
    naive = [(h / (1 - h)) / (g / (1 - g)) for h, g in zip(TARGETS, _sbg_hazards(len(TARGETS)))]
    hazards, at_risk = _cohort_hazards(naive)
    misses = [abs(h - t) / math.sqrt(t * (1 - t) / n) for h, t, n in zip(hazards, TARGETS, at_risk)]
    assert max(misses) > Z, misses  # outside the tolerance the solved multipliers meet


def test_the_sbg_itself_needs_no_multipliers():
    m = heterogeneous_multipliers(_sbg_hazards(6), ALPHA, BETA)
    assert np.allclose(m, 1.0, rtol=2e-3), m
