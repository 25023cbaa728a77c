"""Discrete-time hazard models (csim.forecast.discrete): known answers, aggregation, KM, truncation.

Tolerances: stochastic checks allow 4 standard errors, each SE computed from the sample
(binomial sqrt(p(1 − p)/n) from the number at risk, Greenwood for survival, or the fit's own
SE where the estimand has no simpler form); exact identities use 1e-8 to 1e-10.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from csim.forecast import KaplanMeier
from csim.forecast.discrete import (
    DiscreteTimeHazard,
    grid_share,
    is_coarse_grid,
    period_bins,
    person_periods,
)

lifelines = pytest.importorskip("lifelines")

Z = 4.0  # standard errors allowed in stochastic checks


def geometric_world(n, p, follow_up, seed):
    """Constant churn probability p per month; administrative censoring at 1 … follow_up months."""
    rng = np.random.default_rng(seed)
    churn = rng.geometric(p, n)                   # month of churn, 1, 2, …
    censor = rng.integers(1, follow_up + 1, n)    # months observed
    return np.minimum(churn, censor).astype(float), (churn <= censor).astype(int)


def logit(h):
    return np.log(h / (1.0 - h))


# --- conventions and helpers --------------------------------------------------------------------

def test_person_periods_conventions_by_hand():
    # churn at 2.5 -> periods 1-3, churn in 3; active at 3 observed from 1 -> periods 2, 3;
    # churn at tenure 0 -> counted in period 1; active at 4 observed from 2.5 -> periods 3, 4.
    pp = person_periods([2.5, 3, 0, 4], [1, 0, 1, 0], entry=[0, 1, 0, 2.5], grid="ignore")
    assert pp[["period", "at_risk", "churned"]].values.tolist() == [[1, 2, 1], [2, 2, 0], [3, 3, 1], [4, 1, 0]]
    assert any("tenure 0" in note for note in pp.attrs["notes"])


def test_person_periods_drops_churn_at_entry_and_validates():
    pp = person_periods([2, 3], [1, 1], entry=[2, 0])   # first churned at its entry tenure: never at risk
    assert int(pp["churned"].sum()) == 1 and any("left out" in note for note in pp.attrs["notes"])
    with pytest.raises(ValueError, match="exceed"):
        person_periods([2, 3], [1, 0], entry=[3, 0])
    with pytest.raises(ValueError, match="0 .active. or 1"):
        person_periods([2, 3], [2, 0])


def test_grid_check():
    rng = np.random.default_rng(0)
    months = rng.integers(0, 36, 1000).astype(float)
    assert is_coarse_grid(months) and grid_share(months) == 1.0
    mostly = months.copy()
    mostly[:30] += 0.5                            # 97 % whole
    assert is_coarse_grid(mostly)
    mostly[:60] += 0.25                           # 94 % whole
    assert not is_coarse_grid(mostly)
    days = rng.integers(1, 1000, 1000)
    assert not is_coarse_grid(days / 30.4375)
    assert is_coarse_grid(7.0 * rng.integers(1, 50, 1000), period=7.0)   # weeks recorded in days
    events = np.ones(1000, int)
    with pytest.warns(UserWarning, match="whole multiples of the period"):
        DiscreteTimeHazard().fit(days / 30.4375, events)
    with pytest.raises(ValueError, match="whole multiples of the period"):
        DiscreteTimeHazard(grid="raise").fit(days / 30.4375, events)


def test_pooling_rule():
    np.testing.assert_array_equal(period_bins(np.array([12, 3, 4, 5, 20, 0, 0, 2]), 10, 100),
                                  [0, 1, 1, 1, 2, 2, 2, 2])   # quiet periods pooled forward, quiet tail back
    np.testing.assert_array_equal(period_bins(np.array([20, 20, 20, 20, 20]), 10, 3), [0, 1, 2, 3, 3])  # cap
    np.testing.assert_array_equal(period_bins(np.array([3, 2]), 10, 100), [0, 0])  # too few: one hazard
    np.testing.assert_array_equal(period_bins(np.array([10, 9, 1]), 10, 100), [0, 1, 1])  # exactly enough
    # No churn after month 10 but follow-up to 20: the quiet tail joins the last bin; the fit stays proper.
    rng = np.random.default_rng(3)
    churn = rng.integers(1, 11, 2000)
    censor = rng.integers(1, 21, 2000)
    t, d = np.where(churn <= censor, churn, censor).astype(float), (churn <= censor).astype(int)
    t[rng.uniform(size=2000) < 0.3] = 20.0
    d[t == 20.0] = 0
    fit = DiscreteTimeHazard().fit(t, d)
    assert fit.degenerate_ is None
    assert fit.bin_labels_[-1].endswith("-20")
    assert np.all(fit.hazard(np.arange(11, 21)) == fit.hazard([10])[0])


# --- (a) geometric world ------------------------------------------------------------------------

@pytest.mark.parametrize("link", ["cloglog", "logit"])
def test_geometric_world_hazard_and_survival(link):
    p, n = 0.06, 20_000
    t, d = geometric_world(n, p, 24, seed=11)
    fit = DiscreteTimeHazard(link=link).fit(t, d)
    base = fit.baseline_
    # Each bin's hazard against p with the binomial SE of the customers at risk in that bin.
    at_risk_bin = base.groupby("bin", sort=False)["at_risk"].transform("sum").to_numpy()
    se = np.sqrt(p * (1 - p) / at_risk_bin)
    assert np.all(np.abs(base["hazard"] - p) <= Z * se)
    # Survival against (1 − p)^k with Greenwood's SE under the true p.
    k = base.index.to_numpy()
    truth = (1 - p) ** k
    greenwood = truth * np.sqrt(np.cumsum(p / ((1 - p) * base["at_risk"].to_numpy())))
    assert np.all(np.abs(base["survival"] - truth) <= Z * greenwood)
    assert np.all(base["survival_lower_95"] < base["survival"]) and np.all(base["survival"] < base["survival_upper_95"])


def test_geometric_world_constant_hazard_is_events_over_person_periods():
    p = 0.06
    t, d = geometric_world(20_000, p, 24, seed=12)
    fit = DiscreteTimeHazard(link="cloglog", baseline="polynomial", degree=0).fit(t, d)
    person_months = np.sum(t)                 # every customer is at risk from month 1 to month t
    # The geometric MLE in closed form: churns / person-periods.
    assert fit.hazard([1])[0] == pytest.approx(d.sum() / person_months, rel=1e-9)
    assert fit.person_periods_ == person_months
    assert abs(fit.hazard([1])[0] - p) <= Z * np.sqrt(p * (1 - p) / person_months)
    np.testing.assert_allclose(fit.survival([6, 12]), (1 - d.sum() / person_months) ** np.array([6, 12]), rtol=1e-9)


def test_loglik_is_the_contract_models_likelihood():
    # For whole periods without truncation the log-likelihood is Σ log P(T = t) over churns plus
    # Σ log S(t) over active customers, the likelihood of the sBG / BdW fits, so AIC compares with theirs.
    t, d = geometric_world(3000, 0.1, 18, seed=13)
    fit = DiscreteTimeHazard().fit(t, d)
    s_t, s_before = fit.survival(t), fit.survival(t - 1)
    expected = np.sum(np.log(s_before - s_t)[d == 1]) + np.sum(np.log(s_t)[d == 0])
    assert fit.loglik_ == pytest.approx(expected, rel=1e-10)
    assert fit.aic_ == pytest.approx(2 * fit.n_params - 2 * expected, rel=1e-10)


# --- (b) grouped-time proportional hazards ------------------------------------------------------

def grouped_exponential(n, lam, effects, x, follow_up, seed):
    """Exponential tenures with hazard lam·exp(x·effects) per month, recorded in whole months."""
    rng = np.random.default_rng(seed)
    tenure = rng.exponential(1.0 / (lam * np.exp(x @ effects)))
    months = np.ceil(tenure)
    censor = rng.integers(1, follow_up + 1, n)
    return np.minimum(months, censor).astype(float), (months <= censor).astype(int)


def test_grouped_ph_cloglog_recovers_beta_and_logit_its_closed_form():
    n, lam, beta = 20_000, 0.3, 0.7
    rng = np.random.default_rng(21)
    x = rng.integers(0, 2, n).astype(float)
    t, d = grouped_exponential(n, lam, np.array([beta]), x[:, None], 12, seed=22)
    cov = pd.DataFrame({"x": x})
    cloglog = DiscreteTimeHazard(link="cloglog").fit(t, d, covariates=cov)
    row = cloglog.summary.loc["x"]
    # Grouped PH is exact for cloglog: 1 − h_j(x) = exp(−lam·e^{βx}) every month.
    assert abs(row["coef"] - beta) <= Z * row["se"]
    assert row["hazard_ratio"] == pytest.approx(np.exp(row["coef"]))
    h0 = 1 - np.exp(-lam)
    at_risk0 = person_periods(t[x == 0], d[x == 0])["at_risk"].to_numpy()   # x = 0 customers, months 1-12
    assert np.all(np.abs(cloglog.hazard(np.arange(1, 13)) - h0) <= Z * np.sqrt(h0 * (1 - h0) / at_risk0))
    # Logit: with a time-constant hazard and a binary x the logit model is also correctly specified,
    # with coefficient logit(h1) − logit(h0), which differs from beta here.
    gamma = logit(1 - np.exp(-lam * np.exp(beta))) - logit(h0)
    fit = DiscreteTimeHazard(link="logit").fit(t, d, covariates=cov)
    row = fit.summary.loc["x"]
    assert abs(gamma - beta) > 2 * Z * row["se"]      # the design can tell the two apart
    assert abs(row["coef"] - gamma) <= Z * row["se"]
    assert row["odds_ratio"] == pytest.approx(np.exp(row["coef"]))


def test_grouped_ph_categorical_and_profiles():
    n, lam = 20_000, 0.08
    rng = np.random.default_rng(31)
    plan = rng.choice(["basic", "pro", "team"], n)
    effects = {"basic": 0.0, "pro": -0.5, "team": 0.4}
    x = np.array([effects[p] for p in plan])[:, None]
    t, d = grouped_exponential(n, lam, np.array([1.0]), x, 24, seed=32)
    fit = DiscreteTimeHazard().fit(t, d, covariates=pd.DataFrame({"plan": plan}))
    for level in ("pro", "team"):
        row = fit.summary.loc[f"plan[{level}]"]
        assert abs(row["coef"] - effects[level]) <= Z * row["se"], level
    # A profile by level equals the same profile by design column.
    np.testing.assert_allclose(fit.survival([6, 12], {"plan": "team"}), fit.survival([6, 12], {"plan[team]": 1}))
    truth = np.exp(-lam * np.exp(0.4) * 12)
    low, high = fit.survival_ci([12], {"plan": "team"})
    est = fit.survival([12], {"plan": "team"})[0]
    assert abs(est - truth) <= Z * (high[0] - low[0]) / (2 * 1.96)
    with pytest.raises(ValueError, match="not a level"):
        fit.survival([3], {"plan": "enterprise"})


# --- (c) aggregated = long Bernoulli form -------------------------------------------------------

def long_form(t, d, e, plan, flag):
    """One Bernoulli row per customer and period at risk (the module's conventions, written out)."""
    rows = []
    for ti, di, ei, pi, fi in zip(t, d, e, plan, flag):
        last = max(int(np.ceil(ti)), 1) if di else int(np.ceil(ti))
        for j in range(int(np.floor(ei)) + 1, last + 1):
            rows.append((pi, fi, j, int(di and j == last)))
    return pd.DataFrame(rows, columns=["plan", "flag", "period", "y"])


@pytest.mark.parametrize("link", ["cloglog", "logit"])
@pytest.mark.parametrize("baseline", ["periods", "polynomial"])
def test_aggregated_fit_equals_long_bernoulli_fit(link, baseline):
    rng = np.random.default_rng(41)
    n = 300
    plan = rng.choice(["a", "b", "c"], n)
    flag = rng.integers(0, 2, n)
    t = rng.integers(0, 15, n).astype(float)
    d = rng.integers(0, 2, n)
    e = np.where(rng.uniform(size=n) < 0.2, np.floor(rng.uniform(size=n) * t), 0.0)
    cov = pd.DataFrame({"plan": plan, "flag": flag})
    fit = DiscreteTimeHazard(link=link, baseline=baseline, min_events=5).fit(t, d, entry=e, covariates=cov)
    long = long_form(t, d, e, plan, flag)
    # Counts: the aggregation equals grouping the long form.
    counts = long.groupby(["plan", "flag", "period"]).agg(at_risk=("y", "size"), churned=("y", "sum")).reset_index()
    agg = person_periods(t, d, entry=e, covariates=cov)
    pd.testing.assert_frame_equal(agg.reset_index(drop=True), counts, check_dtype=False)
    # Fit: a Bernoulli GLM on the long rows with the same design.
    j = long["period"].to_numpy()
    if baseline == "periods":
        base = np.eye(len(fit.bin_labels_))[fit.bins_[np.minimum(j, len(fit.bins_)) - 1]]
    else:
        base = np.column_stack([np.log(j) ** k for k in range(3)])
    X = np.column_stack([base, long["plan"] == "b", long["plan"] == "c", long["flag"]]).astype(float)
    family = sm.families.Binomial(link=sm.families.links.CLogLog() if link == "cloglog" else sm.families.links.Logit())
    ref = sm.GLM(long["y"].to_numpy(float), X, family=family).fit(tol=1e-12, tol_criterion="params")
    np.testing.assert_allclose(fit.params_.to_numpy(), ref.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov_)), ref.bse, rtol=1e-8)
    assert fit.loglik_ == pytest.approx(ref.llf, rel=1e-10)
    assert fit.person_periods_ == len(long)


