"""Sweep throughput: serial against 2 local processes and a 2-worker Dask LocalCluster, in one run.

    python benchmarks/bench_sweep.py                  # 8 points × 2 replications × 2 scenarios = 32 tasks
    python benchmarks/bench_sweep.py --points 16      # 64 tasks

What is measured
----------------
The same sweep (renewal_focus versus expansion_focus at full size — 600 accounts at day 0, 60
months — over ``cs_team.headcount`` and SMB churn, an LHS design) runs into fresh directories:
``serial``; ``local`` with 2 processes and ``dask`` on a 2-worker ``LocalCluster`` (loopback),
each *cold* (the pool or cluster started inside the timed region, as a one-off ``csim sweep``
does); Dask also *warm* (a cluster started beforehand with csim imported on its workers, as a
standing cluster reached with ``--scheduler``). The tables of
all runs are checked to be bit-identical.

* **throughput ratio** = serial wall time / parallel wall time (target ≥ 1.8 on 2 cores);
* **per-task overhead** of an executor = (wall × workers − serial wall) / tasks: the time a
  worker spends on anything but the task itself (start-up, shipping the scenario and the
  result, scheduling, the main process writing the task file, and on this 2-core machine the
  scheduler, nannies and client sharing the cores with the workers); reported as a share of the
  mean task time (target < 5 % for Dask). ``dask_1_worker`` measures Dask's own per-task cost with
  one warm worker, the other core left to the scheduler and client.
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
    parser.add_argument("--repeat", type=int, default=2,
                        help="run the whole set this many times, alternating, and keep the fastest of each "
                             "(load from elsewhere on the machine then hits every executor alike)")
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

    def timed(name, **kwargs):
        out = work / name
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        counts = run_sweep(sweep, out, workers=args.workers, progress=False, **kwargs)
        elapsed = time.perf_counter() - started
        timings[name] = min(elapsed, timings.get(name, math.inf))
        assert counts["computed"] == n
        tables[name] = results_table(out)
        print(f"{name:12s} {n} tasks in {elapsed:.1f} s", flush=True)

    try:
        for _ in range(args.repeat):
            timed("serial", executor="serial")
            # Cold: the executor starts inside the timed region (a new process pool, a new LocalCluster).
            timed("local_cold", executor="local")
            timed("dask_cold", executor="dask")
            # Warm: a Dask cluster started first, csim imported on its workers, reached by address,
            # as a standing cluster is.
            from dask.distributed import Client, LocalCluster

            started = time.perf_counter()
            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                              dashboard_address=None, host="127.0.0.1") as cluster:
                with Client(cluster) as client:
                    client.run(lambda: __import__("csim.sweep.tasks") and None)
                startup = time.perf_counter() - started
                timings["dask_startup"] = min(startup, timings.get("dask_startup", math.inf))
                timed("dask_warm", executor="dask", scheduler=cluster.scheduler_address)
            # One warm worker: the scheduler, nanny and client have the other core to themselves, so
            # wall - serial is the per-task cost of Dask itself, not two cores shared by five processes.
            with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                              dashboard_address=None, host="127.0.0.1") as cluster:
                with Client(cluster) as client:
                    client.run(lambda: __import__("csim.sweep.tasks") and None)
                timed("dask_1_worker", executor="dask", scheduler=cluster.scheduler_address)
        for name in tables:
            pd.testing.assert_frame_equal(tables["serial"], tables[name], check_exact=True)
        account_years = _account_years(sweep)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    task = timings["serial"] / n
    result = {"tasks": n, "workers": args.workers, "cpus": os.cpu_count(), "serial_s": timings["serial"],
              "task_s": task, "account_years_per_task": account_years,
              "account_years_per_cpu_s": account_years / task, "dask_cluster_startup_s": timings["dask_startup"]}
    for name in ("local_cold", "dask_cold", "dask_warm"):
        overhead = (timings[name] * args.workers - timings["serial"]) / n
        result[f"{name}_s"] = timings[name]
        result[f"{name}_speedup"] = timings["serial"] / timings[name]
        result[f"{name}_overhead_per_task_s"] = overhead
        result[f"{name}_overhead_share"] = overhead / task
    overhead = (timings["dask_1_worker"] - timings["serial"]) / n
    result.update({"dask_1_worker_s": timings["dask_1_worker"], "dask_1_worker_overhead_per_task_s": overhead,
                   "dask_1_worker_overhead_share": overhead / task})
    # The arithmetic of a large sweep: 1,000 points × 10 replications × 2 scenarios of a
    # 100,000-account book for 5 years, at this machine's account-years per CPU-second.
    big_task = 100_000 * 5 / result["account_years_per_cpu_s"]
    big_cpu_s = 1000 * 10 * 2 * big_task * (1 + max(result["dask_1_worker_overhead_share"], 0))
    result["big_sweep"] = {"task_s": big_task, "cpu_hours": big_cpu_s / 3600,
                           "workers_for_one_hour": math.ceil(big_cpu_s / 3600)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
