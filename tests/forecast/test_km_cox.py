"""Kaplan–Meier, log-rank, Cox and concordance against lifelines; group comparison helper."""

import numpy as np
import pandas as pd
import pytest

from csim.forecast import CoxPH, KaplanMeier, compare_groups, concordance_index, log_rank, survival_data_from_accounts
from csim.records import MONTH_DAYS

lifelines = pytest.importorskip("lifelines")
from lifelines.statistics import logrank_test  # noqa: E402
from lifelines.utils import concordance_index as lifelines_concordance  # noqa: E402


@pytest.fixture(scope="module")
def monthly():
    """Whole-month tenures (many ties), two covariates, a group and left truncation."""
    rng = np.random.default_rng(7)
    n = 1200
    X = pd.DataFrame({"usage": rng.normal(size=n), "smb": rng.integers(0, 2, n).astype(float)})
    tenure = np.ceil(10 * rng.weibull(1.2, n) * np.exp(-(0.5 * X.usage - 0.4 * X.smb) / 1.2))
    censor = np.ceil(rng.uniform(0, 30, n))
    t = np.minimum(tenure, censor)
    d = (tenure <= censor).astype(int)
    entry = np.where(rng.uniform(size=n) < 0.2, np.floor(rng.uniform(0, 1, n) * t), 0.0)
    return t, d, X, entry


def test_km_survival_and_interval_match_lifelines(monthly):
    t, d, _, entry = monthly
    for e in (None, entry):
        ours = KaplanMeier().fit(t, d, entry=e)
        ref = lifelines.KaplanMeierFitter().fit(t, d, entry=e)
        times = ours.table_["t"].to_numpy()
        np.testing.assert_allclose(ours.table_["survival"], ref.survival_function_.loc[times].iloc[:, 0], rtol=1e-6)
        ci = ref.confidence_interval_.loc[times]
        np.testing.assert_allclose(ours.table_["lower"], ci.iloc[:, 0], rtol=1e-6)
        np.testing.assert_allclose(ours.table_["upper"], ci.iloc[:, 1], rtol=1e-6)
        assert ours.median_ == ref.median_survival_time_


def test_km_without_censoring_is_empirical_survival():
    t = np.array([1.0, 2, 2, 3, 5, 8])
    km = KaplanMeier().fit(t, np.ones(6))
    grid = np.array([0.5, 1, 2, 4, 8])
    np.testing.assert_allclose(km.survival(grid), [(t > g).mean() for g in grid])


def test_log_rank_variants_match_lifelines(monthly):
    t, d, X, _ = monthly
    g = X.smb.to_numpy()
    a, b = g == 0, g == 1
    for ours, theirs, kw in [("logrank", None, {}), ("gehan-breslow", "wilcoxon", {}),
                             ("tarone-ware", "tarone-ware", {}), ("fleming-harrington", "fleming-harrington", {"p": 1, "q": 0})]:
        ref = logrank_test(t[a], t[b], d[a], d[b], weightings=theirs, **kw)
        assert log_rank(t, d, g, weighting=ours)["chisq"] == pytest.approx(ref.test_statistic, rel=1e-6), ours


def test_cox_efron_matches_lifelines(monthly):
    t, d, X, _ = monthly
    ours = CoxPH().fit(t, d, covariates=X)
    ref = lifelines.CoxPHFitter().fit(X.assign(T=t, E=d), "T", "E")  # lifelines uses Efron ties, no penalty
    np.testing.assert_allclose(ours.params_.to_numpy(), ref.params_[X.columns].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.summary["se"].to_numpy(), ref.standard_errors_[X.columns].to_numpy(), rtol=1e-5)
    assert ours.loglik_ == pytest.approx(ref.log_likelihood_, rel=1e-9)
    assert ours.concordance_ == pytest.approx(ref.concordance_index_, rel=1e-9)
    profile = pd.DataFrame({"usage": [0.0, 1.0], "smb": [0.0, 1.0]})
    times = [1.0, 4.0, 9.0, 20.0]
    expected = ref.predict_survival_function(profile, times=times).to_numpy()
    np.testing.assert_allclose(ours.predict(times, profile).to_numpy(), expected, rtol=1e-5)


