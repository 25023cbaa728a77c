"""Contract-renewal models: published values, closed forms and simulated cohorts."""

import numpy as np
import pytest
from scipy.special import betaln

from csim.forecast import BetaDiscreteWeibull, ShiftedBetaGeometric, backtest_cohorts, survival_band

# Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1):
# survivors of two cohorts over years 0-7 and the sBG estimates printed in the paper
# (high end: alpha 0.668, beta 3.806, LL -1611.2; regular: alpha 0.704, beta 1.182).
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
# Years 8-12 of the same cohorts, held out in the paper.
HIGH_END_LATER = [468, 445, 427, 409, 394]
REGULAR_LATER = [223, 207, 194, 183, 173]


@pytest.mark.parametrize("survivors, alpha, beta", [(HIGH_END, 0.668, 3.806), (REGULAR, 0.704, 1.182)])
def test_sbg_reproduces_fader_hardie(survivors, alpha, beta):
    fit = ShiftedBetaGeometric().fit_survivors(survivors)
    # Published to three decimals: agree to rounding.
    assert fit.alpha_ == pytest.approx(alpha, abs=5e-4)
    assert fit.beta_ == pytest.approx(beta, abs=5e-4)


def test_sbg_high_end_loglik():
    assert ShiftedBetaGeometric().fit_survivors(HIGH_END).loglik_ == pytest.approx(-1611.16, abs=5e-3)


def test_bdw_matches_independent_implementation():
    # BdW estimates for the same two cohorts (two decimals) as computed by an independent R
    # implementation of Fader et al. (2018): high end 0.21, 1.43, 1.72; regular 0.46, 0.78, 1.28.
    hi = BetaDiscreteWeibull().fit_survivors(HIGH_END)
    reg = BetaDiscreteWeibull().fit_survivors(REGULAR)
    assert (round(hi.alpha_, 2), round(hi.beta_, 2), round(hi.c_, 2)) == (0.21, 1.43, 1.72)
    assert (round(reg.alpha_, 2), round(reg.beta_, 2), round(reg.c_, 2)) == (0.46, 0.78, 1.28)


def test_sbg_closed_forms():
    fit = ShiftedBetaGeometric().fit_survivors(REGULAR)
    a, b = fit.alpha_, fit.beta_
    t = np.arange(1, 13, dtype=float)
    np.testing.assert_allclose(fit.survival(t), np.exp(betaln(a, b + t) - betaln(a, b)), rtol=1e-12)
    np.testing.assert_allclose(fit.retention_rate(t), fit.survival(t) / fit.survival(t - 1), rtol=1e-12)
    # P(T = 1) = alpha / (alpha + beta): the average churn probability at the first renewal.
    assert fit.churn_probability(1) == pytest.approx(a / (a + b), rel=1e-12)
    assert fit.survival(0) == 1.0


def test_sbg_loglik_is_the_papers_formula():
    fit = ShiftedBetaGeometric().fit_survivors(HIGH_END)
    a, b = fit.alpha_, fit.beta_
    s = np.asarray(HIGH_END, float)
    lost = -np.diff(s)
    t = np.arange(1, len(s))
    log_p = betaln(a + 1, b + t - 1) - betaln(a, b)
    log_s_last = betaln(a, b + t[-1]) - betaln(a, b)
    assert fit.loglik_ == pytest.approx(lost @ log_p + s[-1] * log_s_last, rel=1e-12)


def test_bdw_with_c_one_is_sbg():
    bdw = BetaDiscreteWeibull().fit_survivors(REGULAR)
    sbg = ShiftedBetaGeometric().fit_survivors(REGULAR)
    theta = np.array([np.log(sbg.alpha_), np.log(sbg.beta_), 0.0])
    t = np.arange(0, 10, dtype=float)
    np.testing.assert_allclose(bdw.survival_at(theta, t), sbg.survival(t), rtol=1e-12)
    # BdW nests sBG, so its maximised likelihood cannot be lower.
    assert bdw.loglik_ >= sbg.loglik_ - 1e-9


