"""Known answer for the CS team: Poisson requests, exponential touches, c CSMs is M/M/c (Erlang C).

N accounts each raise support requests at r per account-year, so the team sees a Poisson stream
of λ = N·r/365.25 requests per day. A touch of mean m CSM hours occupies a CSM for m·7/H days
(H = hours per CSM-week), exponential, so μ = H/(7m) per day. The mean wait in queue is
Wq = C(c, a)/(cμ − λ), a = λ/μ, C the Erlang C probability of waiting; utilisation is ρ = a/c.

Tolerance: each replication gives one mean wait (after a warm-up); replications are independent,
so the grand mean has standard error s/√R from the across-replication spread s. The check allows
4 such standard errors (chance miss ≈ 6e-5 for a correct engine under the normal approximation).
With the settings below that is about ±16 % of Wq, tighter than the error of a service time in
the wrong unit or a wrong number of servers. (Mean wait does not depend on queue order, so first
come, first served is checked directly.)
"""

from __future__ import annotations

import math

import numpy as np

from csim.engine.runner import simulate
from csim.metrics import monthly
from csim.records import MONTH_DAYS, TOUCH_OUTCOMES
from tests.engine.scenarios import scenario

Z = 4.0


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = λ/μ < c."""
    last = a**c / math.factorial(c) * c / (c - a)
    return last / (sum(a**k / math.factorial(k) for k in range(c)) + last)


def test_erlang_c_known_value():
    # Textbook value: c = 2, a = 1 gives C = 1/3.
    assert math.isclose(erlang_c(2, 1.0), 1.0 / 3.0)
    assert math.isclose(erlang_c(1, 0.5), 0.5)  # M/M/1: C = ρ


def test_cs_team_is_an_mmc_queue():
    n_accounts, c, hours_per_week, csm_hours = 1000, 3, 35.0, 5.0
    mu = hours_per_week / (7.0 * csm_hours)      # touches per CSM-day: 1.0
    lam = 0.75 * c * mu                          # ρ = 0.75
    rate_per_year = lam * 365.25 / n_accounts    # per account-year
    reps, warmup, cutoff = 24, 60.0, 30.0        # days; cutoff: requests this close to the horizon are dropped
    scn = scenario(
        horizon_months=48, seed=303, initial_book={"customers": n_accounts},
        cs_team={"headcount": c, "hours_per_week": hours_per_week},
        strategy={"name": "support_desk", "plays": [{
            "touch": "support", "trigger": "request", "rate_per_year": rate_per_year, "csm_hours": csm_hours,
            "duration": "exponential", "deadline_days": 1.0e6}]},
    )
    rec = simulate(scn, reps, executor="joblib", workers=2, progress=False)
    t = rec.touches
    window = (t["requested"] >= warmup) & (t["requested"] < scn.horizon_days - cutoff)
    # Nothing expires or is cancelled, and every request in the window has been served.
    assert set(t["outcome"][t["finished"] < scn.horizon_days].tolist()) == {TOUCH_OUTCOMES.index("done")}
    assert not np.isnan(t["started"][window]).any()

    wait = t["started"] - t["requested"]
    per_rep = np.array([wait[window & (t["replication"] == r)].mean() for r in range(reps)])
    a = lam / mu
    wq = erlang_c(c, a) / (c * mu - lam)
    se = per_rep.std(ddof=1) / math.sqrt(reps)
    assert abs(per_rep.mean() - wq) <= Z * se, f"mean wait {per_rep.mean():.3f} d, Erlang C {wq:.3f} ± {Z * se:.3f}"
    assert Z * se < 0.2 * wq  # decisive: the band is under 20 % of Wq

    # One priority: CSMs take requests first come, first served.
    for r in range(reps):
        mine = t["replication"] == r
        order = np.argsort(t["requested"][mine], kind="stable")
        started = t["started"][mine][order]
        started = started[~np.isnan(started)]
        assert np.all(np.diff(started) >= 0.0)

    # Arrival rate: requests per day in the window are Poisson(λ) per day.
    days = scn.horizon_days - cutoff - warmup
    arrivals = np.array([(window & (t["replication"] == r)).sum() for r in range(reps)]) / days
    assert abs(arrivals.mean() - lam) <= Z * math.sqrt(lam / days / reps)

    # Utilisation from the monthly table (hours of touches finished in the month / CSM hours
    # available) equals ρ; months after the warm-up, one mean per replication.
    table = monthly(rec)
    late = table[table["month"] >= math.ceil(warmup / MONTH_DAYS)]
    util = late.groupby("replication")["cs_utilisation"].mean().to_numpy()
    se_u = util.std(ddof=1) / math.sqrt(reps)
    assert abs(util.mean() - a / c) <= Z * se_u, f"utilisation {util.mean():.3f}, ρ {a / c:.3f} ± {Z * se_u:.3f}"
    # Exponential service with mean csm_hours.
    hours = t["csm_hours"][window]
    assert abs(hours.mean() - csm_hours) <= Z * csm_hours / math.sqrt(hours.size)
