"""Projections against closed forms."""

import numpy as np
import pytest

from csim.forecast import (
    ExponentialFitter,
    ShiftedBetaGeometric,
    WeibullFitter,
    cohort_nrr,
    expected_alive,
    lifetime_value,
    residual_lifetime,
    revenue_projection,
    survival_band,
)


@pytest.fixture(scope="module")
def exponential():
    rng = np.random.default_rng(0)
    tenure = rng.exponential(20.0, 2000)
    censor = rng.uniform(0, 30, 2000)
    return ExponentialFitter().fit(np.minimum(tenure, censor), tenure <= censor)


def test_residual_lifetime_exponential_is_memoryless(exponential):
    lam, horizon = exponential.lambda_, 24.0
    expected = lam * (1 - np.exp(-horizon / lam))  # ∫_0^H e^(-t/λ) dt
    for age in (0.0, 6.0):
        out = residual_lifetime(exponential, age, horizon, discrete=False, draws=300)
        assert out["estimate"] == pytest.approx(expected, rel=1e-4)
        assert out["lower"] < expected < out["upper"]


def test_residual_lifetime_sbg_is_sum_of_survival():
    fit = ShiftedBetaGeometric().fit_survivors([1000, 631, 468, 382, 326, 289, 262, 241])
    out = residual_lifetime(fit, 2.0, 10, discrete=True, draws=300)
    t = np.arange(3, 13, dtype=float)
    assert out["estimate"] == pytest.approx(fit.survival(t).sum() / fit.survival(2.0), rel=1e-12)


def test_revenue_ltv_and_nrr_closed_forms(exponential):
    g, d, arpa = 0.01, 0.008, 50.0
    table = revenue_projection(exponential, 36, 1000, arpa, expansion_rate=g, discount_rate=d, draws=300)
    t = np.arange(36.0)
    s = np.exp(-t / exponential.lambda_)
    np.testing.assert_allclose(table["revenue"], 1000 * arpa * (1 + g) ** t * s, rtol=1e-12)
    np.testing.assert_allclose(table["period_nrr"].iloc[1:], np.exp(-1 / exponential.lambda_) * (1 + g), rtol=1e-12)
    # LTV: a geometric series with ratio q = e^(-1/λ)(1+g)/(1+d).
    q = np.exp(-1 / exponential.lambda_) * (1 + g) / (1 + d)
    ltv = lifetime_value(exponential, arpa, 36, discount_rate=d, expansion_rate=g, draws=300)
    assert ltv["ltv"] == pytest.approx(arpa * (1 - q**36) / (1 - q), rel=1e-12)
    assert ltv["lower"] < ltv["ltv"] < ltv["upper"]
    nrr = cohort_nrr(exponential, 6.0, 12.0, expansion_rate=g, draws=300)
    assert nrr["nrr"] == pytest.approx(np.exp(-12 / exponential.lambda_) * (1 + g) ** 12, rel=1e-12)


def test_expected_alive_conditions_on_current_age():
    fit = ShiftedBetaGeometric().fit_survivors([1000, 869, 743, 653, 593, 551, 517, 491])
    out = expected_alive(fit, [7.0, 8.0, 12.0], 491, age=7.0, draws=300)
    assert out.loc[7.0, "customers"] == pytest.approx(491)
    assert out.loc[12.0, "customers"] == pytest.approx(491 * fit.survival(12) / fit.survival(7), rel=1e-12)
    assert out.loc[12.0, "lower"] < out.loc[12.0, "customers"] < out.loc[12.0, "upper"]


def test_bands_narrow_with_more_data():
    rng = np.random.default_rng(4)

    def width(n):
        tenure = 12 * rng.weibull(0.9, n)
        censor = rng.uniform(0, 24, n)
        fit = WeibullFitter().fit(np.minimum(tenure, censor), tenure <= censor)
        band = survival_band(fit, [36.0], draws=500)
        return float(band["upper"].iloc[0] - band["lower"].iloc[0])

    # Standard errors shrink like 1/sqrt(n): 16 times the data, about a quarter the width.
    assert 0.15 < width(8000) / width(500) < 0.4
