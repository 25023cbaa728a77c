"""Benchmark: discrete-time hazard fits (cloglog and logit) on 1,000,000 customers × up to 36 months.

Run: ``.venv/bin/python benchmarks/bench_discrete.py [--rows N]``. Targets: each fit ≤ 30 s and
≤ 4 GB peak memory.

The table is what a monthly export gives: tenure in whole months up to 36 (customers signed
up uniformly over the last 36 months, so each is observed for 1 … 36 months), churn from a
continuous Weibull-shaped hazard with proportional effects of three categorical covariates
(segment: 3 levels, plan: 4, channel: 2; text columns, as read from a CSV), grouped to whole
months; 20 % of customers are left-truncated (observed from a whole-month tenure before their
last). Because churn is grouped-time proportional hazards, the cloglog coefficients estimate the
true log hazard ratios exactly; the script prints them next to the truth.

Timing: wall clock of ``DiscreteTimeHazard(...).fit`` (aggregation to person-period counts
plus the GLM), best of ``--repeat`` runs. Memory: ``tracemalloc`` peak of Python allocations
during one fit (numpy and pandas report theirs to it), run separately so that tracing does not
slow the timed runs, and the process's peak resident set (``resource.getrusage`` maxrss, which
includes the data generation and the imports).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

EFFECTS = {
    "segment": {"enterprise": 0.0, "mid-market": 0.35, "smb": 0.8},
    "plan": {"basic": 0.0, "plus": -0.2, "pro": -0.45, "ultimate": -0.7},
    "channel": {"direct": 0.0, "partner": 0.25},
}


def make_table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    draw = int(rows * 1.15) + 100                              # some are lost to left truncation
    codes = {name: rng.integers(0, len(levels), draw) for name, levels in EFFECTS.items()}
    lp = sum(np.array(list(EFFECTS[name].values()))[c] for name, c in codes.items())
    # Weibull cumulative hazard (t/scale)^shape · exp(lp): invert an exponential draw.
    shape, scale = 0.8, 30.0
    tenure = scale * (rng.exponential(size=draw) * np.exp(-lp)) ** (1.0 / shape)
    months = np.ceil(tenure)
    observed = rng.integers(1, 37, draw)                       # months since sign-up
    # Left truncation independent of churn: for 20 % the export window opened at a whole-month
    # tenure before the end; those who had churned by then never appear in it.
    entry = np.where(rng.uniform(size=draw) < 0.2, np.floor(rng.uniform(size=draw) * observed), 0.0)
    seen = np.flatnonzero(months > entry)[:rows]
    if len(seen) < rows:
        raise RuntimeError("too few customers survived the truncation; raise the oversampling")
    cov = {name: np.array(list(EFFECTS[name]), dtype=object)[c[seen]] for name, c in codes.items()}
    t = np.minimum(months, observed)[seen]
    d = (months <= observed)[seen].astype(np.int8)
    return pd.DataFrame({**cov, "T": t, "E": d, "entry": entry[seen]})


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: kB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from csim.forecast.discrete import DiscreteTimeHazard

    start = time.perf_counter()
    df = make_table(args.rows)
    print(f"{args.rows:,} customers, {int(df['E'].sum()):,} churns, {int((df['entry'] > 0).sum()):,} "
          f"left-truncated, tenure 1-{int(df['T'].max())} months; data generated in "
          f"{time.perf_counter() - start:.1f} s, process peak {maxrss_mb():.0f} MB")
    cov = df[list(EFFECTS)]
    rss_before = maxrss_mb()

    def fit(link):
        return DiscreteTimeHazard(link=link).fit(df["T"], df["E"], entry=df["entry"], covariates=cov)

    print(f"{'fit':10s} {'seconds':>8s} {'traced peak MB':>15s} {'rows':>6s} {'person-months':>14s}")
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a fit of this benchmark must not warn
        for link in ("cloglog", "logit"):
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                fits[link] = model = fit(link)
                times.append(time.perf_counter() - t0)
            tracemalloc.start()
            fit(link)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{link:10s} {min(times):8.2f} {peak / 2**20:15.0f} {len(model.data_.period):6d} "
                  f"{model.person_periods_:14,d}")
    print(f"process peak resident memory: {maxrss_mb():.0f} MB (after generating the data: {rss_before:.0f} MB)")
    model = fits["cloglog"]
    print(f"cloglog: {model.n_baseline_} baseline hazards, degenerate: {model.degenerate_}")
    print(f"{'log hazard ratio':22s} {'true':>7s} {'cloglog':>8s} {'se':>7s} {'z':>6s} {'logit':>8s}")
    for name, levels in EFFECTS.items():
        for level, truth in list(levels.items())[1:]:
            key = f"{name}[{level}]"
            row = model.summary.loc[key]
            print(f"{key:22s} {truth:7.3f} {row['coef']:8.4f} {row['se']:7.4f} {(row['coef'] - truth) / row['se']:6.2f} "
                  f"{fits['logit'].summary.loc[key, 'coef']:8.4f}")


if __name__ == "__main__":
    main()