# --- (d) period effects only = Kaplan–Meier on the grouped data ---------------------------------

@pytest.mark.parametrize("link", ["cloglog", "logit"])
def test_period_effects_equal_kaplan_meier(link):
    # With one parameter per period the likelihood factorises by period, so each hazard's MLE is
    # the observed churned / at_risk whatever the link, and Π(1 − d_j/n_j) is the product-limit
    # estimate on the grouped tenures. The delta-method variance of −log S is Σ h/(n(1 − h)),
    # Greenwood's sum, so the log(−log S) band is KM's band too.
    rng = np.random.default_rng(51)
    n = 4000
    hazard = np.where(np.arange(1, 40) <= 3, 0.15, 0.05)
    churn = np.array([np.argmax(rng.uniform(size=39) < hazard) + 1 for _ in range(n)])
    censor = rng.integers(1, 19, n)
    t, d = np.minimum(churn, censor).astype(float), (churn <= censor).astype(int)
    fit = DiscreteTimeHazard(link=link, min_events=1, max_periods=100).fit(t, d)
    assert len(fit.bin_labels_) == fit.n_periods_               # one hazard per period
    k = np.arange(0, 19)
    km = lifelines.KaplanMeierFitter().fit(t, d)
    np.testing.assert_allclose(fit.survival(k), km.survival_function_at_times(k).to_numpy(), rtol=0, atol=1e-10)
    ours = KaplanMeier().fit(t, d)
    np.testing.assert_allclose(fit.survival(k), ours.survival(k), rtol=0, atol=1e-10)
    low, high = fit.survival_ci(k[1:])
    km_low, km_high = ours.survival_ci(k[1:])
    np.testing.assert_allclose(low, km_low, rtol=1e-8)
    np.testing.assert_allclose(high, km_high, rtol=1e-8)
    # The log-likelihood in closed form: Σ d log(d/n) + (n − d) log(1 − d/n).
    b = fit.baseline_
    dn, nn = b["churned"].to_numpy(float), b["at_risk"].to_numpy(float)
    assert fit.loglik_ == pytest.approx(np.sum(dn * np.log(dn / nn) + (nn - dn) * np.log1p(-dn / nn)), rel=1e-10)


