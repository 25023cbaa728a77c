"""Known answers for heterogeneous churn propensity (sBG) and for an initial book read from a file.

With ``churn_concentration`` set, each account's per-term probability of not renewing is drawn
from Beta(alpha, beta) with the segment's mean m = alpha/(alpha + beta) and alpha + beta = the
concentration. With health and every other exit switched off (tests/engine/scenarios.py QUIET),
a cohort then follows the shifted-beta-geometric law exactly:

    S(k terms) = B(alpha, beta + k) / B(alpha, beta),

and the accounts that have already renewed k terms follow it from Beta(alpha, beta + k):
S(j more terms | k survived) = B(alpha, beta + k + j) / B(alpha, beta + k).

Tolerances: with no censoring before the horizon, the share of N accounts alive after k terms is
a binomial proportion, standard error sqrt(S(1 − S)/N); each check allows 4 of them (see
tests/engine/test_survival.py). The homogeneous law (1 − m)^k with the same mean lies far
outside that band at N = 4000 for k ≥ 2, so the checks tell the two models apart.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import betaln

from csim.engine.world import simulate_replication
from csim.errors import InputError
from csim.records import MONTH_DAYS
from csim.scenario import load_scenario, per_term_churn
from tests.engine.scenarios import scenario

N = 4000
Z = 4.0


def _sbg_survival(alpha: float, beta: float, k: int, given: int = 0) -> float:
    return math.exp(betaln(alpha, beta + given + k) - betaln(alpha, beta + given))


def _alive_after(records, terms: int, term_days: float) -> float:
    acc = records.accounts
    lifetime = acc["end"] - np.maximum(acc["start"], 0.0)
    # Churn lands on term ends; alive after k terms = not churned by day k·term (+ a hair).
    return float(np.mean(~acc["churned"] | (lifetime > terms * term_days + 1e-6)))


def _check(observed: float, expected: float, what: str) -> None:
    se = math.sqrt(expected * (1.0 - expected) / N)
    assert abs(observed - expected) <= Z * se, f"{what}: {observed:.4f}, expected {expected:.4f} ± {Z * se:.4f}"


def test_a_cohort_with_heterogeneous_propensity_follows_the_sbg_law():
    annual, concentration = 0.3, 2.0
    m = per_term_churn(annual, 12)
    alpha, beta = m * concentration, (1.0 - m) * concentration
    scn = scenario(segment={"annual_churn": annual, "churn_concentration": concentration},
                   horizon_months=61, seed=31, initial_book={"customers": N})
    rec = simulate_replication(scn, 0)
    term_days = 12 * MONTH_DAYS
    for k in (1, 2, 3, 4, 5):
        observed = _alive_after(rec, k, term_days)
        _check(observed, _sbg_survival(alpha, beta, k), f"S({k} annual terms)")
        if k >= 2:
            # The homogeneous law with the same mean is rejected: the test can tell them apart.
            homogeneous = (1.0 - m) ** k
            assert abs(observed - homogeneous) > Z * math.sqrt(homogeneous * (1 - homogeneous) / N)


def test_without_concentration_churn_stays_geometric_and_draws_nothing_new():
    # The same scenario without the key gives the records it always gave (the propensity stream is
    # separate, drawn only when used): compare with the key absent against None spelled out.
    a = simulate_replication(scenario(segment={"annual_churn": 0.3}, horizon_months=24, seed=5,
                                      initial_book={"customers": 200}), 0)
    b = simulate_replication(scenario(segment={"annual_churn": 0.3, "churn_concentration": None}, horizon_months=24,
                                      seed=5, initial_book={"customers": 200}), 0)
    for name in a.events:
        np.testing.assert_array_equal(a.events[name], b.events[name])


def _write_book(tmp_path, rows: list[str], header: str = "segment,mrr,tenure_months,terms_survived") -> str:
    (tmp_path / "book.csv").write_text("\n".join([header, *rows]) + "\n")
    return "book.csv"


def _scenario_file(tmp_path, extra: str = "") -> str:
    base = scenario().model_dump(mode="json")
    seg = base["segments"][0]
    text = f"""name = "book"
