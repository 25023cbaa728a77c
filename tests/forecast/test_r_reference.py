"""Cox, concordance, log-rank and AFT limits against R ``survival`` 3.5.3 (stored reference values).

The data sets and R's results live in tests/forecast/reference/ (``rref_*.csv``,
``r_reference.json``), written once by ``make_r_reference.py`` / ``make_r_reference.R``; the
tests never need R. Tolerances: R's Newton iterations (``coxph``, ``survreg``) converge
quadratically, so both sides agree to ~1e-13; 1e-8 leaves room for the last iteration
without hiding any convention difference (a single customer more or less in one risk set
moves the log-likelihood by ~1e-3 here). Pair counts of concordance are integers: exact.
"""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csim.forecast import CoxPH, WeibullFitter, concordance_index, log_rank
from csim.forecast.concordance import concordance_counts
from csim.forecast.mle import P_FLOOR, SingularFitError

REF_DIR = Path(__file__).parent / "reference"
R = json.loads((REF_DIR / "r_reference.json").read_text())
TRUNC = pd.read_csv(REF_DIR / "rref_trunc.csv")
SEPARATION = pd.read_csv(REF_DIR / "rref_separation.csv")
BIG = pd.read_csv(REF_DIR / "rref_logrank_big.csv")

TOL = 1e-8
VARIANTS = {"entry": (True, False), "entry_strata": (True, True), "noentry": (False, False),
            "noentry_strata": (False, True)}


def _cox(ties: str, variant: str) -> CoxPH:
    use_entry, use_strata = VARIANTS[variant]
    return CoxPH(ties=ties).fit(TRUNC.exit, TRUNC.event, entry=TRUNC.entry if use_entry else None,
                                covariates=TRUNC[["x", "g"]], strata=TRUNC.s if use_strata else None)


def _r_counts(key: str) -> dict[str, float]:
    return {"concordant": R[f"{key}.count.concordant"], "discordant": R[f"{key}.count.discordant"],
            "tied": R[f"{key}.count.tied.x"]}


def test_reference_data_exercise_the_truncation_convention():
    # Every positive entry is a whole month at which somebody churned: the rows where the risk
    # sets entry < t <= exit (R) and entry <= t <= exit differ.
    entry = TRUNC.entry[TRUNC.entry > 0]
    churn_months = TRUNC.exit[TRUNC.event == 1]
    assert np.isin(entry, churn_months).sum() >= 100
    assert R["version.survival"] == "3.5.3"


@pytest.mark.parametrize("ties, variant", list(product(["efron", "breslow"], VARIANTS)))
def test_cox_matches_r_coxph(ties, variant):
    # With entry, counting the customers who enter at a churn month as at risk in it (the old
    # PHReg convention) moves the log-likelihood by ~11 and the coefficients by ~0.007 here.
    fit = _cox(ties, variant)
    key = f"trunc.{ties}.{variant}"
    np.testing.assert_allclose(fit.params_[["x", "g"]], [R[f"{key}.coef.x"], R[f"{key}.coef.g"]], rtol=0, atol=TOL)
    np.testing.assert_allclose(fit.summary["se"][["x", "g"]], [R[f"{key}.se.x"], R[f"{key}.se.g"]], rtol=TOL)
    assert fit.loglik_ == pytest.approx(R[f"{key}.loglik"], abs=TOL)


@pytest.mark.parametrize("ties, variant", [("efron", "entry"), ("breslow", "noentry_strata")])
def test_cox_log10_p_matches_r_and_a_proper_fit_has_no_notes(ties, variant):
    fit = _cox(ties, variant)
    key = f"trunc.{ties}.{variant}"
    np.testing.assert_allclose(fit.summary["log10_p"][["x", "g"]], [R[f"{key}.log10p.x"], R[f"{key}.log10p.g"]],
                               rtol=0, atol=TOL)
    np.testing.assert_allclose(fit.summary["p"], 10.0 ** fit.summary["log10_p"], rtol=1e-12)
    assert fit.at_bound_ == {} and fit.notes_ == [] and fit.degenerate_ is None


@pytest.mark.parametrize("ties, variant", list(product(["efron", "breslow"], VARIANTS)))
def test_cox_concordance_matches_r(ties, variant):
    # R: concordance(coxph(...)) — within strata, pairs only inside the (entry, exit] risk sets.
    fit = _cox(ties, variant)
    key = f"trunc.{ties}.{variant}"
    use_entry, use_strata = VARIANTS[variant]
    assert fit.concordance_ == pytest.approx(R[f"{key}.concordance"], rel=1e-12)
    counts = concordance_counts(TRUNC.exit, TRUNC[["x", "g"]].to_numpy() @ fit.params_.to_numpy(), TRUNC.event,
                                entry=TRUNC.entry if use_entry else None, strata=TRUNC.s if use_strata else None)
    assert {k: counts[k] for k in ("concordant", "discordant", "tied")} == _r_counts(key)


