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


# ---------------------------------------------------------------- covariates (log links on alpha and beta)
# alpha_i = exp(a0 + a·x_i), beta_i = exp(b0 + b·x_i) (c shared in the BdW). With one 0/1 dummy on
# both, the joint model is the two groups' separate models reparametrised: same maximum, same
# estimates and, the information being the same up to a linear change of parameters, the same
# standard errors.
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from csim.forecast.mle import SingularFitError  # noqa: E402


def _individual(counts):
    """Survivor counts of one cohort as customer rows: churn at t, or active at the last period."""
    counts = np.asarray(counts, float)
    lost = -np.diff(counts)
    durations = np.concatenate([np.repeat(np.arange(1.0, len(counts)), lost.astype(int)),
                                np.full(int(counts[-1]), len(counts) - 1.0)])
    return durations, (np.arange(len(durations)) < lost.sum()).astype(float)


def _world(alpha, beta, n, periods, seed, c=1.0):
    """Customer tenures when each churn probability is drawn from Beta(alpha, beta), censored at ``periods``.

    Survive t renewals with probability (1 − p)^(t^c): c = 1 is geometric tenure (the sBG).
    """
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, beta, n)
    t = np.arange(1, periods + 1, dtype=float)
    alive = rng.uniform(size=n)[:, None] < (1.0 - p[:, None]) ** (t[None, :] ** c)
    tenure = 1.0 + alive.sum(axis=1)        # first renewal not survived; periods + 1 = beyond the window
    return np.minimum(tenure, periods), (tenure <= periods).astype(float)


GROUPS = {0.0: (0.8, 2.5), 1.0: (1.5, 6.0)}   # x → (alpha, beta)


@pytest.fixture(scope="module")
def two_groups():
    """4000 customers per group, each group a plain sBG world, censored after 8 renewals."""
    parts = [(*_world(a, b, 4000, 8, seed=40 + int(x)), np.full(4000, x)) for x, (a, b) in GROUPS.items()]
    t, d, x = (np.concatenate(column) for column in zip(*parts))
    return t, d, pd.DataFrame({"x": x})


@pytest.mark.parametrize("model", [ShiftedBetaGeometric, BetaDiscreteWeibull])
def test_without_covariates_the_fit_is_the_one_without(model):
    """covariates=None or a frame without columns: the plain fit (loglik to 1e-10, same estimates)."""
    t, d = _individual(HIGH_END)
    plain = model().fit(t, d)
    for covariates in (None, pd.DataFrame(index=range(len(t)))):
        fit = model().fit(t, d, covariates=covariates)
        assert fit.loglik_ == pytest.approx(plain.loglik_, rel=1e-10)
        np.testing.assert_allclose(fit.theta_, plain.theta_, rtol=1e-10)
        assert list(fit.summary.index) == list(model._names) and fit.covariate_names_ == []
    assert plain.loglik_ == pytest.approx(model().fit_survivors(HIGH_END).loglik_, rel=1e-10)


@pytest.mark.parametrize("model", [ShiftedBetaGeometric, BetaDiscreteWeibull])
def test_a_dummy_between_two_copies_of_the_data_has_no_effect(model):
    """The same cohort twice, x = 0 and x = 1: coefficients 0, intercepts the plain fit, loglik twice its.

    A closed form for the covariate likelihood (a per-pattern table of log S): the two halves are
    identical, so the maximum has a = b = 0 and is the plain maximum counted twice.
    """
    t, d = _individual(REGULAR)
    plain = model().fit(t, d)
    x = pd.DataFrame({"x": np.repeat([0.0, 1.0], len(t))})
    fit = model().fit(np.tile(t, 2), np.tile(d, 2), covariates=x)
    assert fit.loglik_ == pytest.approx(2 * plain.loglik_, rel=1e-10)
    np.testing.assert_allclose(fit.params_[["alpha_: x", "beta_: x"]], 0.0, atol=1e-6)
    np.testing.assert_allclose(fit.parameters_at({"x": 0.0})["estimate"], plain.params_, rtol=1e-6)
    # Twice the customers: standard errors of the pooled parameters shrink by √2.
    np.testing.assert_allclose(fit.parameters_at({"x": 0.5})["se"] * np.sqrt(2), plain.summary["se"], rtol=1e-4)


