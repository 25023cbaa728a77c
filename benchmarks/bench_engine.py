"""Engine throughput: model events per second against a bare SimPy loop, in one run.

    python benchmarks/bench_engine.py                 # 10,000 accounts × 5 years, and 100,000 × 5 years
    python benchmarks/bench_engine.py --skip-large    # only the 10,000-account comparison
    python benchmarks/bench_engine.py --skip-compare  # without the 30-replication csim compare

What is measured
----------------
* **bare SimPy**: ``n`` processes each looping ``yield env.timeout(d)`` with pre-drawn exponential
  delays (the cheapest possible SimPy model), run for the same simulated time.
* **engine**: the baseline world (``scenarios/baseline.toml``, reactive support) with an initial
  book of ``n`` accounts and no new leads, so the population is exactly ``n``, for 5 years; the CS
  team scaled with the book (4 CSMs per 1,000 accounts) so the queue load stays that of the
  baseline rather than growing with ``n``; with ``n`` = 10,000 for speed and 100,000 for time and
  peak memory;
* ``csim compare scenarios/renewal_focus.toml scenarios/expansion_focus.toml --reps 30`` end to end
  (default executor: 2 local workers; simulation, survival comparison, figures and report), wall time.

Both count SimPy events the same way: the number of events the environment scheduled
(``Environment._eid``, SimPy's own event counter), divided by the wall time of ``env.run``-ing
the model. The ratio engine / bare is the figure of merit (target ≥ 0.5). Account-years are the
years each account was a paying customer inside the horizon. Each case runs in a fresh
subprocess so its peak resident memory (``ru_maxrss``) is its own; bare and engine runs alternate
``--repeat`` times and the fastest of each is reported, so load from other programs on the machine
hits both sides alike.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bare_simpy(n_processes: int, days: float, mean_gap_days: float, seed: int = 1) -> dict:
    import numpy as np
    import simpy

    env = simpy.Environment()
    gaps = np.random.default_rng(seed).exponential(mean_gap_days, 1 << 20).tolist()
    mask = (1 << 20) - 1
    state = {"i": 0}

    def proc():
        timeout = env.timeout
        while True:
            i = state["i"] = state["i"] + 1
            yield timeout(gaps[i & mask])

    for _ in range(n_processes):
        env.process(proc())
    started = time.perf_counter()
    env.run(until=days)
    wall = time.perf_counter() - started
    events = next(env._eid)
    return {"case": "bare_simpy", "processes": n_processes, "events": events, "seconds": wall, "events_per_s": events / wall}


def engine(n_accounts: int, years: int, reps: int = 1) -> dict:
    import numpy as np

    from csim.engine.world import World, quiet_garbage_collector
    from csim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml", [
        f"initial_book.customers={n_accounts}", "acquisition.leads_per_month=0", f"horizon_months={12 * years}",
        f"cs_team.headcount={max(1, round(4 * n_accounts / 1000))}"])
    world = World(scenario, 0)
    with quiet_garbage_collector():  # as simulate_replication runs a world
        started = time.perf_counter()
        records = world.run()
        wall = time.perf_counter() - started  # the final collection (of a world still alive here) left out
    events = next(world.env._eid)
    acc = records.accounts
    paying_days = np.minimum(acc["end"], records.horizon_days) - acc["entry"]
    account_years = float(paying_days.sum() / 365.25)
    return {
        "case": "engine", "accounts": int(len(acc["account"])), "years": years, "events": events,
        "recorded_events": int(len(records.events["time"])), "seconds": wall, "events_per_s": events / wall,
        "account_years": account_years, "account_years_per_s": account_years / wall,
    }


def _child(case: str, n: int, years: int) -> None:
    result = engine(n, years) if case == "engine" else bare_simpy(n, years * 365.25, mean_gap_days=n_gap(years))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(result))


def n_gap(years: int) -> float:
    # The bare loop's event spacing per process: the engine's mean per account (≈ 40 days) keeps the
    # heap the same size, so neither side gains from a smaller event queue.
    return 40.0


def run_case(case: str, n: int, years: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", case, str(n), str(years)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of the 10,000-account pair; the fastest counts")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, n, years = args.child
        _child(case, int(n), int(years))
        return

    import platform
    import os

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    bares, engines = [], []
    for _ in range(args.repeat):
        bares.append(run_case("bare", args.accounts, args.years))
        engines.append(run_case("engine", args.accounts, args.years))
    bare = min(bares, key=lambda r: r["seconds"])
    eng = min(engines, key=lambda r: r["seconds"])
    print(f"bare SimPy loop    : {bare['events']:>10,} events in {bare['seconds']:6.2f} s = {bare['events_per_s']:>9,.0f} events/s")
    print(f"engine {args.accounts:>7,} acc. : {eng['events']:>10,} events in {eng['seconds']:6.2f} s = {eng['events_per_s']:>9,.0f} events/s "
          f"({eng['recorded_events']:,} recorded), {eng['account_years_per_s']:,.0f} account-years/s (target ≥ 40,000), "
          f"{eng['events'] / eng['account_years']:.1f} events per account-year (target ≤ 5)")
    print(f"ratio engine / bare: {eng['events_per_s'] / bare['events_per_s']:.2f}   (target ≥ 0.5; fastest of {args.repeat} each)")
    if not args.skip_large:
        big = run_case("engine", args.large, args.years)
        print(f"engine {args.large:>7,} acc. × {args.years} y: {big['seconds']:.1f} s (target ≤ 15 s), "
              f"peak memory {big['peak_rss_mb']:,.0f} MB (target ≤ 1,024 MB), "
              f"{big['events_per_s']:,.0f} events/s, {big['account_years_per_s']:,.0f} account-years/s")
    if not args.skip_compare:
        seconds = compare_seconds()
        print(f"csim compare renewal_focus vs expansion_focus, 30 replications: {seconds:.1f} s (target ≤ 20 s)")


def compare_seconds() -> float:
    """Wall time of the 30-replication compare the engine-speed targets name, end to end."""
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "csim", "compare", "scenarios/renewal_focus.toml",
                        "scenarios/expansion_focus.toml", "--reps", "30", "--out", out, "--no-progress"],
                       check=True, cwd=ROOT, capture_output=True)
        return time.perf_counter() - started


if __name__ == "__main__":
    main()