def test_cox_baseline_survival_left_truncated_matches_r():
    # survfit(coxph(Surv(entry, exit, event) ~ x + g, ties = "breslow"), x = g = 0, ctype = 1)
    fit = _cox("breslow", "entry")
    prefix = "trunc.breslow.entry.surv0."
    times = np.array(sorted(float(k[len(prefix):]) for k in R if k.startswith(prefix)))
    expected = [R[f"{prefix}{t:g}"] for t in times]
    np.testing.assert_allclose(fit.survival(times), expected, rtol=TOL)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_concordance_of_a_tied_score_matches_r(variant):
    # R: concordance(Surv(entry, exit, event) ~ score [+ strata(s)], reverse = TRUE)
    use_entry, use_strata = VARIANTS[variant]
    kw = {"entry": TRUNC.entry if use_entry else None, "strata": TRUNC.s if use_strata else None}
    key = f"trunc.score.{variant}"
    assert concordance_index(TRUNC.exit, TRUNC.score, TRUNC.event, **kw) == pytest.approx(R[f"{key}.concordance"],
                                                                                          rel=1e-12)
    counts = concordance_counts(TRUNC.exit, TRUNC.score, TRUNC.event, **kw)
    assert {k: counts[k] for k in ("concordant", "discordant", "tied")} == _r_counts(key)


def _pairwise(t, s, d, a, g):
    """R's definition spelled out over all pairs (the O(n²) check of the merge-count version)."""
    concordant = discordant = tied = 0
    for i in np.flatnonzero(d):
        for j in range(len(t)):
            if j == i or g[j] != g[i] or not a[j] < t[i]:
                continue
            if t[j] > t[i] or (t[j] == t[i] and not d[j]):
                if s[i] > s[j]:
                    concordant += 1
                elif s[i] < s[j]:
                    discordant += 1
                else:
                    tied += 1
    return {"concordant": concordant, "discordant": discordant, "tied": tied}


@pytest.mark.parametrize("seed", range(6))
def test_concordance_counts_match_pairwise_definition(seed):
    rng = np.random.default_rng(seed)
    n = 60
    t = rng.integers(1, 9, n).astype(float)
    a = np.where(rng.uniform(size=n) < 0.5, np.floor(rng.uniform(size=n) * t), 0.0)
    d = rng.integers(0, 2, n).astype(bool)
    s = rng.integers(0, 4, n).astype(float)
    g = rng.integers(0, 3, n)
    counts = concordance_counts(t, s, d, entry=a, strata=g)
    assert {k: counts[k] for k in ("concordant", "discordant", "tied")} == _pairwise(t, s, d, a, g)
    assert counts["comparable"] == counts["concordant"] + counts["discordant"] + counts["tied"]


def test_log_rank_p_value_far_below_double_range_matches_r():
    # survdiff chisq 3097 with 1 df: p = 10^-674, far below the smallest double (1e-308).
    result = log_rank(BIG.time, BIG.event, BIG.grp)
    assert result["chisq"] == pytest.approx(R["logrank_big.chisq"], rel=1e-9)
    assert result["log10_p"] == pytest.approx(R["logrank_big.logp"] / np.log(10), rel=1e-9)
    assert result["p"] > 0.0
    assert result["p"] == P_FLOOR  # floored, an upper bound; the size is in log10_p


def test_log_rank_three_groups_matches_r():
    result = log_rank(TRUNC.exit, TRUNC.event, TRUNC.s)
    assert result["df"] == 2
    assert result["chisq"] == pytest.approx(R["trunc.survdiff_s.chisq"], rel=1e-9)
    assert result["log10_p"] == pytest.approx(R["trunc.survdiff_s.logp"] / np.log(10), rel=1e-9)
    assert result["p"] == pytest.approx(np.exp(R["trunc.survdiff_s.logp"]), rel=1e-9)


def test_cox_p_value_below_double_range_matches_r():
    # |z| = 43.8: 2·Φ(−|z|) = 10^-418 underflows; R's pnorm(log.p = TRUE) gives the log.
    fit = CoxPH().fit(BIG.time, BIG.event, covariates=pd.DataFrame({"slow": (BIG.grp == "slow").astype(float)}))
    row = fit.summary.loc["slow"]
    assert row["coef"] == pytest.approx(R["logrank_big.cox.coef"], abs=TOL)
    assert row["se"] == pytest.approx(R["logrank_big.cox.se"], rel=TOL)
    assert row["log10_p"] == pytest.approx(R["logrank_big.cox.log10p"], rel=1e-9)
    assert row["p"] > 0.0


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_separation_keeps_the_limit_fit(ties):
    # Nobody with g = 1 churns: coef(g) -> -inf (R warns "coefficient may be infinite"). The
    # limit is the fit without those customers (they leave every risk set), which R gives exactly.
    with pytest.warns(Warning):  # statsmodels' convergence warning is passed on
        fit = CoxPH(ties=ties).fit(SEPARATION.exit, SEPARATION.event, covariates=SEPARATION[["x", "g"]])
    key = f"separation.cox.{ties}.limit"
    assert fit.at_bound_ == {"g": "−∞"}
    assert fit.params_["g"] < -10
    row = fit.summary.loc["g"]
    assert row[["se", "z", "p", "log10_p", "lower_95", "upper_95", "hr_lower_95", "hr_upper_95"]].isna().all()
    assert fit.params_["x"] == pytest.approx(R[f"{key}.coef.x"], abs=TOL)
    assert fit.summary.loc["x", "se"] == pytest.approx(R[f"{key}.se.x"], rel=TOL)
    # The supremum of the partial likelihood, approached to within e^-20 or so.
    assert fit.loglik_ == pytest.approx(R[f"{key}.loglik"], abs=TOL)
    assert any("g" in note and "−∞" in note for note in fit.notes_)
    assert fit.degenerate_ is not None
    json.dumps(fit.to_dict(), allow_nan=False)  # NaN becomes null: strict JSON for forecast.json