def simulate_cohort(alpha, beta, n, periods, seed, c=1.0):
    """Survivor counts when each customer's churn probability is drawn from Beta(alpha, beta)."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, n)
    # Discrete Weibull: survive t renewals with probability (1 - theta)^(t^c).
    u = rng.uniform(size=n)
    t = np.arange(periods + 1, dtype=float)
    alive = u[:, None] < (1.0 - theta[:, None]) ** (t[None, :] ** c)
    return alive.sum(axis=0).astype(float)


def test_sbg_recovers_beta_parameters_within_intervals():
    alpha, beta = 0.9, 2.5
    survivors = simulate_cohort(alpha, beta, 20000, 10, seed=21)
    fit = ShiftedBetaGeometric().fit_survivors(survivors)
    s = fit.summary
    assert s.loc["alpha_", "lower_95"] < alpha < s.loc["alpha_", "upper_95"]
    assert s.loc["beta_", "lower_95"] < beta < s.loc["beta_", "upper_95"]


def test_sbg_several_cohorts_and_individual_rows_agree():
    a = simulate_cohort(1.0, 3.0, 3000, 6, seed=1)
    b = simulate_cohort(1.0, 3.0, 2000, 3, seed=2)
    pooled = ShiftedBetaGeometric().fit_survivors([a, b])
    # The same customers as individual tenures: churn at t, or active at the cohort's last period.
    durations, events = [], []
    for counts in (a, b):
        lost = -np.diff(counts)
        for t, k in enumerate(lost, start=1):
            durations += [t] * int(k)
            events += [1] * int(k)
        durations += [len(counts) - 1] * int(counts[-1])
        events += [0] * int(counts[-1])
    individual = ShiftedBetaGeometric().fit(durations, events)
    assert individual.alpha_ == pytest.approx(pooled.alpha_, rel=1e-7)
    assert individual.loglik_ == pytest.approx(pooled.loglik_, rel=1e-10)


def test_bdw_recovers_duration_dependence():
    survivors = simulate_cohort(0.8, 2.0, 30000, 12, seed=5, c=1.5)
    fit = BetaDiscreteWeibull().fit_survivors(survivors)
    s = fit.summary
    for name, true in [("alpha_", 0.8), ("beta_", 2.0), ("c_", 1.5)]:
        assert s.loc[name, "lower_95"] < true < s.loc[name, "upper_95"], name


def test_projection_from_first_periods_covers_held_out_truth():
    alpha, beta = 0.7, 1.5
    survivors = simulate_cohort(alpha, beta, 5000, 6, seed=13)
    fit = ShiftedBetaGeometric().fit_survivors(survivors)
    later = np.arange(7, 25, dtype=float)
    band = survival_band(fit, later, draws=1000, seed=1)
    truth = np.exp(betaln(alpha, beta + later) - betaln(alpha, beta))
    assert np.all((band["lower"] < truth) & (truth < band["upper"]))


def test_backtest_on_published_cohorts():
    summary, per_period = backtest_cohorts([HIGH_END + HIGH_END_LATER, REGULAR + REGULAR_LATER], fit_periods=7)
    sbg = ShiftedBetaGeometric().fit_survivors([HIGH_END, REGULAR])
    row = per_period[(per_period.model == "sbg") & (per_period.t == 12)].iloc[0]
    assert row["actual"] == 394 + 173
    assert row["predicted"] == pytest.approx(2000 * sbg.survival(12), rel=1e-12)
    assert set(summary.index) == {"sbg", "bdw"}
    # The paper's point: a probability model projects 5 years ahead within a few percent.
    assert summary.loc["sbg", "mape"] < 10


@pytest.mark.parametrize("bad", [[1000], [0, 0], [100, 120, 90]])
def test_invalid_survivors_rejected(bad):
    with pytest.raises(ValueError):
        ShiftedBetaGeometric().fit_survivors(bad)


# ---------------------------------------------------------------- fits at the edge of the parameter space
# sBG churn probabilities alpha/(alpha + beta + t − 1) can only fall with tenure. When the
# observed churn does not fall (one late churn, a steady trickle), the supremum of the sBG
# likelihood is its limit alpha, beta → ∞: geometric churn with p = churns / renewals faced,
# whose log-likelihood is closed form. When everyone who churns does so at the first renewal,
# the supremum is the limit alpha, beta → 0 with the observed share leaving at renewal 1.
# The optimiser stops somewhere on the flat ridge towards such a limit; the profile test
# guarantees the reported log-likelihood is within FLAT_LOGLIK of the supremum.
from csim.forecast.mle import FLAT_LOGLIK  # noqa: E402


def _geometric_loglik(survivors):
    s = np.asarray(survivors, float)
    lost = -np.diff(s)
    t = np.arange(1, len(s))
    churns, renewals = lost.sum(), lost @ t + s[-1] * t[-1]
    p = churns / renewals
    return churns * np.log(p) + (renewals - churns) * np.log1p(-p)


def _assert_edge(fit, names):
    assert set(fit.at_bound_) == set(names)
    assert fit.degenerate_ and "edge of the parameter space" in fit.degenerate_
    assert fit.notes_ == [fit.degenerate_]
    # No interval at all rather than a zero-width one; no band either.
    assert fit.summary[["se", "lower_95", "upper_95"]].isna().all().all()
    band = survival_band(fit, np.arange(1.0, 6.0), draws=50, seed=0)
    assert band[["lower", "upper"]].isna().all().all()


@pytest.mark.parametrize("survivors", [
    [2588] * 24 + [2587],                            # one churn in two years: "alpha 1e-4, beta 2588"
    [1000, 1000, 999],                               # one churn, at the second renewal
    [1000, 990, 980, 970, 960, 950, 940, 930],       # a steady trickle: churn rate slightly rising
])
def test_sbg_without_falling_churn_is_at_the_geometric_edge(survivors):
    fit = ShiftedBetaGeometric().fit_survivors(survivors)
    _assert_edge(fit, ["alpha_", "beta_"])
    assert "one churn probability" in fit.degenerate_
    sup = _geometric_loglik(survivors)
    assert sup - FLAT_LOGLIK <= fit.loglik_ <= sup + 1e-9


def test_sbg_with_churn_only_at_the_first_renewal_is_at_the_mover_stayer_edge():
    survivors = [1000, 990, 990, 990, 990]
    fit = ShiftedBetaGeometric().fit_survivors(survivors)
    _assert_edge(fit, ["alpha_", "beta_"])
    assert "first renewal" in fit.degenerate_
    sup = 10 * np.log(0.01) + 990 * np.log(0.99)
    assert sup - FLAT_LOGLIK <= fit.loglik_ <= sup + 1e-9


@pytest.mark.parametrize("model", [ShiftedBetaGeometric, BetaDiscreteWeibull])
def test_no_churn_at_all_is_at_the_edge(model):
    fit = model().fit_survivors([500, 500, 500, 500])
    _assert_edge(fit, fit._names)
    assert "no customer churned" in fit.degenerate_
    assert -FLAT_LOGLIK <= fit.loglik_ <= 0.0


def test_bdw_without_heterogeneity_is_at_the_edge():
    fit = BetaDiscreteWeibull().fit_survivors([1000, 990, 980, 970, 960, 950, 940, 930])
    assert {"alpha_", "beta_"} <= set(fit.at_bound_)
    assert fit.summary[["se", "lower_95", "upper_95"]].isna().all().all()


def test_edge_found_from_individual_tenures_too():
    # The same nearly-no-churn cohort given as customer rows (the CLI's path for tenure tables).
    durations = [24] * 2587 + [24]
    events = [0] * 2587 + [1]
    fit = ShiftedBetaGeometric().fit(durations, events)
    _assert_edge(fit, ["alpha_", "beta_"])


@pytest.mark.parametrize("model", [ShiftedBetaGeometric, BetaDiscreteWeibull])
@pytest.mark.parametrize("survivors", [HIGH_END, REGULAR])
def test_proper_fits_have_no_edge_flags(model, survivors):
    fit = model().fit_survivors(survivors)
    assert fit.at_bound_ == {} and fit.notes_ == [] and fit.degenerate_ is None
    assert (fit.summary["se"] > 0).all()