horizon_months = 37
seed = 77
replications = 1
[[segments]]
name = "solo"
lead_share = 1.0
mrr_median = 100.0
mrr_sigma = 0.0
term_months = 12
annual_churn = 0.3
churn_concentration = 2.0
expansion_rate = 0.0
contraction_rate = 0.0
payment_failure_rate = 0.0
referral_rate = 0.0
good_fit_share = {seg['good_fit_share']}
[acquisition]
leads_per_month = 0.0
lead_growth_annual = 0.0
[initial_book]
file = "book.csv"
[health]
reviews_per_year = 0.0
churn_effect = 0.0
initial_sd = 0.0
[onboarding]
first_value_prob = 0.0
[reactivation]
prob_voluntary = 0.0
prob_involuntary = 0.0
[cs_team]
headcount = 0
{extra}"""
    path = tmp_path / "book.toml"
    path.write_text(text)
    return str(path)


def test_an_initial_book_from_a_file_keeps_its_accounts_and_survivors_carry_their_propensity(tmp_path):
    # Accounts that have renewed 3 annual terms, each 1 month before its 4th term ends: their
    # forward retention is the sBG law of survivors of 3 terms, not of a new cohort.
    _write_book(tmp_path, [f"solo,{250 + i % 7},47,3" for i in range(N)])
    scn = load_scenario(_scenario_file(tmp_path))
    assert scn.initial_book.customers == N and scn.initial_book.file == "book.csv"
    rec = simulate_replication(scn, 0)
    acc = rec.accounts
    np.testing.assert_array_equal(acc["initial_mrr"], [100 * (250 + i % 7) for i in range(N)])
    np.testing.assert_allclose(acc["start"], -47 * MONTH_DAYS)
    m = per_term_churn(0.3, 12)
    alpha, beta = 2.0 * m, 2.0 * (1 - m)
    # Decisions fall 1, 13, 25 months after day 0 (term ends at tenure 48, 60, 72 months).
    for j, month in enumerate((1, 13, 25), start=1):
        alive = float(np.mean(~acc["churned"] | (acc["end"] > month * MONTH_DAYS + 1e-6)))
        _check(alive, _sbg_survival(alpha, beta, j, given=3), f"S({j} more terms | 3 survived)")
        new_cohort = _sbg_survival(alpha, beta, j)
        assert abs(alive - new_cohort) > Z * math.sqrt(new_cohort * (1 - new_cohort) / N)


def test_a_run_scenario_json_carries_the_book(tmp_path):
    _write_book(tmp_path, ["solo,120,5,", "solo,80.5,30,2"])
    scn = load_scenario(_scenario_file(tmp_path))
    again = tmp_path / "elsewhere"
    again.mkdir()
    (again / "scenario.json").write_text(scn.model_dump_json())
    # No book.csv next to it: the accounts travel inside the file.
    copy = load_scenario(again / "scenario.json")
    assert copy == scn and len(copy.initial_book.accounts) == 2
    assert copy.initial_book.accounts[0].terms_survived is None
    assert json.loads(scn.model_dump_json())["initial_book"]["accounts"][1]["mrr"] == 80.5


@pytest.mark.parametrize(("rows", "header", "column", "words"), [
    (["solo,100,3,"], "segment,monthly,tenure_months,terms_survived", "mrr", "missing column"),
    (["solo,abc,3,"], None, "mrr", "row 2: not a number"),
    (["solo,100,3,", "solo,-5,3,"], None, "mrr", "row 3: must be positive"),
    (["solo,100,nan,"], None, "tenure_months", "row 2"),
    (["solo,100,3,1.5"], None, "terms_survived", "row 2: not an integer"),
    ([",100,3,"], None, "segment", "row 2: empty"),
])
def test_bad_book_rows_are_named(tmp_path, rows, header, column, words):
    _write_book(tmp_path, rows, header or "segment,mrr,tenure_months,terms_survived")
    with pytest.raises(InputError) as err:
        load_scenario(_scenario_file(tmp_path))
    text = str(err.value)
    assert "book.csv" in text and column in text and words in text


def test_a_book_segment_must_exist(tmp_path):
    _write_book(tmp_path, ["enterprise,100,3,"])
    with pytest.raises(InputError, match="initial_book.file: unknown segment 'enterprise'"):
        load_scenario(_scenario_file(tmp_path))


def test_a_missing_book_file_names_the_scenario_key(tmp_path):
    path = _scenario_file(tmp_path)
    with pytest.raises(InputError, match=r"initial_book\.file: no such file"):
        load_scenario(path)