def test_sbg_dummy_on_alpha_and_beta_is_the_two_separate_fits(two_groups):
    """Per group: alpha, beta within 4 SE of the truth; equal to the group's own fit (estimates 1e-6, SE 1e-4).

    Measured: estimates agree to 5e-9 and standard errors (numerical Hessians) to 7e-7 relative;
    the joint log-likelihood is the sum of the two to 1e-16.
    """
    t, d, X = two_groups
    joint = ShiftedBetaGeometric().fit(t, d, covariates=X)
    assert joint.at_bound_ == {} and joint.degenerate_ is None and joint.notes_ == []
    separate_loglik = 0.0
    for x, truth in GROUPS.items():
        group = X.x.to_numpy() == x
        alone = ShiftedBetaGeometric().fit(t[group], d[group])
        separate_loglik += alone.loglik_
        at = joint.parameters_at({"x": x})
        assert list(at.index) == ["alpha_", "beta_"]
        np.testing.assert_allclose(at["estimate"], alone.params_, rtol=1e-6)
        np.testing.assert_allclose(at["se"], alone.summary["se"], rtol=1e-4)
        assert np.all(np.abs(at["estimate"] - truth) < 4 * at["se"]), (x, at)
        np.testing.assert_allclose(joint.survival(np.arange(13.0), {"x": x}), alone.survival(np.arange(13.0)),
                                   rtol=1e-6)
        np.testing.assert_allclose(joint.retention_rate(np.arange(1.0, 13.0), {"x": x}),
                                   joint.survival(np.arange(1.0, 13.0), {"x": x})
                                   / joint.survival(np.arange(0.0, 12.0), {"x": x}), rtol=1e-12)
    assert joint.loglik_ == pytest.approx(separate_loglik, rel=1e-10)
    # The named attributes are the reference profile's (x = 0).
    assert (joint.alpha_, joint.beta_) == pytest.approx(tuple(joint.parameters_at()["estimate"]), rel=1e-15)


def test_covariates_raise_the_likelihood_by_a_significant_amount_when_groups_differ(two_groups):
    """Nested models: loglik(with x) ≥ loglik(without); here the LR statistic (2 df) is far beyond chance."""
    t, d, X = two_groups
    joint = ShiftedBetaGeometric().fit(t, d, covariates=X)
    pooled = ShiftedBetaGeometric().fit(t, d)
    assert joint.loglik_ >= pooled.loglik_
    assert 2 * (joint.loglik_ - pooled.loglik_) > stats.chi2.ppf(0.999, df=2)
    frame = joint.predict([0.0, 1.0, 8.0], pd.DataFrame({"x": [0.0, 1.0]}, index=["x=0", "x=1"]))
    assert list(frame.columns) == ["x=0", "x=1"] and frame.index.name == "t"
    # The true curves cross: group 1 churns less at first (mean p 0.20 vs 0.24, S(1) 0.800 vs 0.758)
    # but is more alike, so fewer of its customers are loyal (S(8) 0.290 vs 0.310); the fitted ones
    # cross too.
    assert frame.loc[1.0, "x=1"] > frame.loc[1.0, "x=0"] and frame.loc[8.0, "x=1"] < frame.loc[8.0, "x=0"]


def test_bdw_with_a_dummy_and_a_shared_c_recovers_the_truth():
    """Two BdW worlds with the same c = 1.4: per-group alpha, beta and the common c within 4 SE."""
    truth = {0.0: (0.8, 2.5), 1.0: (1.5, 6.0)}
    parts = [(*_world(a, b, 4000, 10, seed=50 + int(x), c=1.4), np.full(4000, x)) for x, (a, b) in truth.items()]
    t, d, x = (np.concatenate(column) for column in zip(*parts))
    fit = BetaDiscreteWeibull().fit(t, d, covariates=pd.DataFrame({"x": x}))
    assert fit.at_bound_ == {} and fit.degenerate_ is None
    for level, (a, b) in truth.items():
        at = fit.parameters_at({"x": level})
        assert np.all(np.abs(at["estimate"] - [a, b, 1.4]) < 4 * at["se"]), (level, at)
    assert fit.parameters_at({"x": 1.0}).loc["c_"].equals(fit.summary.loc["c_"])


