"""Benchmark: KM, Cox (3 covariates) and the four parametric fits on a 1,000,000-row table.

Prints csim's time per fit next to lifelines doing the same fit in the same run, and the
ratio. Run: ``.venv/bin/python benchmarks/bench_forecast.py [--rows N]``. Figures are recorded
in docs/benchmarks.md.

The table is what a real customer export gives: tenure from dates, i.e. whole days (here
up to ~3 years, so ~1,000 distinct churn times), expressed in months; Weibull churn with
proportional effects of three covariates and uniform censoring. Concordance is not part of
either Cox timing (both libraries compute it on demand); it is timed on its own.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def make_table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    beta = np.array([0.5, -0.3, 0.1])
    tenure_days = 365.0 * rng.weibull(1.3, rows) * np.exp(-(X @ beta) / 1.3)
    censor_days = rng.uniform(0, 1000, rows)
    days = np.ceil(np.minimum(tenure_days, censor_days))
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "T": days / 30.4375,
                         "E": (tenure_days <= censor_days).astype(int)})


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    import lifelines

    from csim.forecast import (
        CoxPH,
        ExponentialFitter,
        KaplanMeier,
        LogLogisticFitter,
        LogNormalFitter,
        WeibullFitter,
        concordance_index,
    )

    df = make_table(args.rows)
    t, e, X = df["T"].to_numpy(), df["E"].to_numpy(), df[["a", "b", "c"]]
    print(f"{args.rows:,} rows, {int(e.sum()):,} churns, {len(np.unique(t[e > 0])):,} distinct churn times")
    cases = [
        ("Kaplan-Meier", lambda: KaplanMeier().fit(t, e), lambda: lifelines.KaplanMeierFitter().fit(t, e)),
        ("Cox PH, Efron, 3 covariates", lambda: CoxPH().fit(t, e, covariates=X),
         lambda: lifelines.CoxPHFitter().fit(df, "T", "E")),
        ("exponential", lambda: ExponentialFitter().fit(t, e), lambda: lifelines.ExponentialFitter().fit(t, e)),
        ("Weibull", lambda: WeibullFitter().fit(t, e), lambda: lifelines.WeibullFitter().fit(t, e)),
        ("log-normal", lambda: LogNormalFitter().fit(t, e), lambda: lifelines.LogNormalFitter().fit(t, e)),
        ("log-logistic", lambda: LogLogisticFitter().fit(t, e), lambda: lifelines.LogLogisticFitter().fit(t, e)),
    ]
    print(f"{'fit':32s} {'csim s':>8s} {'lifelines s':>12s} {'ratio':>7s}")
    total_ours = total_ref = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, ours, ref in cases:
            a, b = timed(ours), timed(ref)
            total_ours += a
            total_ref += b
            print(f"{name:32s} {a:8.2f} {b:12.2f} {a / b:7.2f}")
    print(f"{'total':32s} {total_ours:8.2f} {total_ref:12.2f} {total_ours / total_ref:7.2f}")
    score = X.to_numpy() @ np.array([0.5, -0.3, 0.1])
    a = timed(lambda: concordance_index(t, score, e))
    b = timed(lambda: lifelines.utils.concordance_index(t, -score, e))
    print(f"{'concordance (separately)':32s} {a:8.2f} {b:12.2f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
