"""Shape by tenure across segments, and simulated histories observed as long as a table's customers were.

* ``company_shape``: two segments on monthly plans share a hump in months 1–3 and an annual spike
  in month 12 (churn 0.03 elsewhere, so that months 4–11 hold fewer than 30 churns and month 12 is
  found as a spike, not as part of the first run). Pooled, the hump months and the spike are
  shaped, each month's churn within 4 binomial standard errors of the truth and its multiplier
  the odds ratio of that churn to the pooled model's hazard; the small segment alone has too few churns for a shape of
  its own and borrows the company's, month 12 included, with 1 in between.
* Churn that falls with tenure because customers differ (an sBG population) is no shape: the
  pooled sBG describes it (the 100,000-customer benchmark ledger once got 13 multipliers from it).
* ``censor_like``: simulated accounts observed for windows drawn from the table's: no account is
  seen past the longest window, and the share seen at each window matches the table's
  reverse Kaplan–Meier masses within 4 binomial standard errors.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from csim.calibrate.calibration import censor_like
from csim.calibrate.fit import Tenures, churn_by_term, company_shape, fit_churn
from csim.engine.world import simulate_replication
from csim.records import MONTH_DAYS
from csim.scenario import load_scenario

HUMP = {1: 0.05, 2: 0.20, 3: 0.20, 12: 0.40}
TAIL = 0.03
Z = 4.0
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _segment(n, seed):
    rng = np.random.default_rng(seed)
    months = np.zeros(n)
    alive = np.ones(n, bool)
    for k in range(1, 25):
        leave = alive & (rng.random(n) < HUMP.get(k, TAIL))
        months[leave] = k
        alive &= ~leave
    churn_month = np.where(alive, 10_000, months)
    window = rng.integers(1, 25, n)
    return Tenures(months=np.minimum(churn_month, window).astype(float), churned=churn_month <= window,
                   inclusive=True)


def _logit(p):
    return math.log(p / (1 - p))


def test_the_company_shape_finds_the_hump_and_the_annual_spike_and_a_small_segment_borrows_it():
    big, small = _segment(1500, 1), _segment(150, 2)
    company = company_shape([big, small], 1)
    assert company is not None
    assert company.spikes == [12]
    assert sorted(company.ratios) == [1, 2, 3, 12]
    pooled_t = np.concatenate([big.months, small.months])
    for k, ratio in company.ratios.items():
        h, h_fit, g = HUMP[k], company.hazards[k], company.base[k]
        n = int(np.sum(pooled_t >= k))
        assert abs(h_fit - h) <= Z * math.sqrt(h * (1 - h) / n), (k, h_fit, h)
        # The multiplier turns the pooled model's hazard into the observed one.
        assert math.isclose(_logit(g) + math.log(ratio), _logit(h_fit), rel_tol=1e-9)
    fit = fit_churn(small, 1)
    shape = churn_by_term(small, fit, company)
    assert shape is not None and shape.borrowed == [1, 2, 3, 12]
    assert len(shape.multipliers) == 12
    assert shape.multipliers[3:11] == [1.0] * 8
    assert [shape.multipliers[k - 1] for k in (1, 2, 3, 12)] == [company.ratios[k] for k in (1, 2, 3, 12)]


def test_churn_falling_with_tenure_from_heterogeneity_alone_has_no_company_shape():
    # An sBG population (each customer its own monthly churn, Beta(0.2, 9.8)): churn per month
    # falls from 0.02 to under 0.01 over five years, which the pooled sBG itself describes. Against
    # one constant probability every early month would look like a shape.
    rng = np.random.default_rng(8)
    n = 16_000
    months = rng.geometric(rng.beta(0.2, 9.8, n)).astype(float)
    window = rng.integers(1, 60, n)
    sbg = Tenures(months=np.minimum(months, window), churned=months <= window, inclusive=True)
    assert company_shape([sbg], 1) is None


def test_flat_churn_has_no_company_shape():
    rng = np.random.default_rng(5)
    months = rng.geometric(0.08, 5000).astype(float)
    window = rng.integers(1, 25, 5000)
    flat = Tenures(months=np.minimum(months, window), churned=months <= window, inclusive=True)
    assert company_shape([flat], 1) is None


def test_simulated_accounts_are_observed_for_the_tables_windows():
    scenario = load_scenario(SCENARIOS / "baseline.toml", ["horizon_months=25", "initial_book.customers=3000",
                                                          "initial_book.max_tenure_months=0",
                                                          "acquisition.leads_per_month=0"])
    records = simulate_replication(scenario, 0, 11)
    # A table whose customers were all observed 6 or 18 months (half each), and nobody churned.
    windows = np.repeat([6.0, 18.0], 500)
    table = {name: Tenures(months=windows, churned=np.zeros(len(windows), bool), inclusive=True)
             for name in records.segments}
    seen = censor_like(records, table, seed=3)
    acc, before = seen.accounts, records.accounts
    months = (acc["end"] - acc["start"]) / MONTH_DAYS
    assert months.max() <= 18.0 + 2.0 / MONTH_DAYS
    cut = acc["end"] < before["end"]
    assert not acc["churned"][cut].any()
    # Accounts still there at 18 months (before censoring) were censored at 6 or 18, half each.
    long_lived = (before["end"] - before["start"]) / MONTH_DAYS > 18.0
    share_at_6 = float(np.mean(months[long_lived] < 7.0))
    n = int(long_lived.sum())
    assert n > 500
    assert abs(share_at_6 - 0.5) <= Z * math.sqrt(0.25 / n), (share_at_6, n)
    # Same seed, same windows.
    assert np.array_equal(censor_like(records, table, seed=3).accounts["end"], acc["end"])
