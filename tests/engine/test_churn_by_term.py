"""Known answers for churn that depends on the renewal number (``segments[].churn_by_term``).

With multipliers m_1, m_2, … of the odds of not renewing, the k-th renewal decision of an account
has probability q_k = expit(logit(q) + log m_k), q being the segment's per-term probability
(m_k = 1 beyond the list). With health and every other exit switched off
(tests/engine/scenarios.py QUIET), a cohort then survives k terms with probability

    S(k) = (1 − q_1)(1 − q_2)…(1 − q_k),

and an initial-book account that has already made j decisions meets m_(j+1) first.

Tolerances: no censoring before the horizon, so the share of N accounts alive after k terms is a
binomial proportion, standard error sqrt(S(1 − S)/N); each check allows 4 of them (see
tests/engine/test_survival.py). At N = 4000 the constant-churn law (1 − q)^k lies far outside that
band by the 3rd term, so the checks tell the two apart.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from csim.engine.world import simulate_replication
from csim.errors import InputError
from csim.records import EVENT_KINDS, MONTH_DAYS
from csim.scenario import load_scenario, per_term_churn
from tests.engine.scenarios import TINY_TOML, scenario

N = 4000
Z = 4.0
MULTIPLIERS = [0.5, 2.0, 3.0]


def _q(annual: float, term_months: int, k: int, multipliers=MULTIPLIERS) -> float:
    """Probability of not renewing at the k-th decision (1-based)."""
    q = per_term_churn(annual, term_months)
    m = multipliers[k - 1] if k <= len(multipliers) else 1.0
    return 1.0 / (1.0 + (1.0 - q) / (q * m))  # expit(logit(q) + log m)


def _survival(annual: float, term_months: int, terms: int, first: int = 1) -> float:
    return math.prod(1.0 - _q(annual, term_months, k) for k in range(first, first + terms))


def _alive_after(records, days: float) -> float:
    acc = records.accounts
    # Churn lands on term ends; alive after day d = not churned by then (+ a hair).
    return float(np.mean(~acc["churned"] | (acc["end"] > days + 1e-6)))


def _check(observed: float, expected: float, what: str) -> None:
    se = math.sqrt(expected * (1.0 - expected) / N)
    assert abs(observed - expected) <= Z * se, f"{what}: {observed:.4f}, expected {expected:.4f} ± {Z * se:.4f}"


def _rejected(observed: float, expected: float) -> bool:
    return abs(observed - expected) > Z * math.sqrt(expected * (1.0 - expected) / N)


# Monthly churn 5 % at reference health.
MONTHLY_ANNUAL = 1.0 - 0.95 ** 12


@pytest.mark.parametrize("reviews_per_year", [0.0, 24.0])
def test_a_monthly_cohort_follows_the_product_of_its_per_month_probabilities(reviews_per_year):
    # With health reviews (but churn_effect 0) every health move settles the decisions passed so
    # far one by one: the law must not change.
    scn = scenario(segment={"term_months": 1, "annual_churn": MONTHLY_ANNUAL, "churn_by_term": MULTIPLIERS},
                   horizon_months=7, seed=41, initial_book={"customers": N},
                   health={"reviews_per_year": reviews_per_year, "shock_sd": 0.05})
    rec = simulate_replication(scn, 0)
    for k in range(1, 7):
        observed = _alive_after(rec, k * MONTH_DAYS)
        _check(observed, _survival(MONTHLY_ANNUAL, 1, k), f"S({k} months)")
    assert _rejected(_alive_after(rec, 3 * MONTH_DAYS), 0.95 ** 3)


def test_a_term_plan_cohort_follows_the_product_over_its_terms():
    annual = 1.0 - 0.9 ** 4  # 10 % per quarter
    scn = scenario(segment={"term_months": 3, "annual_churn": annual, "churn_by_term": MULTIPLIERS},
                   horizon_months=13, seed=43, initial_book={"customers": N})
    rec = simulate_replication(scn, 0)
    for k in range(1, 5):
        observed = _alive_after(rec, 3 * k * MONTH_DAYS)
        _check(observed, _survival(annual, 3, k), f"S({k} quarters)")
    assert _rejected(_alive_after(rec, 9 * MONTH_DAYS), 0.9 ** 3)


def test_initial_book_accounts_meet_the_multiplier_of_their_own_renewal_number():
    # Tenure 2 months on a monthly plan: two decisions made; the first one ahead is the 3rd (m_3 = 3).
    accounts = [{"segment": "solo", "mrr": 100.0, "tenure_months": 2.0}] * N
    scn = scenario(segment={"term_months": 1, "annual_churn": MONTHLY_ANNUAL, "churn_by_term": MULTIPLIERS},
                   horizon_months=5, seed=47, initial_book={"accounts": accounts})
    rec = simulate_replication(scn, 0)
    for k in range(1, 4):
        observed = _alive_after(rec, k * MONTH_DAYS)
        _check(observed, _survival(MONTHLY_ANNUAL, 1, k, first=3), f"S({k} months | tenure 2)")
    # A new cohort's first month (m_1 = 0.5) is far from what these accounts do.
    assert _rejected(_alive_after(rec, MONTH_DAYS), _survival(MONTHLY_ANNUAL, 1, 1))


def test_multipliers_of_one_give_the_records_of_no_multipliers():
    # The listed decisions are costed one by one, the rest analytically: with m = 1 both routes
    # must plan the same churn (health moving, so decisions are settled part-way too).
    def run(extra):
        return simulate_replication(scenario(
            segment={"term_months": 1, "annual_churn": 0.4, **extra}, horizon_months=24, seed=5,
            initial_book={"customers": 300, "max_tenure_months": 6.0},
            health={"reviews_per_year": 12.0, "churn_effect": 3.0, "shock_sd": 0.1, "initial_sd": 0.1}), 0)
    a, b = run({}), run({"churn_by_term": [1.0] * 12})
    np.testing.assert_array_equal(a.accounts["churned"], b.accounts["churned"])
    np.testing.assert_allclose(a.accounts["end"], b.accounts["end"], rtol=0, atol=1e-9)
    assert a.accounts["churned"].sum() > 50  # churn happened, so the comparison says something


def test_reactivation_restarts_the_count():
    # Every account churns at its 1st decision (m_1 = 1000 on 50 % churn: q_1 = 0.999) and comes
    # back; a restarted count meets m_1 again, so almost all churn a second time at once.
    scn = scenario(segment={"term_months": 1, "annual_churn": 1.0 - 0.5 ** 12, "churn_by_term": [1000.0, 1e-3]},
                   horizon_months=4, seed=53, initial_book={"customers": 500},
                   reactivation={"prob_voluntary": 1.0, "mean_days": 1.0})
    rec = simulate_replication(scn, 0)
    ev = rec.events
    churns = np.bincount(ev["account"][ev["kind"] == EVENT_KINDS.index("churn")], minlength=500)
    # Not restarted: the 2nd life would meet m_2 = 0.001 (q ≈ 0.001) and hardly any would churn again.
    assert np.mean(churns >= 2) > 0.95


@pytest.mark.parametrize(("value", "words"), [
    ("[0.5, -1.0]", r"churn_by_term\[1\]: must be above 0"),
    ("[2000.0]", r"churn_by_term\[0\]"),
    ("[" + ", ".join(["1.0"] * 121) + "]", r"churn_by_term"),
])
def test_bad_multipliers_are_named(tmp_path, value, words):
    path = tmp_path / "bad.toml"
    path.write_text(TINY_TOML)
    with pytest.raises(InputError, match=words) as err:
        load_scenario(path, [f"segments.smb.churn_by_term={value}"])
    assert "bad.toml" in str(err.value) and "\n" not in str(err.value)
