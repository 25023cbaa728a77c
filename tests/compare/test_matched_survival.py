"""Per-replication hazard ratio, RMST difference and the proportional-hazards check on matched
accounts, against data with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from csim.compare.survival import compare_matched

RATE = 0.05  # churn per month under the reference
TAU = 24.0


def _matched(seed: int, hazard_ratio, reps: int = 8, n: int = 1500, horizon: float = 60.0) -> pd.DataFrame:
    """Exponential tenures, censored at ``horizon``; group 1's hazard is ``hazard_ratio(t)`` times
    group 0's (a number, or (early, late, switch month) for a piecewise ratio)."""
    rng = np.random.default_rng(seed)
    parts = []
    for r in range(reps):
        for group in (0, 1):
            e = rng.exponential(1.0, n)
            if group == 0 or not isinstance(hazard_ratio, tuple):
                t = e / (RATE * (hazard_ratio if group else 1.0))
            else:  # cumulative hazard RATE·(early·min(t, s) + late·max(t − s, 0)) = e
                early, late, switch = hazard_ratio
                t = np.where(e < RATE * early * switch, e / (RATE * early),
                             switch + (e - RATE * early * switch) / (RATE * late))
            parts.append(pd.DataFrame({"replication": r, "group": group, "duration": np.minimum(t, horizon),
                                       "event": (t < horizon).astype(int), "entry": 0.0, "segment": "s"}))
    return pd.concat(parts, ignore_index=True)


def test_known_hazard_ratio_and_rmst_are_recovered():
    result = compare_matched(_matched(1, 0.5), TAU)
    hr = result["hazard_ratio"]
    assert hr["n"] == 8 and hr["ci_low"] < 0.5 < hr["ci_high"]
    assert hr["ci_high"] / hr["ci_low"] < 1.25  # decisive: 8 × 3,000 accounts
    # RMST of an exponential to tau: (1 − e^{−λτ}) / λ.
    def rmst(rate):
        return (1 - math.exp(-rate * TAU)) / rate

    d = result["rmst_difference"]
    assert d["ci_low"] < rmst(RATE * 0.5) - rmst(RATE) < d["ci_high"]
    assert result["proportional_hazards"]["proportional"] is True


def test_non_proportional_hazards_are_flagged():
    # Ratio 1 in the first 3 months, 0.4 after: one hazard ratio summarises it poorly.
    ph = compare_matched(_matched(2, (1.0, 0.4, 3.0)), TAU, "late", "ref")["proportional_hazards"]
    assert ph["proportional"] is False and ph["p"] < 1e-6
    early = ph["bands"][0]
    assert early["hr_lower_95"] < 1.0 < early["hr_upper_95"]
    assert ph["bands"][1]["hazard_ratio"] == pytest.approx(0.4, rel=0.2)
    assert "not proportional" in ph["sentence"]


def test_no_effect_gives_a_ratio_of_one_and_no_rmst_difference():
    result = compare_matched(_matched(3, 1.0), TAU)
    assert result["hazard_ratio"]["ci_low"] < 1.0 < result["hazard_ratio"]["ci_high"]
    assert result["rmst_difference"]["ci_low"] < 0.0 < result["rmst_difference"]["ci_high"]
