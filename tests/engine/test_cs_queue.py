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


def _mmcd_expiry_share(lam: float, mu: float, c: int, deadline: float, seeds: int, n: int, warmup: int) -> np.ndarray:
    """Share of requests that wait past ``deadline`` unserved in an M/M/c+D queue, first come first served,
    by the Kiefer–Wolfowitz recursion (independent of SimPy): each arrival takes the server that frees
    first if it can start within the deadline, else it leaves at the deadline without using a server.
    One share per seed, over ``n`` arrivals after ``warmup`` arrivals."""
    import heapq

    shares = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        arrivals = np.cumsum(rng.exponential(1 / lam, n + warmup)).tolist()
        services = rng.exponential(1 / mu, n + warmup).tolist()
        free = [0.0] * c  # when each server frees, as a heap
        lost = 0
        for k, (t, s) in enumerate(zip(arrivals, services)):
            start = max(t, free[0])
            if start - t > deadline:
                lost += k >= warmup
                continue
            heapq.heapreplace(free, start + s)
        shares.append(lost / n)
    return np.array(shares)


def test_an_overloaded_team_expires_requests_at_their_deadline_as_an_mmc_d_queue():
    """c = 2 CSMs, ρ = 1.3, exponential touches, deadline D = 2 days: the engine's expiry share
    matches an independent M/M/c+D calculation (the Kiefer–Wolfowitz recursion for first come,
    first served with deterministic patience) within 4 standard errors of the difference."""
    n_accounts, c, hours_per_week, csm_hours, deadline = 1000, 2, 35.0, 5.0, 2.0
    mu = hours_per_week / (7.0 * csm_hours)  # 1 touch per CSM-day
    lam = 1.3 * c * mu
    reps, warmup = 12, 60.0
    scn = scenario(
        horizon_months=24, seed=404, initial_book={"customers": n_accounts},
        cs_team={"headcount": c, "hours_per_week": hours_per_week},
        strategy={"name": "support_desk", "plays": [{
            "touch": "support", "trigger": "request", "rate_per_year": lam * 365.25 / n_accounts,
            "csm_hours": csm_hours, "duration": "exponential", "deadline_days": deadline}]},
    )
    rec = simulate(scn, reps, executor="joblib", workers=2, progress=False)
    t = rec.touches
    expired, done = (TOUCH_OUTCOMES.index(o) for o in ("expired", "done"))
    # Expiry is recorded at the deadline, not when a CSM reaches the request.
    gone = t["outcome"] == expired
    np.testing.assert_allclose(t["ended"][gone], t["requested"][gone] + deadline, rtol=0, atol=1e-9)
    assert np.isnan(t["started"][gone]).all()
    window = (t["requested"] >= warmup) & (t["requested"] < scn.horizon_days - 3 * deadline)
    assert set(np.unique(t["outcome"][window]).tolist()) == {done, expired}
    per_rep = np.array([(t["outcome"][window & (t["replication"] == r)] == expired).mean() for r in range(reps)])
    reference = _mmcd_expiry_share(lam, mu, c, deadline, seeds=8, n=20_000, warmup=500)
    se = math.sqrt(per_rep.var(ddof=1) / reps + reference.var(ddof=1) / reference.size)
    assert abs(per_rep.mean() - reference.mean()) <= Z * se, (per_rep.mean(), reference.mean(), se)
    assert Z * se < 0.1 * reference.mean()  # decisive: the band is under 10 % of the share
    # An overloaded queue loses at least the excess load: share ≥ 1 − 1/ρ.
    assert per_rep.mean() > 1 - 1 / 1.3