def test_cox_left_truncation_matches_lifelines(monthly):
    # lifelines, like R, puts a customer in the risk set at t when entry < t <= exit. The
    # fixture's whole-month entries coincide with churn months, where the conventions differ.
    t, d, X, entry = monthly
    assert np.isin(entry[entry > 0], t[d == 1]).sum() > 100
    ours = CoxPH().fit(t, d, entry=entry, covariates=X)
    ref = lifelines.CoxPHFitter().fit(X.assign(T=t, E=d, A=entry), "T", "E", entry_col="A",
                                      fit_options={"precision": 1e-12})  # its default stops at ~1e-6
    # Both converged by Newton steps: agreement measured at ~1e-14.
    np.testing.assert_allclose(ours.params_.to_numpy(), ref.params_[X.columns].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.summary["se"].to_numpy(), ref.standard_errors_[X.columns].to_numpy(), rtol=1e-9)
    assert ours.loglik_ == pytest.approx(ref.log_likelihood_, rel=1e-12)


def test_cox_recovers_hazard_ratio():
    rng = np.random.default_rng(17)
    n = 4000
    x = rng.integers(0, 2, n).astype(float)
    tenure = rng.exponential(1 / (0.05 * np.exp(np.log(0.6) * x)))  # hazard ratio 0.6 for x = 1
    censor = rng.uniform(0, 40, n)
    fit = CoxPH().fit(np.minimum(tenure, censor), tenure <= censor, covariates=pd.DataFrame({"x": x}))
    row = fit.summary.loc["x"]
    assert row["hr_lower_95"] < 0.6 < row["hr_upper_95"]


def test_concordance_matches_lifelines_with_ties():
    rng = np.random.default_rng(2)
    for n in (2, 5, 40, 700):
        t = rng.integers(1, 8, n).astype(float)
        score = rng.integers(0, 5, n).astype(float)
        d = rng.integers(0, 2, n)
        d[0] = 1
        expected = lifelines_concordance(t, -score, d) if n > 2 or t[0] != t[1] else np.nan
        got = concordance_index(t, score, d)
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, rel=1e-12)


def test_concordance_perfect_and_reversed():
    t = np.arange(1.0, 11.0)
    d = np.ones(10)
    assert concordance_index(t, -t, d) == 1.0
    assert concordance_index(t, t, d) == 0.0


def test_compare_groups_hazard_ratio_and_log_rank():
    rng = np.random.default_rng(23)
    n = 3000
    strategy = np.where(rng.uniform(size=n) < 0.5, "expansion", "renewal")
    hazard = np.where(strategy == "expansion", 0.03, 0.05)  # per month
    tenure = rng.exponential(1 / hazard)
    censor = rng.uniform(0, 36, n)
    t, d = np.minimum(tenure, censor), (tenure <= censor).astype(int)
    out = compare_groups(t, d, strategy, reference="renewal", times=[12.0])
    row = out["cox"].loc["group[expansion]"]
    assert row["hr_lower_95"] < 0.6 < row["hr_upper_95"]
    assert out["log_rank"].loc["logrank", "p"] < 1e-6
    assert list(out["summary"].index) == ["expansion", "renewal"]
    # KM at 12 months per group is close to exp(-12 h) within sampling error.
    for group, h in [("expansion", 0.03), ("renewal", 0.05)]:
        assert abs(out["survival_at"].loc[12.0, group] - np.exp(-12 * h)) < 0.04


def test_survival_data_from_accounts_left_truncation():
    accounts = {
        "start": np.array([-100.0, 30.0, 0.0]), "entry": np.array([0.0, 30.0, 0.0]),
        "end": np.array([200.0, 400.0, 365.25]), "churned": np.array([True, False, True]),
        "segment": np.array([0, 1, 1], dtype=np.int8), "channel": np.array([0, 1, 2], dtype=np.int8),
        "replication": np.zeros(3, dtype=np.int32),
    }
    table = survival_data_from_accounts(accounts, segments=("smb", "enterprise"))
    np.testing.assert_allclose(table["duration"], [300 / MONTH_DAYS, 370 / MONTH_DAYS, 12.0])
    np.testing.assert_allclose(table["entry"], [100 / MONTH_DAYS, 0.0, 0.0])
    assert list(table["event"]) == [1, 0, 1]
    assert list(table["segment"]) == ["smb", "enterprise", "enterprise"]
    assert list(table["channel"]) == ["initial", "marketing", "referral"]
