"""Common random numbers: strategies compared on one replication see the same random world.

What must not move when only the CS side changes: the marketing leads (arrival day, segment,
ICP fit) and the initial book (segment, fit, start, MRR), and every account's own dice. The test
that CRN is *real* looks at outcomes: the churn status of an account under two strategies is
strongly correlated (phi coefficient), while under two independent seeds it is not. Under
independence phi·√n is approximately N(0, 1), so |phi| < 4/√n is the band for "uncorrelated".
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from csim.engine.world import simulate_replication
from csim.records import CHANNELS, TOUCH_OUTCOMES
from tests.engine.scenarios import CS_WORLD as WORLD, merge, scenario

EXPIRED = TOUCH_OUTCOMES.index("expired")
INITIAL, MARKETING, REFERRAL = (CHANNELS.index(c) for c in ("initial", "marketing", "referral"))


def run(**change):
    return simulate_replication(scenario(**merge(WORLD, change)), 0)


@pytest.fixture(scope="module")
def base():
    return run()


@pytest.fixture(scope="module")
def more_csms():
    return run(cs_team={"headcount": 5})


def _by_account(rec, column, channels=(INITIAL, MARKETING)):
    acc = rec.accounts
    keep = np.isin(acc["channel"], channels)
    return dict(zip(acc["account"][keep].tolist(), acc[column][keep].tolist()))


def _marketing_leads(rec):
    leads = rec.leads
    m = leads["channel"] == MARKETING
    return {c: leads[c][m] for c in ("lead", "arrived", "segment", "icp_fit")}


def _phi(a, b):
    """Phi coefficient of churn status over the initial and marketing accounts both runs have."""
    sa, sb = _by_account(a, "churned"), _by_account(b, "churned")
    common = sorted(set(sa) & set(sb))
    x = np.array([sa[i] for i in common], dtype=float)
    y = np.array([sb[i] for i in common], dtype=float)
    return float(np.corrcoef(x, y)[0, 1]), len(common)


def test_headcount_changes_the_cs_outcome(base, more_csms):
    # Otherwise the invariance below would be trivial.
    assert (base.touches["outcome"] == EXPIRED).sum() > 50
    assert (more_csms.touches["outcome"] == EXPIRED).sum() < (base.touches["outcome"] == EXPIRED).sum() / 5
    assert not np.array_equal(base.accounts["churned"], more_csms.accounts["churned"])


def test_headcount_leaves_leads_and_initial_book_alone(base, more_csms):
    a, b = _marketing_leads(base), _marketing_leads(more_csms)
    assert a["lead"].size > 500
    for col in a:
        assert np.array_equal(a[col], b[col]), col
    for col in ("segment", "icp_fit", "start", "initial_mrr", "term_months"):
        assert _by_account(base, col, (INITIAL,)) == _by_account(more_csms, col, (INITIAL,)), col
    # A marketing account won under both has the same contract: its dice are keyed by lead number.
    ma, mb = _by_account(base, "initial_mrr", (MARKETING,)), _by_account(more_csms, "initial_mrr", (MARKETING,))
    common = set(ma) & set(mb)
    assert len(common) > 100
    assert all(ma[i] == mb[i] for i in common)


def test_strategy_change_leaves_leads_alone(base):
    none = run(strategy={"name": "no_cs", "plays": []})
    assert none.touches["account"].size == 0
    a, b = _marketing_leads(base), _marketing_leads(none)
    for col in a:
        assert np.array_equal(a[col], b[col]), col
    assert _by_account(base, "initial_mrr", (INITIAL,)) == _by_account(none, "initial_mrr", (INITIAL,))


def test_outcomes_are_coupled(base, more_csms):
    none = run(strategy={"name": "no_cs", "plays": []})
    other_seed = run(seed=100)
    phi_team, n_team = _phi(base, more_csms)
    phi_strategy, n_strategy = _phi(base, none)
    phi_seed, n_seed = _phi(base, other_seed)
    assert min(n_team, n_strategy, n_seed) > 300
    # Independent worlds: phi within 4 standard errors of 0. Coupled worlds: far outside it.
    assert abs(phi_seed) < 4.0 / math.sqrt(n_seed)
    assert phi_team > 0.8
    assert phi_strategy > 0.5
    # Same world, small change: nearly every account keeps its churn status.
    sa, sb = _by_account(base, "churned"), _by_account(more_csms, "churned")
    common = set(sa) & set(sb)
    assert sum(sa[i] == sb[i] for i in common) / len(common) > 0.9
