"""Prediction quality (csim.forecast.quality) against scikit-survival, R survival::rttright and closed forms.

The reference values were made once by tests/forecast/reference/quality_make_reference.py
(scikit-survival 0.28.0 and R survival 3.5.3); this suite reads them and needs neither.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from csim.forecast import CoxPH, KaplanMeier
from csim.forecast import quality as q

REF = Path(__file__).parent / "reference"
REFERENCE = json.loads((REF / "quality_reference.json").read_text())
TOL = 1e-10


def _nan(values):
    return np.array([np.nan if v is None else v for v in values], float)


def _case(name):
    c = REFERENCE["cases"][name]
    data = pd.read_csv(REF / c["data"])
    cens = pd.read_csv(REF / c["censoring"])
    surv = pd.read_csv(REF / c["survival"]).to_numpy(float)
    times = np.array(c["times"])
    if c["risk"] == "1 - survival":
        risk = 1.0 - surv
    else:
        assert c["risk"] == "0.8 * x"
        risk = 0.8 * data["x"].to_numpy(float)  # one score per customer, used at every time
    censoring = (cens["duration"].to_numpy(float), cens["event"].to_numpy(float))
    return c, data["duration"].to_numpy(float), data["event"].to_numpy(float), surv, risk, times, censoring


@pytest.mark.parametrize("name", sorted(REFERENCE["cases"]))
def test_matches_scikit_survival(name):
    """convention="sksurv" reproduces brier_score, integrated_brier_score, cumulative_dynamic_auc."""
    c, t, d, surv, risk, times, censoring = _case(name)
    ref = c["sksurv"]
    bs = q.brier_score(t, d, surv, times, censoring=censoring, convention="sksurv")
    np.testing.assert_allclose(bs, ref["brier"], rtol=0, atol=TOL)
    if "ibs" in ref:
        assert q.integrated_brier_score(times, bs) == pytest.approx(ref["ibs"], abs=TOL)
    auc, mean_auc = q.cumulative_dynamic_auc(t, d, risk, times, censoring=censoring, convention="sksurv")
    np.testing.assert_allclose(auc, ref["auc"], rtol=0, atol=TOL)
    assert mean_auc == pytest.approx(ref["mean_auc"], abs=TOL)
    km = q.brier_score_km(t, d, times, censoring=censoring, train=censoring, convention="sksurv")
    np.testing.assert_allclose(km, ref["brier_km"], rtol=0, atol=TOL)


@pytest.mark.parametrize("name", sorted(REFERENCE["cases"]))
def test_graf_convention_matches_direct_formula(name):
    """Default convention: churners weighted by 1/G(T_i−) (formula evaluated by the generator script)."""
    c, t, d, surv, risk, times, censoring = _case(name)
    bs = q.brier_score(t, d, surv, times, censoring=censoring)
    np.testing.assert_allclose(bs, c["graf"]["brier"], rtol=0, atol=TOL)
    auc, _ = q.cumulative_dynamic_auc(t, d, risk, times, censoring=censoring)
    np.testing.assert_allclose(auc, _nan(c["graf"]["auc"]), rtol=0, atol=TOL)


@pytest.mark.parametrize("data, survival, values", [
    ("quality_A_data.csv", "quality_A_survival_half.csv", "quality_A_R_half.csv"),
    ("quality_B_data.csv", "quality_B_survival.csv", "quality_B_R.csv"),
])
def test_graf_convention_matches_r_rttright(data, survival, values):
    """R survival::rttright IPCW weights give the same Brier and AUC at times that are not censoring times."""
    frame = pd.read_csv(REF / data)
    surv = pd.read_csv(REF / survival).to_numpy(float)
    ref = pd.read_csv(REF / values)
    t, d = frame["duration"].to_numpy(float), frame["event"].to_numpy(float)
    np.testing.assert_allclose(q.brier_score(t, d, surv, ref["t"]), ref["brier"], rtol=0, atol=TOL)
    auc, _ = q.cumulative_dynamic_auc(t, d, 1.0 - surv, ref["t"])
    np.testing.assert_allclose(auc, ref["auc"], rtol=0, atol=TOL)


def test_conventions_differ_only_when_censoring_ties_a_churn():
    """B has no tied tenures: both conventions agree. A has censoring at churn tenures: they differ,
    so the reference tests above tell the two apart."""
    _, t, d, surv, risk, times, _ = _case("B")
    for f in (lambda c: q.brier_score(t, d, surv, times, convention=c),
              lambda c: q.cumulative_dynamic_auc(t, d, risk, times, convention=c)[0]):
        np.testing.assert_allclose(f("graf"), f("sksurv"), rtol=0, atol=1e-12)
    _, t, d, surv, risk, times, _ = _case("A_int")
    gap = np.abs(q.brier_score(t, d, surv, times) - q.brier_score(t, d, surv, times, convention="sksurv"))
    assert gap.max() > 1e-3


def test_graf_weights_add_up_to_n():
    """With 1/G(T_i−) for churners and 1/G(t) for the still-active, the weights sum to n
    (KM(t)·G(t) = share still observed), so predicting 1/2 for everyone scores exactly 1/4."""
    for name in ("A_int", "C_int"):
        _, t, d, _, _, times, censoring = _case(name)
        half = np.full((len(t), len(times)), 0.5)
        bs = q.brier_score(t, d, half, times)  # G from the scored customers themselves
        np.testing.assert_allclose(bs, 0.25, rtol=0, atol=1e-12)
    # scikit-survival's 1/G(T_i) over-weights churners tied with a censoring, so its sum is larger.
    _, t, d, _, _, times, _ = _case("A_int")
    bs = q.brier_score(t, d, np.full((len(t), len(times)), 0.5), times, convention="sksurv")
    assert bs.max() > 0.25 + 1e-3


@pytest.fixture(scope="module")
def uncensored():
    rng = np.random.default_rng(3)
    t = np.ceil(rng.exponential(6.0, 400))  # whole months: many ties
    return t, np.ones_like(t), np.arange(1.0, 13.0)


def test_perfect_predictor_scores_zero_and_auc_one(uncensored):
    t, d, times = uncensored
    perfect = (t[:, None] > times[None, :]).astype(float)
    np.testing.assert_array_equal(q.brier_score(t, d, perfect, times), 0.0)
    auc, mean_auc = q.cumulative_dynamic_auc(t, d, 1.0 - perfect, times)
    np.testing.assert_array_equal(auc, 1.0)
    assert mean_auc == 1.0
    # Minus the tenure ranks every churner by t above everyone still active.
    np.testing.assert_array_equal(q.cumulative_dynamic_auc(t, d, -t, times)[0], 1.0)


def test_constant_predictor_has_auc_one_half():
    _, t, d, _, _, times, _ = _case("A_int")
    auc, mean_auc = q.cumulative_dynamic_auc(t, d, np.full(len(t), 0.3), times)
    np.testing.assert_allclose(auc, 0.5, rtol=0, atol=1e-15)  # weighted sums: rounding only
    assert mean_auc == pytest.approx(0.5, abs=1e-15)


def test_without_censoring_brier_is_mean_squared_error(uncensored):
    t, d, times = uncensored
    rng = np.random.default_rng(4)
    pred = rng.uniform(size=(len(t), len(times)))
    expected = np.mean(((t[:, None] > times[None, :]) - pred) ** 2, axis=0)
    np.testing.assert_allclose(q.brier_score(t, d, pred, times), expected, rtol=1e-13)
    # The Kaplan–Meier reference is then the empirical S(t), whose Brier score is S(1 − S).
    s = np.array([(t > x).mean() for x in times])
    np.testing.assert_allclose(q.brier_score_km(t, d, times), s * (1 - s), rtol=1e-12)


def test_integrated_brier_is_trapezoid_over_range():
    times = np.array([1.0, 2.0, 4.0])
    assert q.integrated_brier_score(times, [0.1, 0.2, 0.2]) == pytest.approx((0.15 * 1 + 0.2 * 2) / 3, abs=1e-15)
    with pytest.raises(ValueError, match="at least two"):
        q.integrated_brier_score([1.0], [0.1])
    with pytest.raises(ValueError, match="follow-up"):
        q.integrated_brier_score(times, [0.1, np.nan, 0.2])


def test_left_truncation_recovers_uncensored_score():
    """Delayed entry and censoring on the tenure scale: the IPCW Brier score of conditional
    predictions matches the score the same customers would get without censoring."""
    rng = np.random.default_rng(11)
    n0 = 12_000
    tenure = 10 * rng.weibull(1.5, n0)
    entry = np.where(rng.uniform(size=n0) < 0.6, rng.uniform(0, 8, n0), 0.0)
    censor = rng.uniform(0, 25, n0)
    seen = (tenure > entry) & (censor > entry)  # left truncation: only customers active at entry are seen
    tenure, entry, censor = tenure[seen], entry[seen], censor[seen]
    y, d = np.minimum(tenure, censor), (tenure <= censor).astype(float)
    times = np.array([2.0, 4, 6, 8, 10, 12])

    def true_s(x):
        return np.exp(-(x / 10) ** 1.5)

    scored = entry[:, None] < times[None, :]
    pred = np.where(scored, true_s(times)[None, :] / true_s(entry)[:, None], 1.0)
    ours = q.brier_score(y, d, pred, times, entry=entry)
    oracle_terms = ((tenure[:, None] > times[None, :]) - pred) ** 2
    oracle = np.array([oracle_terms[scored[:, k], k].mean() for k in range(len(times))])
    # Tolerance: 4 standard errors of the mean of the per-customer IPCW terms minus the oracle terms.
    g = q.CensoringDistribution(y, d, entry)
    case = (y[:, None] <= times[None, :]) & (d[:, None] > 0)
    ctrl = y[:, None] > times[None, :]
    ipcw_terms = g(entry)[:, None] * (case * pred ** 2 / g.left(y)[:, None]
                                      + ctrl * (1 - pred) ** 2 / g(times)[None, :])
    diff = ipcw_terms - oracle_terms
    se = np.array([diff[scored[:, k], k].std() / np.sqrt(scored[:, k].sum()) for k in range(len(times))])
    assert np.all(np.abs(ours - oracle) < 4 * se), (ours - oracle) / se
    # Ignoring the delayed entry is visibly wrong on the same data (the test can fail).
    naive = q.brier_score(y, d, pred, times)
    assert np.max(np.abs(naive - oracle) / se) > 10
    # Entry all 0 is the plain estimator.
    np.testing.assert_array_equal(q.brier_score(y, d, pred, times, entry=np.zeros_like(y)),
                                  q.brier_score(y, d, pred, times))


# ---------------------------------------------------------------------------- calibration


def _calibrated_sample(rng, n, scale=1.0):
    x = rng.normal(size=n)
    lam = 8.0 * np.exp(-0.7 * x)
    tenure = lam * rng.weibull(1.3, n)
    censor = rng.uniform(0, 30, n)
    y, d = np.minimum(tenure, censor), (tenure <= censor).astype(float)
    s6 = np.exp(-(6.0 / lam) ** 1.3)
    return y, d, 1.0 - scale * (1.0 - s6)  # scale ≠ 1: predicted churn off by that factor


def test_calibration_without_censoring_is_binomial():
    """No censoring: KM(t) is the share still active and Greenwood's variance is S(1−S)/n, so
    the GND statistic is the Hosmer–Lemeshow-type sum Σ (o − p)² / (o(1 − o)/n_g)."""
    rng = np.random.default_rng(5)
    n = 1000
    x = rng.normal(size=n)
    tenure = 8.0 * np.exp(-0.7 * x) * rng.weibull(1.3, n)
    pred = np.exp(-(6.0 / (8.0 * np.exp(-0.7 * x))) ** 1.3)
    table, summary = q.calibration_at(tenure, np.ones(n), pred, 6.0, groups=10)
    codes = pd.qcut(1 - pred, 10, labels=False)
    observed = pd.Series(tenure <= 6.0).groupby(codes).mean().to_numpy()
    predicted = pd.Series(1 - pred).groupby(codes).mean().to_numpy()
    sizes = np.bincount(codes)
    np.testing.assert_allclose(table["observed_risk"], observed, rtol=1e-12)
    np.testing.assert_allclose(table["predicted_risk"], predicted, rtol=1e-12)
    chisq = np.sum((observed - predicted) ** 2 / (observed * (1 - observed) / sizes))
    assert summary["chisq"] == pytest.approx(chisq, rel=1e-9)
    assert summary["df"] == 9 and summary["statistic"] == "GND chi-square"
    assert summary["mean_abs_error"] == pytest.approx(np.sum(np.abs(observed - predicted) * sizes) / n, rel=1e-12)
    assert np.all(table["observed_lower"] < table["observed_risk"])
    assert np.all(table["observed_risk"] < table["observed_upper"])


def test_calibration_test_size_and_power():
    """Correct predictions are rejected at 5 % about 5 % of the time; predictions with churn
    halved are rejected decisively."""
    rng = np.random.default_rng(6)
    reps = 40
    rejected = sum(q.calibration_at(*_calibrated_sample(rng, 800), 6.0)[1]["p"] < 0.05 for _ in range(reps))
    # Upper 99.9 % point of Binomial(reps, 0.05), with room for the chi-square approximation.
    assert rejected <= stats.binom.ppf(0.999, reps, 0.05)
    _, summary = q.calibration_at(*_calibrated_sample(rng, 2000, scale=0.5), 6.0)
    assert summary["p"] < 1e-6


def test_calibration_group_without_churn_has_no_interval():
    rng = np.random.default_rng(8)
    n = 300
    low = np.arange(n) < 100  # a third predicted (and truly) safe: no churn by t
    tenure = np.where(low, 20 + rng.uniform(0, 5, n), rng.exponential(4.0, n))
    pred = np.where(low, 0.999, np.exp(-6.0 / 4.0))
    table, summary = q.calibration_at(tenure, np.ones(n), pred, 6.0, groups=5)
    safe = table[table["churned_by_t"] == 0]
    assert len(safe) == 1 and safe[["observed_lower", "observed_upper"]].isna().all(axis=None)
    assert any("tied predictions" in note for note in summary["notes"])
    assert any("not defined" in note for note in summary["notes"]) and np.isnan(summary["p"])
    defined = table.dropna()
    assert np.all(defined["observed_upper"] > defined["observed_lower"])


def test_calibration_merges_small_groups():
    rng = np.random.default_rng(9)
    y, d, pred = _calibrated_sample(rng, 120)
    table, summary = q.calibration_at(y, d, pred, 2.0, groups=10, min_events=5)
    assert table["churned_by_t"].min() < 5  # some groups too small …
    assert summary["groups"] < len(table) and summary["df"] == summary["groups"] - 1  # … so merged
    assert any("merged" in note for note in summary["notes"])


def test_calibration_merges_group_where_everyone_churned():
    """A group whose Kaplan–Meier curve reaches 0 by t has Greenwood variance 0: the GND test
    would divide by it, so the group is merged with its neighbour and the test stays defined."""
    rng = np.random.default_rng(10)
    n = 200
    top = np.arange(n) >= 150
    tenure = np.where(top, rng.uniform(0.5, 3.0, n), rng.exponential(10.0, n))
    censor = np.where(top, 50.0, rng.uniform(0, 20, n))
    y, d = np.minimum(tenure, censor), (tenure <= censor).astype(float)
    pred = np.where(top, 0.05, np.exp(-6.0 / 10.0)) + rng.uniform(0, 1e-3, n)  # distinct values
    table, summary = q.calibration_at(y, d, pred, 6.0, groups=4)
    assert table["observed_risk"].iloc[-1] == 1.0 and np.isnan(table["observed_lower"].iloc[-1])
    assert summary["groups"] == 3 and np.isfinite(summary["p"])
    assert any("no Kaplan–Meier variance" in note for note in summary["notes"])


def test_evaluation_times_stay_inside_follow_up():
    rng = np.random.default_rng(14)
    t = np.ceil(rng.exponential(5.0, 500))
    d = (rng.uniform(size=500) < 0.7).astype(float)
    grid = q.evaluation_times(t, d)
    lo, hi = np.quantile(t[d > 0], [0.1, 0.9])
    assert np.all(grid == np.round(grid)) and np.all(np.diff(grid) > 0)  # whole months for whole-month data
    assert grid[0] >= np.round(lo) and grid[-1] <= hi < t.max()
    y = rng.exponential(5.0, 500)
    grid = q.evaluation_times(y, np.ones(500), count=7)
    assert len(grid) == 7 and grid[-1] < y.max()


# ---------------------------------------------------------------------------- hold-out and cross-validation


def test_holdout_split_is_seeded_and_disjoint():
    train, test = q.holdout_split(101, 0.25, seed=42)
    assert len(test) == round(0.25 * 101) and len(train) + len(test) == 101
    assert not set(train) & set(test)
    again = q.holdout_split(101, 0.25, seed=42)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(q.holdout_split(101, 0.25, seed=43)[1], test)
    # The draw is numpy's SeedSequence-seeded generator.
    direct = np.random.default_rng(np.random.SeedSequence(42)).permutation(101)[:25]
    np.testing.assert_array_equal(test, np.sort(direct))
    folds = q.fold_assignment(103, 5, seed=1)
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1


def _person_periods(n, rng, beta=0.0):
    x = rng.normal(size=n)
    tenure = np.ceil(6.0 * np.exp(-beta * x) * rng.weibull(1.2, n))
    censor = np.ceil(rng.uniform(0, 24, n))
    y, d = np.minimum(tenure, censor), (tenure <= censor).astype(int)
    rows = [{"customer": f"c{i}", "period": p, "churned": int(d[i] and p == y[i]), "x": x[i]}
            for i in range(n) for p in range(1, int(y[i]) + 1)]
    return pd.DataFrame(rows)


def test_cross_validation_holds_out_customers_not_rows():
    rng = np.random.default_rng(12)
    data = _person_periods(300, rng)
    times = np.arange(2.0, 13.0)
    seen = []

    def km_model(train_rows, test, times):
        assert not set(train_rows["customer"]) & set(test["customer"])  # no customer on both sides
        assert test["customer"].is_unique
        seen.extend(test["customer"])
        last = train_rows.groupby("customer").agg(period=("period", "max"), churned=("churned", "max"))
        km = KaplanMeier().fit(last["period"], last["churned"])
        return np.repeat(km.survival(times)[None, :], len(test), axis=0)

    summary, per_time = q.cross_validate(km_model, data, folds=4, seed=0, times=times, duration="period",
                                         event="churned", customer="customer")
    assert sorted(seen) == sorted(data["customer"].unique())  # every customer scored once
    assert summary["n_test"].sum() == 300 and summary["n_test"].max() - summary["n_test"].min() <= 1
    # The model *is* the Kaplan–Meier reference of the training customers: skill exactly 0, AUC 1/2.
    np.testing.assert_allclose(per_time["skill"], 0.0, atol=1e-12)
    np.testing.assert_allclose(summary["mean_auc"], 0.5, atol=1e-12)
    again, _ = q.cross_validate(km_model, data, folds=4, seed=0, times=times, duration="period",
                                event="churned", customer="customer")
    pd.testing.assert_frame_equal(summary, again)


def test_cross_validation_rewards_an_informative_model():
    rng = np.random.default_rng(13)
    n = 600
    x = rng.normal(size=n)
    tenure = 8.0 * np.exp(-x) * rng.weibull(1.2, n)
    censor = rng.uniform(0, 30, n)
    data = pd.DataFrame({"duration": np.minimum(tenure, censor), "event": (tenure <= censor).astype(float), "x": x})
    times = np.array([2.0, 4, 6, 8, 10])

    def cox(train, test, times):
        fit = CoxPH().fit(train["duration"], train["event"], covariates=train[["x"]])
        return fit.predict(times, test[["x"]]).T.to_numpy()

    summary, _ = q.cross_validate(cox, data, folds=3, seed=1, times=times)
    assert np.all(summary["brier_skill"] > 0)
    # AUC standard error is at most sqrt(1/(4 min(cases, controls))) (Birnbaum–Klose bound).
    cases = np.sum((data["duration"] <= times[len(times) // 2]) & (data["event"] > 0)) / 3
    assert np.all(summary["mean_auc"] > 0.5 + 4 * np.sqrt(0.25 / cases))


def test_bad_input_is_refused():
    t, d = np.array([1.0, 2, 3]), np.array([1.0, 0, 1])
    with pytest.raises(ValueError, match="strictly increasing"):
        q.brier_score(t, d, np.full((3, 2), 0.5), [2.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        q.brier_score(t, d, np.full((3, 3), 0.5), [1.0, 2.0])
    with pytest.raises(ValueError, match="probabilities"):
        q.brier_score(t, d, np.full((3, 1), 1.5), [1.0])
    with pytest.raises(ValueError, match="convention"):
        q.brier_score(t, d, np.full((3, 1), 0.5), [1.0], convention="R")
    with pytest.raises(ValueError, match="events"):
        q.cumulative_dynamic_auc(t, [1, 2, 0], [1.0, 2, 3], [1.0])
    with pytest.raises(ValueError, match="fraction"):
        q.holdout_split(10, 1.0)