def test_fractional_tenures_follow_the_ceil_convention():
    # Tenures in days converted to months: the discrete model is KM on ceil(t) (churn at 2.3 is a
    # churn in month 3; active at 2.3 survived month 3).
    rng = np.random.default_rng(52)
    n = 3000
    days = np.ceil(rng.exponential(200, n))
    censor = rng.integers(1, 366, n)
    t, d = np.minimum(days, censor) / 30.4375, (days <= censor).astype(int)
    fit = DiscreteTimeHazard(min_events=1, max_periods=100, grid="ignore").fit(t, d)
    assert len(fit.bin_labels_) == fit.n_periods_
    km = KaplanMeier().fit(np.ceil(t), d)
    k = np.arange(0, fit.n_periods_ + 1)       # (beyond the data the model carries the last hazard on)
    np.testing.assert_allclose(fit.survival(k), km.survival(k), rtol=0, atol=1e-10)


# --- (e) left truncation ------------------------------------------------------------------------

def delayed_entry_world(n, p, seed):
    """Geometric churn; observation starts at tenure E (0-5); only customers active then are seen."""
    rng = np.random.default_rng(seed)
    churn = rng.geometric(p, n)
    entry = rng.integers(0, 6, n)
    seen = churn > entry
    churn, entry = churn[seen], entry[seen]
    censor = entry + rng.integers(1, 13, len(churn))
    return (np.minimum(churn, censor).astype(float), (churn <= censor).astype(int), entry.astype(float))


