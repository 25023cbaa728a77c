"""Sweep throughput: serial against 2 local processes and a 2-worker Dask LocalCluster, in one run.

    python benchmarks/bench_sweep.py                  # 8 points × 2 replications × 2 scenarios = 32 tasks
    python benchmarks/bench_sweep.py --points 16      # 64 tasks

What is measured
----------------
The same sweep (renewal_focus versus expansion_focus at full size — 600 accounts at day 0, 60
months — over ``cs_team.headcount`` and SMB churn, an LHS design) runs three times into fresh
directories: ``serial``, ``local`` with 2 processes, ``dask`` on a 2-worker ``LocalCluster``
(loopback, started inside the timed region, as ``csim sweep --executor dask`` does). The tables
of the three runs are checked to be bit-identical.

* **throughput ratio** = serial wall time / parallel wall time (target ≥ 1.8 on 2 cores);
* **per-task overhead** of an executor = (wall × workers − serial wall) / tasks: the time a
  worker spends on anything but the task itself (start-up, shipping the scenario and the
  result, scheduling, the main process writing the task file); reported as a share of the mean
  task time (target < 5 % for Dask).
* **account-years per CPU-second** of a task, from the serial run: what the cost arithmetic of a
  large sweep scales with.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _account_years(sweep) -> float:
    """Paying account-years of one replication of the first point (the size of a task)."""
    from csim.engine.world import simulate_replication

    import numpy as np

    records = simulate_replication(sweep.scenario(0, "base"), 0, sweep.seed)
    acc = records.accounts
    # As bench_engine.py counts them: days from entering the book to the end or the horizon.
    return float((np.minimum(acc["end"], records.horizon_days) - acc["entry"]).sum() / 365.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from csim.sweep import build_sweep, run_sweep
    from csim.sweep.tables import results_table

    sweep = build_sweep(ROOT / "scenarios" / "renewal_focus.toml",
                        ["cs_team.headcount=2:8", "segments.smb.annual_churn=0.1:0.4"],
                        versus_path=ROOT / "scenarios" / "expansion_focus.toml", design="lhs",
                        points=args.points, reps=args.reps, seed=11)
    n = len(sweep.tasks())
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    timings, tables = {}, {}
    try:
        for executor in ("serial", "local", "dask"):
            out = work / executor
            started = time.perf_counter()
            counts = run_sweep(sweep, out, executor=executor, workers=args.workers, progress=False)
            timings[executor] = time.perf_counter() - started
            assert counts["computed"] == n
            tables[executor] = results_table(out)
            print(f"{executor:6s} {n} tasks in {timings[executor]:.1f} s", flush=True)
        for executor in ("local", "dask"):
            pd.testing.assert_frame_equal(tables["serial"], tables[executor], check_exact=True)
        account_years = _account_years(sweep)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    task = timings["serial"] / n
    result = {"tasks": n, "workers": args.workers, "cpus": os.cpu_count(), "serial_s": timings["serial"],
              "task_s": task, "account_years_per_task": account_years,
              "account_years_per_cpu_s": account_years / task}
    for executor in ("local", "dask"):
        overhead = (timings[executor] * args.workers - timings["serial"]) / n
        result[f"{executor}_s"] = timings[executor]
        result[f"{executor}_speedup"] = timings["serial"] / timings[executor]
        result[f"{executor}_overhead_per_task_s"] = overhead
        result[f"{executor}_overhead_share"] = overhead / task
    # The arithmetic of a large sweep: 1,000 points × 10 replications × 2 scenarios of a
    # 100,000-account book for 5 years, at this machine's account-years per CPU-second.
    big_task = 100_000 * 5 / result["account_years_per_cpu_s"]
    big_cpu_s = 1000 * 10 * 2 * big_task * (1 + max(result["dask_overhead_share"], 0))
    result["big_sweep"] = {"task_s": big_task, "cpu_hours": big_cpu_s / 3600,
                           "workers_for_one_hour": math.ceil(big_cpu_s / 3600)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
