"""Known answers for churn: constant hazards give exponential / geometric survival.

Tolerances. With no censoring before the horizon the Kaplan–Meier estimate at time t is the
fraction of the N accounts still alive, a binomial proportion with standard error
sqrt(S(1−S)/N). Each check allows 4 standard errors: a correct engine misses one by chance with
probability 6e-5 (normal approximation), so with the handful of checks here a failure means a
wrong model, not an unlucky seed; seeds are fixed and nothing is retried. For N = 4000 the band
is about ±0.03 in S, which is far tighter than the effect of the mistakes these tests guard
against (a rate per month read as per year, churn at notice instead of term end, an off-by-one
term, dunning that still recovers).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from csim.engine.world import simulate_replication
from csim.records import EVENT_KINDS, MONTH_DAYS
from csim.scenario import per_term_churn
from tests.engine.scenarios import scenario

N = 4000
YEAR = 365.25
Z = 4.0  # standard errors allowed per check (see module docstring)


def _km(records):
    """Kaplan–Meier fit of the accounts' survival in days since their start (all start at day 0)."""
    acc = records.accounts
    assert np.all(acc["start"] == 0.0), "these tests assume a book that starts at day 0"
    return SurvfuncRight(acc["end"] - acc["start"], acc["churned"].astype(int))


def _km_at(fit: SurvfuncRight, t: float) -> float:
    """KM survival just after day t (a step function: events at t count as failures by t)."""
    i = np.searchsorted(fit.surv_times, t, side="right")
    return 1.0 if i == 0 else float(fit.surv_prob[i - 1])


def _assert_close(observed: float, expected: float, n: int, what: str) -> None:
    se = math.sqrt(expected * (1.0 - expected) / n)
    assert abs(observed - expected) <= Z * se, f"{what}: S = {observed:.4f}, expected {expected:.4f} ± {Z * se:.4f}"


def test_involuntary_churn_is_exponential():
    lam = 0.6  # failed payments per account-year; each one churns at once
    scn = scenario(
        segment={"payment_failure_rate": lam},
        horizon_months=36, seed=101, initial_book={"customers": N},
        payments={"recovery_prob": 0.0, "dunning_days": 0.0},
    )
    rec = simulate_replication(scn, 0)
    fit = _km(rec)
    for months in (3, 6, 12, 24, 35):
        t = months * MONTH_DAYS
        _assert_close(_km_at(fit, t), math.exp(-lam * t / 365.25), N, f"S({months} months)")

    # The rate itself: MLE d / exposure, standard error ≈ λ/sqrt(d).
    acc = rec.accounts
    d = int(acc["churned"].sum())
    lam_hat = d / ((acc["end"] - acc["start"]).sum() / 365.25)
    assert abs(lam_hat - lam) <= Z * lam / math.sqrt(d), (lam_hat, lam)

    # Every churn is involuntary and happens at the failed payment (no dunning delay, no recovery).
    ev = rec.events
    kinds = [EVENT_KINDS[k] for k in ev["kind"]]
    churn = ev["time"][np.array(kinds) == "churn_involuntary"]
    failed = ev["time"][np.array(kinds) == "payment_failed"]
    assert "churn" not in kinds and "payment_recovered" not in kinds
    assert churn.size == d and np.array_equal(np.sort(churn), np.sort(failed))


@pytest.mark.parametrize(("term_months", "horizon_months"), [(1, 24), (3, 24), (12, 48)])
def test_voluntary_churn_is_geometric_at_term_ends(term_months, horizon_months):
    p = 0.3  # annual churn at reference health; churn_effect = 0 makes health irrelevant
    q = per_term_churn(p, term_months)
    assert q == pytest.approx(1.0 - (1.0 - p) ** (term_months / 12.0))
    scn = scenario(
        segment={"term_months": term_months, "annual_churn": p},
        horizon_months=horizon_months, seed=202 + term_months, initial_book={"customers": N},
    )
    rec = simulate_replication(scn, 0)
    acc = rec.accounts
    term_days = term_months * MONTH_DAYS

    # Churn lands on term ends only: start + k·term for k = 1, 2, ...
    ends = acc["end"][acc["churned"]]
    k = ends / term_days
    assert np.allclose(k, np.round(k), rtol=0.0, atol=1e-9)
    assert k.min() >= 1.0 - 1e-9

    # S(k terms) = (1 − q)^k at every term end inside the horizon.
    fit = _km(rec)
    for terms in range(1, int(horizon_months / term_months)):
        t = terms * term_days
        _assert_close(_km_at(fit, t + 1e-6), (1.0 - q) ** terms, N, f"S({terms} terms of {term_months} months)")
        # Flat between term ends: nobody churns mid-term.
        assert _km_at(fit, t - 1e-6) == _km_at(fit, (terms - 1) * term_days + 1e-6)

    # Notice is given notice_days (capped at a quarter of the term) before each voluntary churn.
    ev = rec.events
    notice = min(scn.renewal.notice_days, 0.25 * term_days)
    intents = np.sort(ev["time"][ev["kind"] == EVENT_KINDS.index("churn_intent")])
    churns = np.sort(ev["time"][ev["kind"] == EVENT_KINDS.index("churn")])
    assert churns.size == acc["churned"].sum()
    assert np.allclose(churns - intents[: churns.size], notice, atol=1e-9)
    # Intents given in the last notice period before the horizon have no churn yet.
    assert np.all(intents[churns.size:] >= scn.horizon_days - notice - 1e-9)


@pytest.mark.parametrize(("health", "churn_effect"), [(0.5, 0.0), (0.3, 4.0), (0.8, 2.0)])
def test_initial_book_faces_one_decision_a_year_at_its_own_term_ends(health, churn_effect):
    # An installed base of annual contracts with tenures spread over 3 years: every account has
    # exactly one renewal decision in [0, 1 year), 30 days before its own term end, and decisions
    # before day 0 are history. So the share churned by day 365.25 + 30 is the per-term
    # probability q(h) = expit(logit(q0) − β(h − reference)) at the account's (constant) health.
    p = 0.2
    scn = scenario(
        segment={"annual_churn": p},
        horizon_months=14, seed=404, initial_book={"customers": N, "max_tenure_months": 36.0},
        health={"initial_good_fit": health, "churn_effect": churn_effect},
        onboarding={"value_gain": 0.0, "miss_penalty": 0.0},
    )
    rec = simulate_replication(scn, 0)
    acc = rec.accounts
    assert np.all(acc["start"] <= 0.0) and acc["start"].min() < -2 * 365.25
    logit_q = math.log(p / (1.0 - p)) - churn_effect * (health - scn.health.reference)
    q = 1.0 / (1.0 + math.exp(-logit_q))
    churned_first_year = float(np.mean(acc["churned"] & (acc["end"] < YEAR + 30.0)))
    _assert_close(1.0 - churned_first_year, 1.0 - q, N, f"renewal share at health {health}")
    # Each churn is on the account's own term end: start + k years.
    k = (acc["end"] - acc["start"])[acc["churned"]] / YEAR
    assert np.allclose(k, np.round(k), rtol=0.0, atol=1e-9)