def test_left_truncation_known_answer():
    p = 0.08
    t, d, e = delayed_entry_world(30_000, p, seed=61)
    fit = DiscreteTimeHazard(min_events=1, max_periods=100).fit(t, d, entry=e)
    b = fit.baseline_
    assert np.all(np.abs(b["hazard"] - p) <= Z * np.sqrt(p * (1 - p) / b["at_risk"]))
    # Ignoring the entry counts late entrants at risk in months they could not have churned in.
    naive = DiscreteTimeHazard(min_events=1, max_periods=100).fit(t, d)
    assert naive.hazard([1])[0] < p - Z * np.sqrt(p * (1 - p) / naive.baseline_["at_risk"].iloc[0])


def test_left_truncation_equals_kaplan_meier_with_entry():
    t, d, e = delayed_entry_world(5000, 0.1, seed=62)
    fit = DiscreteTimeHazard(min_events=1, max_periods=100).fit(t, d, entry=e)
    assert len(fit.bin_labels_) == fit.n_periods_
    k = np.arange(0, 18)
    ours = KaplanMeier().fit(t, d, entry=e)            # statsmodels: at risk at j when entry < j <= t
    np.testing.assert_allclose(fit.survival(k), ours.survival(k), rtol=0, atol=1e-10)
    # lifelines counts a customer entering at tenure e in the risk set at e itself; on grouped data
    # that customer was not observed during period e, so it enters "between periods" at e + 0.5.
    ref = lifelines.KaplanMeierFitter().fit(t, d, entry=e + 0.5)
    np.testing.assert_allclose(fit.survival(k[1:]), ref.survival_function_at_times(k[1:]).to_numpy(), rtol=0,
                               atol=1e-10)   # (lifelines has no value at 0 when nobody enters at 0)


