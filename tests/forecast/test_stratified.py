"""Stratified Cox predictions: one Breslow baseline survival per stratum.

References: R ``survival`` 3.5.3 values stored in ``tests/forecast/reference/strata_*`` (made by
``strata_reference.R``; R is not needed here), the Breslow estimator written out as a plain loop
over churn times, and exact invariances (a single stratum is the unstratified fit; a stratum
without churn changes nothing elsewhere; shifting a covariate moves the baseline, not the
predictions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csim.forecast import CoxPH

REFERENCE = Path(__file__).parent / "reference"
TIMES = np.array([0.0, 0.5, 1.0, 2.0, 3.5, 6.0, 9.0, 12.0, 17.25, 23.0, 30.0])


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, comment="#")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _read("strata_data.csv")


def _fit(frame: pd.DataFrame, ties: str = "efron", x1_shift: float = 0.0) -> CoxPH:
    covariates = frame[["x1", "x2"]].assign(x1=frame.x1 + x1_shift)
    return CoxPH(ties=ties).fit(frame.time, frame.event, entry=frame.entry, covariates=covariates, strata=frame.plan)


@pytest.fixture(scope="module")
def fit(data) -> CoxPH:
    return _fit(data)


def test_matches_r_survfit_per_stratum(data, fit):
    """survfit(coxph(Surv(entry, time, event) ~ x1 + x2 + strata(plan), ties = "efron"), newdata,
    stype = 2, ctype = 1): 108 survival values (4 profiles × 3 strata × 9 tenures) to 1e-8 absolute.

    ``stype = 2, ctype = 1`` is exp(−H0·exp(x'β)) with the Breslow (Nelson-Aalen type) baseline
    hazard: what csim computes for either ``ties`` option. R's default for an Efron fit
    (``ctype = 2``, Efron-adjusted hazard increments) differs by up to 0.04 on these data, so the
    tolerance tells the two apart. Measured agreement: 2e-16 (survival), 3e-16 (coefficients).
    The data have tied whole-month churns and entries at other customers' churn months, where
    R's (entry, exit] risk set differs from statsmodels' closed interval.
    """
    coef = _read("strata_coef.csv").set_index("covariate")
    ref = _read("strata_survival.csv")
    assert np.isin(data.entry[data.entry > 0], data.time[data.event == 1]).sum() > 50
    assert data[data.event == 1].duplicated(["plan", "time"]).sum() > 100
    np.testing.assert_allclose(fit.params_.loc[coef.index], coef.coef, rtol=1e-9)
    assert fit.loglik_ == pytest.approx(coef.loglik.iloc[0], rel=1e-12)

    for (label, plan), rows in ref.groupby(["label", "plan"], sort=False):
        profile = rows.iloc[0][["x1", "x2"]].astype(float).to_dict()
        got = fit.survival(rows.t.to_numpy(), profile, stratum=plan)
        np.testing.assert_allclose(got, rows.survival, rtol=0, atol=1e-8, err_msg=f"{label} in {plan}")
        assert np.max(np.abs(got - rows.survival_ctype2)) > 1e-4 or np.all(rows.survival == 1)
    assert np.max(np.abs(ref.survival - ref.survival_ctype2)) > 1e-2

    # The same through predict: one column per profile row, strata from a column of the profiles.
    first = ref[ref.t == ref.t.iloc[0]].reset_index(drop=True)
    times = ref.t.unique()
    frame = fit.predict(times, first[["x1", "x2", "plan"]], strata="plan")
    expected = ref.pivot_table(index="t", columns=["label", "plan"], values="survival", sort=False)
    for i, row in first.iterrows():
        np.testing.assert_allclose(frame[i].to_numpy(), expected[(row.label, row.plan)].loc[times], atol=1e-8)


def _breslow_loop(data, beta, plan, times):
    """H0 of one stratum written out: sum over churn times s ≤ t of churns(s) / Σ exp(x'β) at risk (entry < s ≤ exit)."""
    rows = data[data.plan == plan]
    risk = np.exp(rows[["x1", "x2"]].to_numpy() @ beta)
    churn_times = np.unique(rows.time[rows.event == 1])
    increments = []
    for s in churn_times:
        at_risk = (rows.entry < s).to_numpy() & (rows.time >= s).to_numpy()
        increments.append(((rows.time == s) & (rows.event == 1)).sum() / risk[at_risk].sum())
    cumulative = np.cumsum(increments)
    return np.array([np.exp(-cumulative[churn_times <= t][-1]) if np.any(churn_times <= t) else 1.0
                     for t in times])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_each_stratum_baseline_is_the_breslow_estimator_of_its_own_customers(data, ties):
    """At covariates 0, the baseline of each stratum equals the estimator computed directly, to 1e-12."""
    model = _fit(data, ties=ties)
    beta = model.params_.to_numpy()
    assert model.strata_ == ["basic", "pro", "team"]
    for plan in model.strata_:
        expected = _breslow_loop(data, beta, plan, TIMES)
        np.testing.assert_allclose(model.survival(TIMES, None, stratum=plan), expected, rtol=1e-12, atol=0)
        base = model.baseline_survivals_[plan]
        np.testing.assert_allclose(base.survival, _breslow_loop(data, beta, plan, base.t), rtol=1e-12)
        assert set(base.t) == set(data.time[(data.plan == plan) & (data.event == 1)])
    # The strata really differ (otherwise stratifying could not be told apart from pooling).
    at_six = [model.survival([6.0], None, stratum=p)[0] for p in model.strata_]
    assert max(at_six) - min(at_six) > 0.1


def test_one_stratum_is_the_unstratified_fit(data):
    pooled = CoxPH().fit(data.time, data.event, entry=data.entry, covariates=data[["x1", "x2"]])
    single = CoxPH().fit(data.time, data.event, entry=data.entry, covariates=data[["x1", "x2"]],
                         strata=np.full(len(data), "all"))
    profiles = pd.DataFrame({"x1": [0.0, 1.2, -0.8], "x2": [0.0, 0.0, 1.0]})
    np.testing.assert_allclose(single.params_, pooled.params_, rtol=1e-14)
    np.testing.assert_allclose(single.predict(TIMES, profiles, strata=["all"] * 3), pooled.predict(TIMES, profiles),
                               rtol=1e-13, atol=0)
    pd.testing.assert_frame_equal(single.baseline_survivals_["all"], pooled.baseline_survival_)


def test_predictions_do_not_depend_on_where_the_covariates_are_centred(data, fit):
    """Shifting x1 by c leaves β and every prediction unchanged; the baseline (at x = 0) moves to S0^exp(−c·β1)."""
    shifted = _fit(data, x1_shift=3.0)
    np.testing.assert_allclose(shifted.params_, fit.params_, rtol=1e-10)
    profiles = pd.DataFrame({"x1": [0.0, 1.2], "x2": [1.0, 0.0], "plan": ["pro", "team"]})
    np.testing.assert_allclose(shifted.predict(TIMES, profiles.assign(x1=profiles.x1 + 3.0), strata="plan"),
                               fit.predict(TIMES, profiles, strata="plan"), rtol=1e-10)
    for plan in fit.strata_:
        moved = fit.baseline_survivals_[plan].survival ** np.exp(-3.0 * fit.params_["x1"])
        np.testing.assert_allclose(shifted.baseline_survivals_[plan].survival, moved, rtol=1e-10)


def test_a_stratum_without_churn_keeps_survival_one_and_changes_nothing_else(data, fit):
    rng = np.random.default_rng(3)
    quiet = pd.DataFrame({"time": rng.integers(1, 20, 30).astype(float), "event": 0, "entry": 0.0,
                          "x1": rng.normal(size=30).round(4), "x2": rng.integers(0, 2, 30), "plan": "trial"})
    more = _fit(pd.concat([data, quiet], ignore_index=True))
    assert more.strata_ == ["basic", "pro", "team", "trial"]
    np.testing.assert_array_equal(more.survival(TIMES, {"x1": 2.0, "x2": 1.0}, stratum="trial"), 1.0)
    assert any("'trial'" in note and "nobody churned" in note for note in more.notes_)
    # A stratum without churn adds nothing to the partial likelihood nor to the other risk sets.
    np.testing.assert_allclose(more.params_, fit.params_, rtol=1e-12)
    for plan in fit.strata_:
        np.testing.assert_allclose(more.survival(TIMES, {"x1": 0.5}, plan), fit.survival(TIMES, {"x1": 0.5}, plan),
                                   rtol=1e-12)


def test_predict_layouts(fit):
    profiles = pd.DataFrame({"x1": [0.0, 1.0, 1.0], "x2": [0.0, 1.0, 1.0], "plan": ["basic", "team", "pro"]},
                            index=["a", "b", "c"])
    by_column = fit.predict(TIMES, profiles, strata="plan")
    by_list = fit.predict(TIMES, profiles[["x1", "x2"]], strata=list(profiles.plan))
    pd.testing.assert_frame_equal(by_column, by_list)
    assert list(by_column.columns) == ["a", "b", "c"] and by_column.index.name == "t"
    for label, row in profiles.iterrows():
        np.testing.assert_array_equal(by_column[label], fit.survival(TIMES, row[["x1", "x2"]].to_dict(), row.plan))
    np.testing.assert_array_equal(fit.survival_matrix(profiles, TIMES, strata="plan"), by_column.to_numpy().T)
    # Without profiles: one column per stratum asked for, at the reference profile (covariates 0).
    reference = fit.predict(TIMES, strata=fit.strata_)
    assert list(reference.columns) == fit.strata_
    for plan in fit.strata_:
        np.testing.assert_array_equal(reference[plan], fit.survival(TIMES, None, stratum=plan))
    np.testing.assert_array_equal(fit.predict(TIMES, strata="pro")["pro"], reference["pro"])
    # Survival is a share that never rises and starts at 1, in every stratum.
    assert np.all(np.diff(by_column.to_numpy(), axis=0) <= 0) and np.all(by_column.iloc[0] == 1.0)


def test_a_stratified_fit_needs_a_known_stratum_for_every_prediction(fit):
    profiles = pd.DataFrame({"x1": [0.0, 1.0]})
    for call in (lambda: fit.survival(TIMES), lambda: fit.predict(TIMES), lambda: fit.predict(TIMES, profiles),
                 lambda: fit.survival_matrix(profiles, TIMES)):
        with pytest.raises(ValueError, match="fitted with strata.*'basic', 'pro', 'team'"):
            call()
    with pytest.raises(ValueError, match="unknown stratum 'enterprise'; the strata of this fit are 'basic', 'pro', 'team'"):
        fit.survival(TIMES, stratum="enterprise")
    with pytest.raises(ValueError, match="unknown stratum"):
        fit.predict(TIMES, profiles, strata=["basic", "gold"])
    with pytest.raises(ValueError, match="one label per profile: 1 labels for 2 profiles"):
        fit.predict(TIMES, profiles, strata=["basic"])
    with pytest.raises(ValueError, match="'plan' is not a column"):
        fit.predict(TIMES, profiles, strata="plan")
    # The summary of a stratified fit is the same table as an unstratified one's.
    assert list(fit.summary.index) == ["x1", "x2"] and fit.baseline_survival_ is None


def test_an_unstratified_fit_refuses_strata(data):
    pooled = CoxPH().fit(data.time, data.event, covariates=data[["x1", "x2"]])
    assert pooled.strata_ is None and pooled.baseline_survivals_ is None
    with pytest.raises(ValueError, match="without strata"):
        pooled.survival(TIMES, stratum="basic")
    with pytest.raises(ValueError, match="without strata"):
        pooled.predict(TIMES, pd.DataFrame({"x1": [0.0]}), strata=["basic"])