def test_a_segment_without_churn_sends_its_coefficients_to_the_edge(two_groups):
    """Nobody with x = 1 churns: its churn probability runs to 0 (alpha → 0 or beta → ∞, either will do).

    The coefficients of x have no finite estimate: flagged, NaN standard errors (never 0), a note
    naming the segment, no bands; the intercepts are the x = 0 group's own fit (the limit).
    """
    t, d, X = two_groups
    group0 = X.x.to_numpy() == 0
    t = np.where(group0, t, 8.0)
    d = np.where(group0, d, 0.0)
    fit = ShiftedBetaGeometric().fit(t, d, covariates=X)
    assert set(fit.at_bound_) == {"alpha_: x", "beta_: x"}
    assert fit.notes_ and "nobody with x = 1 churned" in fit.notes_[0] and fit.degenerate_ is None
    rows = fit.summary.loc[["alpha_: x", "beta_: x"]]
    assert rows[["se", "lower_95", "upper_95"]].isna().all().all()
    assert fit.parameters_at({"x": 1.0})[["se", "lower_95", "upper_95"]].isna().all().all()
    alone = ShiftedBetaGeometric().fit(t[group0], d[group0])
    reference = fit.parameters_at({"x": 0.0})
    np.testing.assert_allclose(reference["estimate"], alone.params_, rtol=1e-6)
    np.testing.assert_allclose(reference["se"], alone.summary["se"], rtol=1e-4)
    assert fit.survival([8.0], {"x": 1.0})[0] > 1 - 1e-6
    band = survival_band(fit, np.arange(1.0, 6.0), draws=50, seed=0, covariates={"x": 0.0})
    assert band[["lower", "upper"]].isna().all().all()


def test_pattern_table_and_row_by_row_likelihoods_agree(two_groups, monkeypatch):
    """Above a size limit the likelihood is evaluated row by row (betaln): the same fit.

    Same maximum to 1e-12 relative (measured 2e-16), estimates to 1e-6 (measured 3e-8: where two
    optimisers working from numerical derivatives stop on the same flat maximum).
    """
    t, d, X = two_groups
    covariates = X.assign(z=np.round(np.random.default_rng(4).normal(size=len(X))))
    table = ShiftedBetaGeometric().fit(t, d, covariates=covariates)
    monkeypatch.setattr(ShiftedBetaGeometric, "_TABLE_CELLS", 0)
    rows = ShiftedBetaGeometric().fit(t, d, covariates=covariates)
    assert rows.loglik_ == pytest.approx(table.loglik_, rel=1e-12)
    np.testing.assert_allclose(rows.theta_, table.theta_, rtol=0, atol=1e-6)


def test_covariate_errors():
    t, d = _individual(REGULAR)
    x = pd.DataFrame({"x": np.arange(len(t)) % 2.0, "k": 1.0})
    with pytest.raises(SingularFitError, match="k is constant"):
        ShiftedBetaGeometric().fit(t, d, covariates=x)
    with pytest.raises(ValueError, match="finite"):
        ShiftedBetaGeometric().fit(t, d, covariates=x[["x"]].assign(x=np.nan))
    with pytest.raises(ValueError, match="entry"):
        ShiftedBetaGeometric().fit(t, d, entry=np.zeros(len(t)), covariates=x[["x"]])
    fit = ShiftedBetaGeometric().fit(t, d, covariates=x[["x"]])
    with pytest.raises(ValueError, match=r"profile lacks covariates \['x'\]"):
        fit.survival([1.0, 2.0], {"y": 1.0})
    plain = ShiftedBetaGeometric().fit(t, d)
    with pytest.raises(ValueError, match="no covariates"):
        plain.survival([1.0], {"x": 1.0})
