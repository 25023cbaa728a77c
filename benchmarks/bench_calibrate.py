"""Benchmark: ``csim calibrate`` on a 100,000-customer, 5-year subscription ledger, self-check included.

Run: ``.venv/bin/python benchmarks/bench_calibrate.py [--customers N] [--reps R] [--repeat K] [--profile]``.
Target: ≤ 60 s wall clock and ≤ 2 GB with ``--check-reps 10``, self-check included. The result
is recorded in docs/calibration.md, "Performance".

The ledger is generated with numpy in the ledger schema (simulating a company of this size with
the engine takes longer than the calibration itself): customers arriving over five years at a
lead flow growing 10 % a year, 80 % on monthly plans and 20 % on 12-month terms; each customer's
churn probability per term drawn from a beta law (monthly mean 2 %, annual 15 %: retention rises
with tenure); monthly plans billed one row per month (an invoice export), term contracts one row
per term with a 5 % uplift at each renewal; expansions (+25 %, 2 % of months) and contractions
(−20 %, 1 %) of monthly plans and one expansion (+20 %) in a quarter of the terms as new periods at
the changed amount; a churn ends the last period. 1.92 million period rows.

The command runs in a fresh process (``python -m csim calibrate``); wall clock is measured around
it, peak memory two ways: the largest resident set of any one process (``getrusage`` of the
children: the command and its simulation workers) and the largest sum over the process tree
(sampled every 0.2 s with psutil). The phases come from the ``timings`` of the calibration JSON.
``--profile`` also runs the calibration in this process under cProfile and prints the functions
that take the most time.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = np.datetime64("2025-01", "M")


def make_ledger(customers: int = 100_000, years: int = 5, seed: int = 7) -> pd.DataFrame:
    """A synthetic subscription ledger (see the module doc): one row per subscription period."""
    rng = np.random.default_rng(seed)
    months = 12 * years
    growth = np.log(1.10) / 12.0
    # Arrival month by inverting the growing intake's cumulative share; day of month 1..28.
    arrival = np.log1p(rng.random(customers) * np.expm1(growth * months)) / growth
    first_month = np.floor(arrival).astype(np.int64)
    day = rng.integers(1, 29, customers)
    annual = rng.random(customers) < 0.2
    term = np.where(annual, 12, 1)
    mrr = np.where(annual, 1500.0 * np.exp(0.9 * rng.standard_normal(customers)),
                   120.0 * np.exp(0.8 * rng.standard_normal(customers)))
    mean, concentration = np.where(annual, 0.15, 0.02), np.where(annual, 8.0, 10.0)
    q = rng.beta(mean * concentration, (1 - mean) * concentration)
    paid_terms = rng.geometric(np.clip(q, 1e-6, 1.0))              # terms paid before the churn
    available = -(-(months - first_month) // term)                  # terms begun by the ledger's end
    n = np.minimum(paid_terms, available)
    churned = paid_terms <= available
    churned &= first_month + paid_terms * term < months             # the churn date is inside the history

    # One row per term (a month for monthly plans); a term contract may split once for an expansion.
    customer = np.repeat(np.arange(customers), n)
    k = np.arange(len(customer)) - np.repeat(np.cumsum(n) - n, n)    # term index 0, 1, …
    t = term[customer]
    start = first_month[customer] + k * t
    end = start + t
    is_last = k == n[customer] - 1
    # Amount: the first MRR, times the uplift at each renewal (terms) and the moves of each month.
    monthly = t == 1
    move = np.where(monthly & (k > 0), rng.choice([1.25, 0.8, 1.0], len(k), p=[0.02, 0.01, 0.97]), 1.0)
    log_move = np.log(move)
    cum = np.cumsum(log_move)
    cum -= np.repeat(cum[np.cumsum(n) - n], n) - np.repeat(log_move[np.cumsum(n) - n], n)
    amount = mrr[customer] * np.exp(cum) * np.where(monthly, 1.0, 1.05 ** k)
    frame = pd.DataFrame({"customer": customer, "start": start, "end": end, "amount": amount,
                          "last": is_last, "annual": ~monthly})
    at = rng.integers(1, 12, len(frame))
    split = frame["annual"].to_numpy() & (rng.random(len(frame)) < 0.25) & (start + at < months)
    second = frame[split].copy()
    second["start"] = second["start"] + at[split]
    second["amount"] = second["amount"] * 1.2
    first = frame.copy()
    first.loc[split, "end"] = first.loc[split, "start"] + at[split]
    first.loc[split, "last"] = False
    rows = pd.concat([first, second], ignore_index=True).sort_values(["customer", "start"], kind="stable")

    c = rows["customer"].to_numpy()
    d = (day[c] - 1).astype("timedelta64[D]")
    start_date = (ORIGIN + rows["start"].to_numpy().astype("timedelta64[M]")).astype("datetime64[D]") + d
    end_date = (ORIGIN + rows["end"].to_numpy().astype("timedelta64[M]")).astype("datetime64[D]") + d
    running = rows["last"].to_numpy() & ~churned[c]
    end_date = np.where(running, np.datetime64("NaT"), end_date)
    ids = np.char.add("c", np.char.zfill(c.astype(str), 6))
    return pd.DataFrame({"customer_id": ids, "subscription_id": np.char.add(ids, "-1"),
                         "start_date": start_date, "end_date": end_date,
                         "monthly_amount": np.round(rows["amount"].to_numpy(), 2),
                         "segment": np.where(annual[c], "annual", "monthly")})


def _watch(pid: int, peak: list, stop: threading.Event) -> None:
    """Largest resident set of the process tree under ``pid`` (sum over processes), sampled."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        try:
            total = root.memory_info().rss + sum(p.memory_info().rss for p in root.children(recursive=True))
            peak[0] = max(peak[0], total)
        except psutil.Error:
            pass
        stop.wait(0.2)


