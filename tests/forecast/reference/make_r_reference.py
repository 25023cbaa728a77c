"""Reference values from R ``survival`` for tests/forecast/test_r_reference.py.

Run once from the repository root with the project's venv (the test suite itself never needs R):

    .venv/bin/python tests/forecast/reference/make_r_reference.py

It writes the data sets below as CSV next to this script (numpy generator, fixed seeds, so a
rerun rewrites the same rows), calls ``Rscript make_r_reference.R DIR``, which fits the same
rows with R and writes ``key,value`` lines, and stores those as ``r_reference.json`` together
with the R and survival versions. Last run with R 4.2.2 Patched (2022-11-10 r83330) and
survival 3.5.3 (Debian r-cran-survival), numpy 2.4.6.

Data sets (all tenures in whole months):

``rref_trunc.csv``  300 customers, exits 1..24, 60 % left-truncated at a whole-month entry drawn
    below the exit, so many entries equal churn times of other customers (the case where R's
    risk set, entry < t <= exit, and a closed-interval one differ). Covariates ``x`` (two
    decimals), ``g`` (0/1), an integer score ``score`` (0..4, many ties), strata ``s`` (a, b, c).
    R: coxph Efron and Breslow, with and without strata, with and without entry; concordance of
    each fit and of ``score``; survfit of the Breslow fit at x = g = 0; survdiff by ``s``.
``rref_separation.csv``  200 customers, no customer with ``g = 1`` churns (monotone likelihood:
    the Cox coefficient of g runs to −∞, the Weibull AFT coefficient to +∞). R: the same models
    on the rows with g = 0 only, which is the limit the full fit tends to.
``rref_logrank_big.csv``  3000 customers in two groups with very different churn (log-rank
    chi-square far beyond where a double p-value underflows). R: survdiff chisq and
    ``pchisq(chisq, 1, lower.tail = FALSE, log.p = TRUE)``; coxph z and log p of the group.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def make_trunc() -> pd.DataFrame:
    rng = np.random.default_rng(20251125)
    n = 300
    x = np.round(rng.normal(size=n), 2)
    g = (rng.uniform(size=n) < 0.4).astype(int)
    s = rng.choice(["a", "b", "c"], n)
    base = np.select([s == "a", s == "b"], [8.0, 12.0], 16.0)  # months, by stratum
    tenure = base * rng.weibull(1.3, n) * np.exp(-(0.6 * x - 0.5 * g) / 1.3)
    censor = rng.uniform(0, 24, n)
    exit_ = np.ceil(np.minimum(tenure, censor)).clip(1, 24)
    event = (tenure <= censor).astype(int)
    truncated = rng.uniform(size=n) < 0.6
    entry = np.where(truncated, np.floor(rng.uniform(size=n) * exit_), 0.0)
    # An integer score loosely tied to the risk (ties on purpose).
    score = np.clip(np.round(0.8 * x + 0.7 * g + rng.normal(0, 0.8, n) + 2), 0, 4).astype(int)
    return pd.DataFrame({"entry": entry, "exit": exit_, "event": event, "x": x, "g": g, "score": score, "s": s})


def make_separation() -> pd.DataFrame:
    rng = np.random.default_rng(20251126)
    n = 200
    x = np.round(rng.normal(size=n), 2)
    g = (rng.uniform(size=n) < 0.3).astype(int)
    tenure = 10.0 * rng.weibull(1.2, n) * np.exp(-0.5 * x / 1.2)
    censor = rng.uniform(0, 24, n)
    exit_ = np.ceil(np.minimum(tenure, censor)).clip(1, 24)
    event = ((tenure <= censor) & (g == 0)).astype(int)  # g = 1: nobody churns
    return pd.DataFrame({"exit": exit_, "event": event, "x": x, "g": g})


def make_logrank_big() -> pd.DataFrame:
    rng = np.random.default_rng(20251127)
    n = 1500
    fast = np.ceil(rng.exponential(3.0, n))      # months
    slow = np.ceil(rng.exponential(100.0, n))
    time = np.concatenate([fast, slow])
    censor = 60.0
    event = (time <= censor).astype(int)
    time = np.minimum(time, censor)
    return pd.DataFrame({"time": time, "event": event, "grp": np.repeat(["fast", "slow"], n)})


def main() -> None:
    make_trunc().to_csv(HERE / "rref_trunc.csv", index=False)
    make_separation().to_csv(HERE / "rref_separation.csv", index=False)
    make_logrank_big().to_csv(HERE / "rref_logrank_big.csv", index=False)
    out = subprocess.run(["Rscript", str(HERE / "make_r_reference.R"), str(HERE)], check=True,
                         capture_output=True, text=True)
    values: dict[str, float | str] = {}
    for line in out.stdout.splitlines():
        if not line.startswith("REF,"):
            continue
        _, key, value = line.split(",", 2)
        values[key] = value if key.startswith("version.") else (float("nan") if value == "NA" else float(value))
    (HERE / "r_reference.json").write_text(json.dumps(values, indent=1, sort_keys=True, allow_nan=True) + "\n")
    print(f"wrote {len(values)} values; R stderr:\n{out.stderr}")


if __name__ == "__main__":
    main()
