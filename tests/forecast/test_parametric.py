"""Parametric fitters: recovery of known parameters and agreement with lifelines."""

import numpy as np
import pandas as pd
import pytest

from csim.forecast import ExponentialFitter, LogLogisticFitter, LogNormalFitter, WeibullFitter

lifelines = pytest.importorskip("lifelines")

# lifelines stops at its default L-BFGS-B tolerances (~1e-6 relative); tighten them so the
# comparison measures the implementations, not the stopping rules.
TIGHT = {"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000}


def censored_sample(seed, n, draw):
    rng = np.random.default_rng(seed)
    tenure = draw(rng, n)
    censor = rng.uniform(0, 36, n)  # months of observation left when the data were cut
    return np.minimum(tenure, censor), (tenure <= censor).astype(int)


def test_constant_hazard_rate_inside_interval():
    rate = 0.04  # churn per month
    t, d = censored_sample(11, 3000, lambda r, n: r.exponential(1 / rate, n))
    fit = ExponentialFitter().fit(t, d)
    low, high = fit.rate_interval_
    assert low < rate < high
    # The interval is the one the summary reports for lambda, mirrored.
    assert fit.summary.loc["lambda_", "lower_95"] == pytest.approx(1 / high, rel=1e-12)


def test_exponential_rate_is_events_over_exposure():
    # Closed form MLE: rate = churns / total months observed.
    t, d = censored_sample(3, 500, lambda r, n: r.exponential(20, n))
    assert ExponentialFitter().fit(t, d).rate_ == pytest.approx(d.sum() / t.sum(), rel=1e-9)


def test_weibull_shape_and_scale_recovered():
    shape, scale = 0.7, 15.0
    t, d = censored_sample(5, 4000, lambda r, n: scale * r.weibull(shape, n))
    fit = WeibullFitter().fit(t, d)
    s = fit.summary
    assert s.loc["rho_", "lower_95"] < shape < s.loc["rho_", "upper_95"]
    assert s.loc["lambda_", "lower_95"] < scale < s.loc["lambda_", "upper_95"]


def test_weibull_aft_coefficient_recovered():
    rng = np.random.default_rng(8)
    n = 3000
    x = rng.integers(0, 2, n).astype(float)
    beta = 0.5  # log of the tenure multiplier for x = 1
    tenure = np.exp(2.0 + beta * x) * rng.weibull(1.3, n)
    censor = rng.uniform(0, 40, n)
    fit = WeibullFitter().fit(np.minimum(tenure, censor), tenure <= censor, covariates=pd.DataFrame({"x": x}))
    row = fit.summary.loc["lambda_: x"]
    assert abs(row["estimate"] - beta) < 4 * row["se"]


@pytest.mark.parametrize("ours, theirs, names", [
    (ExponentialFitter, "ExponentialFitter", ["lambda_"]),
    (WeibullFitter, "WeibullFitter", ["lambda_", "rho_"]),
    (LogNormalFitter, "LogNormalFitter", ["mu_", "sigma_"]),
    (LogLogisticFitter, "LogLogisticFitter", ["alpha_", "beta_"]),
])
def test_agrees_with_lifelines(ours, theirs, names):
    t, d = censored_sample(1, 1500, lambda r, n: 12 * r.weibull(0.8, n))
    mine = ours().fit(t, d)
    ref = getattr(lifelines, theirs)().fit(t, d, fit_options=TIGHT)
    for name in names:
        assert getattr(mine, name) == pytest.approx(getattr(ref, name), rel=1e-6)
    assert mine.loglik_ == pytest.approx(ref.log_likelihood_, rel=1e-9)
    assert mine.aic_ == pytest.approx(ref.AIC_, rel=1e-9)
    # Standard errors: ours by the delta method from the log scale, lifelines' on the natural
    # scale; equal at the optimum. Numerical Hessians limit agreement to ~1e-5.
    np.testing.assert_allclose(mine.summary["se"].to_numpy(), ref.summary["se(coef)"].to_numpy(), rtol=1e-4)


def test_weibull_left_truncated_agrees_with_lifelines():
    t, d = censored_sample(2, 1500, lambda r, n: 12 * r.weibull(0.8, n))
    entry = np.random.default_rng(4).uniform(0, 3, len(t))
    keep = t > entry
    mine = WeibullFitter().fit(t[keep], d[keep], entry=entry[keep])
    ref = lifelines.WeibullFitter().fit(t[keep], d[keep], entry=entry[keep], fit_options=TIGHT)
    assert mine.lambda_ == pytest.approx(ref.lambda_, rel=1e-6)
    assert mine.rho_ == pytest.approx(ref.rho_, rel=1e-6)
    assert mine.loglik_ == pytest.approx(ref.log_likelihood_, rel=1e-9)


def test_weibull_aft_agrees_with_lifelines():
    rng = np.random.default_rng(6)
    n = 1000
    X = pd.DataFrame({"seats": rng.normal(size=n), "enterprise": rng.integers(0, 2, n).astype(float)})
    tenure = np.exp(2 + 0.3 * X.seats - 0.4 * X.enterprise) * rng.weibull(1.2, n)
    censor = rng.uniform(0, 30, n)
    t, d = np.minimum(tenure, censor), (tenure <= censor).astype(int)
    mine = WeibullFitter().fit(t, d, covariates=X)
    ref = lifelines.WeibullAFTFitter().fit(X.assign(T=t, E=d), "T", "E", fit_options=TIGHT)
    for c in ["seats", "enterprise", "Intercept"]:
        assert mine.params_[f"lambda_: {c}"] == pytest.approx(ref.params_[("lambda_", c)], rel=1e-6)
    assert np.log(mine.rho_) == pytest.approx(ref.params_[("rho_", "Intercept")], rel=1e-6)
    assert mine.loglik_ == pytest.approx(ref.log_likelihood_, rel=1e-9)


def test_censored_zero_tenure_allowed_but_zero_tenure_churn_refused():
    fit = WeibullFitter().fit([0.0, 1.0, 2.0, 3.0, 5.0], [0, 1, 1, 0, 1])
    assert np.isfinite(fit.loglik_)
    with pytest.raises(ValueError, match="positive tenure"):
        WeibullFitter().fit([0.0, 1.0, 2.0], [1, 1, 0])


def test_survival_and_median_closed_forms():
    fit = WeibullFitter().fit(*censored_sample(9, 400, lambda r, n: 10 * r.weibull(1.5, n)))
    t = np.array([1.0, 5.0, 20.0])
    np.testing.assert_allclose(fit.survival(t), np.exp(-(t / fit.lambda_) ** fit.rho_), rtol=1e-12)
    assert fit.median_ == pytest.approx(fit.lambda_ * np.log(2) ** (1 / fit.rho_), rel=1e-12)
    ll = LogLogisticFitter().fit(*censored_sample(9, 400, lambda r, n: 10 * r.weibull(1.5, n)))
    np.testing.assert_allclose(ll.survival(t), 1 / (1 + (t / ll.alpha_) ** ll.beta_), rtol=1e-12)
    assert ll.median_ == pytest.approx(ll.alpha_, rel=1e-12)