def test_weibull_aft_separation_keeps_the_limit_fit():
    # g = 1 (never churns) pushes its tenure multiplier to +inf; the limit is R's survreg on g = 0.
    fit = WeibullFitter().fit(SEPARATION.exit, SEPARATION.event, covariates=SEPARATION[["x", "g"]])
    assert fit.at_bound_ == {"lambda_: g": "+∞"}
    assert fit.summary.loc["lambda_: g", ["se", "lower_95", "upper_95"]].isna().all()
    key = "separation.weibull.limit"
    est = fit.summary["estimate"]
    assert est["lambda_: Intercept"] == pytest.approx(R[f"{key}.coef.(Intercept)"], abs=TOL)
    assert est["lambda_: x"] == pytest.approx(R[f"{key}.coef.x"], abs=TOL)
    assert np.log(est["rho_"]) == pytest.approx(-R[f"{key}.log_scale"], abs=TOL)
    assert fit.loglik_ == pytest.approx(R[f"{key}.loglik"], abs=TOL)
    # Standard errors come from a central-difference Jacobian of the analytic score (measured
    # agreement ~1e-10); theta = (intercept, x, g, log rho) and log rho = −log(R's scale).
    se_theta = np.sqrt(np.diag(fit.cov_))
    np.testing.assert_allclose(se_theta[[0, 1, 3]], [R[f"{key}.se.(Intercept)"], R[f"{key}.se.x"],
                                                     R[f"{key}.se.Log(scale)"]], rtol=TOL)
    assert fit.degenerate_ is None and fit.notes_ and "g" in fit.notes_[0]


def test_rows_observed_for_no_time_are_left_out_as_r_does():
    # R turns Surv(5, 5, 0) into NA and drops the row; so does CoxPH, with a note.
    extra = pd.DataFrame({"entry": [5.0, 7.0], "exit": [5.0, 7.0], "event": [0, 1], "x": [3.0, -3.0], "g": [1, 0],
                          "score": [0, 4], "s": ["a", "b"]})
    data = pd.concat([TRUNC, extra], ignore_index=True)
    fit = CoxPH().fit(data.exit, data.event, entry=data.entry, covariates=data[["x", "g"]])
    assert fit.loglik_ == pytest.approx(R["trunc.efron.entry.loglik"], abs=TOL)
    assert fit.n_obs_ == len(TRUNC) and fit.notes_ and "2 rows" in fit.notes_[0]
    assert fit.concordance_ == pytest.approx(R["trunc.efron.entry.concordance"], rel=1e-12)


def _constant(frame):
    return frame[["x"]].assign(c=1.0)


def _collinear(frame):
    return frame[["x", "g"]].assign(x2=2.0 * frame.x - frame.g)


@pytest.mark.parametrize("make, columns", [(_constant, ["c"]), (_collinear, ["x", "g", "x2"])])
def test_constant_or_collinear_columns_raise_naming_them(make, columns):
    X = make(SEPARATION)
    for fit in (lambda: CoxPH().fit(SEPARATION.exit, SEPARATION.event, covariates=X),
                lambda: WeibullFitter().fit(SEPARATION.exit, SEPARATION.event, covariates=X)):
        with pytest.raises(SingularFitError) as info:
            fit()
        assert isinstance(info.value, ValueError)
        assert info.value.columns == columns
        assert all(c in str(info.value) for c in columns) and "\n" not in str(info.value)


def test_column_constant_within_strata_raises():
    # Varies across strata only: the strata's own baseline hazards absorb it.
    level = TRUNC.s.map({"a": 0.0, "b": 1.0, "c": 5.0})
    with pytest.raises(SingularFitError, match="within every stratum") as info:
        CoxPH().fit(TRUNC.exit, TRUNC.event, covariates=TRUNC[["x"]].assign(level=level), strata=TRUNC.s)
    assert info.value.columns == ["level"]


def test_column_varying_only_outside_the_risk_sets_raises():
    # The only customers with flag = 1 enter after the last churn: never at risk, no information.
    frame = TRUNC.copy()
    frame["flag"] = 0.0
    late = frame.index[:5]
    last = frame.exit[frame.event == 1].max()
    frame.loc[late, ["entry", "exit", "event", "flag"]] = [last + 1, last + 5, 0, 1.0]
    with pytest.raises(SingularFitError) as info:
        CoxPH().fit(frame.exit, frame.event, entry=frame.entry, covariates=frame[["x", "flag"]])
    assert info.value.columns == ["flag"]
