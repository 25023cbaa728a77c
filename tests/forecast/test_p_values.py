"""p-values from survival functions: ordinary large statistics keep their small p-values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from csim.forecast.nonparametric import log_rank


def test_chi_square_of_228_6_with_one_degree_of_freedom():
    # Closed form for 1 df: P(X > x) = erfc(sqrt(x / 2)).
    assert stats.chi2.sf(228.6, 1) == pytest.approx(math.erfc(math.sqrt(228.6 / 2)), rel=1e-10)
    assert stats.chi2.sf(228.6, 1) == pytest.approx(1.2e-51, rel=0.05)
    assert 1 - stats.chi2.cdf(228.6, 1) == 0.0  # what 1 - cdf reports: why it must not be used


def test_log_rank_reports_the_survival_function_of_its_statistic():
    rng = np.random.default_rng(5)
    n = 400
    durations = np.concatenate([rng.exponential(1.0, n), rng.exponential(3.0, n)])
    events = np.ones(2 * n)
    groups = np.repeat(["a", "b"], n)
    result = log_rank(durations, events, groups)
    assert result["chisq"] > 100  # a large, ordinary statistic
    assert result["p"] > 0.0
    assert result["p"] == pytest.approx(math.erfc(math.sqrt(result["chisq"] / 2)), rel=1e-9)