# --- degenerate fits and projections ------------------------------------------------------------

def test_level_without_churn_is_degenerate_without_intervals():
    rng = np.random.default_rng(71)
    n = 600
    plan = rng.choice(["a", "b", "free"], n)
    t, d = geometric_world(n, 0.1, 12, seed=72)
    d[plan == "free"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = DiscreteTimeHazard().fit(t, d, covariates=pd.DataFrame({"plan": plan}))
    assert fit.degenerate_
    assert fit.summary[["se", "lower_95", "upper_95"]].isna().all().all()
    low, high = fit.survival_ci([3, 6])
    assert np.isnan(low).all() and np.isnan(high).all()
    assert np.isnan(fit.sample_theta(5)).all()


def test_projection_interface_and_draw_bands():
    from csim.forecast.projection import expected_alive, survival_band

    p = 0.06
    t, d = geometric_world(5000, p, 24, seed=81)
    fit = DiscreteTimeHazard().fit(t, d)
    grid = np.arange(0, 31, dtype=float)
    band = survival_band(fit, grid, draws=500, seed=1)
    np.testing.assert_allclose(band["survival"], fit.survival(grid))
    assert np.all(band["lower"].iloc[1:] < band["survival"].iloc[1:])
    assert np.all(band["survival"].iloc[1:] < band["upper"].iloc[1:])
    # Draw bands and delta bands describe the same sampling law: close, not equal.
    low_d, high_d = fit.survival_ci([12])
    low_s, high_s = fit.survival_ci([12], method="draws", draws=4000, seed=2)
    width = high_d[0] - low_d[0]
    assert abs(low_s[0] - low_d[0]) < 0.1 * width and abs(high_s[0] - high_d[0]) < 0.1 * width
    alive = expected_alive(fit, grid, 1000.0, draws=200)
    assert alive["customers"].iloc[0] == pytest.approx(1000.0)
    assert fit.to_dict()["degenerate"] is None