def run_command(ledger: Path, out: Path, reps: int) -> dict:
    """``csim calibrate`` in a fresh process: wall clock, peak memory, exit status."""
    argv = [sys.executable, "-m", "csim", "calibrate", str(ledger), "--out", str(out), "--check-reps", str(reps),
            "--base", str(ROOT / "scenarios" / "baseline.toml")]
    peak, stop = [0], threading.Event()
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watcher = threading.Thread(target=_watch, args=(process.pid, peak, stop), daemon=True)
    watcher.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    watcher.join()
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0  # KiB on Linux → MiB
    return {"seconds": seconds, "status": process.returncode, "output": output, "largest_process_mb": largest,
            "tree_mb": peak[0] / 2**20}


def profile(ledger: Path, out: Path, reps: int, top: int = 25) -> None:
    """The calibration in this process under cProfile: the functions with the most cumulative time."""
    import cProfile
    import pstats

    from csim.calibrate import calibrate, read_ledger_input, write_calibration
    from csim.scenario import load_scenario

    base_path = ROOT / "scenarios" / "baseline.toml"
    profiler = cProfile.Profile()
    profiler.enable()
    observed = read_ledger_input(ledger, None, None, False)
    calibration = calibrate(observed, load_scenario(base_path), str(base_path), out.stem, check_reps=reps)
    write_calibration(calibration, out)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--reps", type=int, default=10, help="--check-reps of the calibration (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the command; the fastest counts (default 1)")
    parser.add_argument("--profile", action="store_true", help="also profile the calibration in this process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        ledger = make_ledger(args.customers, args.years)
        path = tmp / "ledger.csv"
        ledger.to_csv(path, index=False, date_format="%Y-%m-%d")
        made = time.perf_counter() - start
        print(f"ledger: {len(ledger):,} period rows, {ledger['customer_id'].nunique():,} customers, "
              f"{args.years} years ({path.stat().st_size / 2**20:.0f} MB CSV, made in {made:.1f} s)")
        runs = []
        for _ in range(args.repeat):  # other programs on the machine slow some runs: the fastest counts
            runs.append(run_command(path, tmp / "bench.toml", args.reps))
            if runs[-1]["status"] != 0:
                print(runs[-1]["output"])
                raise SystemExit(f"csim calibrate failed with status {runs[-1]['status']}")
            runs[-1]["calibration"] = json.loads((tmp / "bench.calibration.json").read_text())
        result = min(runs, key=lambda r: r["seconds"])
        if args.repeat > 1:
            print("wall clock of each run: " + ", ".join(f"{r['seconds']:.1f} s" for r in runs))
        calibration = result["calibration"]
        timings = calibration.get("timings", {})
        check = pd.DataFrame(calibration["check"])
        print(f"\nmachine: {platform.machine()}, Python {platform.python_version()}, "
              f"{__import__('os').cpu_count()} cores; --check-reps {args.reps}")
        print("\n| phase | seconds |\n|---|---:|")
        for phase, seconds in timings.items():
            if phase != "simulation_size":
                print(f"| {phase.removesuffix('_seconds').replace('_', ' ')} | {seconds:.1f} |")
        print(f"| **total, wall clock** | **{result['seconds']:.1f}** |")
        size = timings.get("simulation_size", {})
        if size:
            print(f"\neach simulation of the history: {size['replications']} replications at 1/{size['divisor']} of the "
                  f"company, {size['account_years']:,.0f} paying account-years of the company "
                  f"(≈ {size['account_years'] * size['replications'] / size['divisor']:,.0f} simulated)")
        print(f"\npeak memory: largest process {result['largest_process_mb']:,.0f} MiB, whole process tree "
              f"{result['tree_mb']:,.0f} MiB (sampled every 0.2 s)")
        print(f"self-check: {int(check['outside'].sum())} of {len(check)} figures outside their 95 % interval")
        print(f"\ntargets: ≤ 60 s → {'met' if result['seconds'] <= 60 else 'MISSED'}; ≤ 2 GB → "
              f"{'met' if max(result['tree_mb'], result['largest_process_mb']) <= 2048 else 'MISSED'}")
        if args.profile:
            profile(path, tmp / "profiled.toml", args.reps)


if __name__ == "__main__":
    main()
