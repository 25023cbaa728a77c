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


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 11])
def test_chi2_log_sf_closed_form_agrees_with_scipy_where_a_double_holds_it(df):
    from csim.forecast.nonparametric import chi2_log_sf

    for x in (1e-6, 0.3, 2.0, 17.0, 150.0, 1200.0):
        expected = stats.chi2.logsf(x, df)
        assert np.isfinite(expected)
        assert chi2_log_sf(x, df) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert chi2_log_sf(0.0, df) == 0.0


def test_chi2_log_sf_beyond_the_double_range():
    from csim.forecast.nonparametric import chi2_log_sf

    # 1 df: P(X > x) = erfc(sqrt(x/2)) ~ exp(-x/2) / sqrt(pi x / 2) (Mills ratio, relative error ~1/x);
    # 2 df: P(X > x) = exp(-x/2) exactly.
    x = 5000.0
    assert chi2_log_sf(x, 2) == -x / 2
    mills = -x / 2 - 0.5 * math.log(math.pi * x / 2)
    assert chi2_log_sf(x, 1) == pytest.approx(mills, abs=2.0 / x)
    assert stats.chi2.logsf(x, 1) == -np.inf  # what scipy gives: why the closed form is needed


def test_wald_p_values_in_log_space():
    from csim.forecast.mle import P_FLOOR, wald_p_values

    z = np.array([0.0, 1.959963984540054, -5.0, 40.0, np.nan])
    p, log10_p = wald_p_values(z)
    np.testing.assert_allclose(p[:3], 2 * stats.norm.sf(np.abs(z[:3])), rtol=1e-12)
    # |z| = 40: p = 2·Φ(−40) ≈ 7.3e-350 is below the smallest double; floored, size in log10_p.
    assert p[3] == P_FLOOR
    assert log10_p[3] == pytest.approx((math.log(2) + stats.norm.logsf(40.0)) / math.log(10), rel=1e-12)
    assert np.isnan(p[4]) and np.isnan(log10_p[4])
