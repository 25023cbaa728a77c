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
standing cluster reached with ``--scheduler``), with 2 workers and with 1. The tables of all runs
are checked to be bit-identical. The set runs ``--repeat`` rounds; each executor is set against
the serial run of its own round (this machine's speed drifts by ±10 % over minutes) and the
median over rounds is reported.

* **throughput ratio** = serial wall time / parallel wall time (target ≥ 1.8 on 2 cores);
* **per-task overhead** of an executor = (wall × workers − serial wall) / tasks: the time a
  worker spends on anything but the task itself (start-up, shipping the scenario and the
  result, scheduling, the main process writing the task file, and on this 2-core machine the
  scheduler, nannies and client sharing the cores with the workers); reported as a share of the
  mean task time. ``dask_1_worker`` has one warm worker, the other core left to the scheduler and
  client.
* **Dask's own per-task overhead** (warm clusters; target < 5 %) = (wall × workers − Σ compute) /
  Σ compute, where Σ compute is the time the workers spent inside tasks by Dask's own record
  (``Client.get_task_stream``): what Dask adds to a task (scheduling, shipping the scenario and
  the result, the client writing task files). Separately, **compute in a worker / serial** says
  how fast the same tasks compute in a worker process against this process, which is not Dask's
  doing but shows in the end-to-end ratio.
* **account-years per CPU-second** of a task, from the serial run: what the cost arithmetic of a
  large sweep scales with.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
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
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds; each executor is set against the serial run of its round and the median "
                             "ratio over rounds is reported (the machine's speed drifts between rounds)")
    args = parser.parse_args()

    from csim.sweep import build_sweep, run_sweep
    from csim.sweep.tables import results_table

    sweep = build_sweep(ROOT / "scenarios" / "renewal_focus.toml",
                        ["cs_team.headcount=2:8", "segments.smb.annual_churn=0.1:0.4"],
                        versus_path=ROOT / "scenarios" / "expansion_focus.toml", design="lhs",
                        points=args.points, reps=args.reps, seed=11)
    n = len(sweep.tasks())
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    rounds: list[dict] = []
    tables = {}

    def timed(timings, name, **kwargs):
        out = work / name
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        counts = run_sweep(sweep, out, workers=args.workers, progress=False, **kwargs)
        timings[name] = time.perf_counter() - started
        assert counts["computed"] == n
        tables[name] = results_table(out)
        print(f"{name:14s} {n} tasks in {timings[name]:.1f} s", flush=True)

    import dask
    from dask.distributed import Client, LocalCluster

    from csim.engine.runner import local_worker_environ

    def standing_cluster(workers):
        # Workers as csim starts them (csim.engine.runner.dask_client), with csim imported.
        with dask.config.set({"distributed.nanny.pre-spawn-environ": local_worker_environ()}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
        client = Client(cluster)
        client.run(lambda: __import__("csim.sweep.tasks") and None)
        client.get_task_stream()  # starts the scheduler's record of task start and stop times
        return cluster, client

    def compute_seconds(client) -> float:
        """Seconds the workers spent inside the tasks (Dask's own record of each task's compute)."""
        return sum(ss["stop"] - ss["start"] for task in client.get_task_stream()
                   for ss in task["startstops"] if ss["action"] == "compute")

    try:
        for r in range(args.repeat):
            timings: dict = {}
            timed(timings, "serial", executor="serial")
            # Cold: the executor starts inside the timed region (a new process pool, a new LocalCluster).
            timed(timings, "local_cold", executor="local")
            if r == 0:
                timed(timings, "dask_cold", executor="dask")
            # Warm: a Dask cluster started first, csim imported on its workers, reached by address,
            # as a standing cluster is. With one worker the scheduler, nanny and client have the
            # other core to themselves: wall - serial is then Dask's own per-task cost.
            for name, workers in (("dask_warm", args.workers), ("dask_1_worker", 1)):
                cluster, client = standing_cluster(workers)
                with cluster, client:
                    timed(timings, name, executor="dask", scheduler=cluster.scheduler_address)
                    timings[f"{name}_compute"] = compute_seconds(client)
            rounds.append(timings)
        for name in tables:
            pd.testing.assert_frame_equal(tables["serial"], tables[name], check_exact=True)
        account_years = _account_years(sweep)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # Each executor is set against the serial run of its own round (the machine's speed drifts
    # between rounds); the median over rounds is reported.
    def median(values):
        return float(statistics.median(values))

    task = median([t["serial"] / n for t in rounds])
    result = {"tasks": n, "workers": args.workers, "cpus": os.cpu_count(), "rounds": len(rounds),
              "serial_s": [t["serial"] for t in rounds], "task_s": task, "account_years_per_task": account_years,
              "account_years_per_cpu_s": account_years / task}
    for name, workers in (("local_cold", args.workers), ("dask_cold", args.workers), ("dask_warm", args.workers),
                          ("dask_1_worker", 1)):
        measured = [t for t in rounds if name in t]
        result[f"{name}_s"] = [t[name] for t in measured]
        result[f"{name}_speedup"] = median([t["serial"] / t[name] for t in measured])
        result[f"{name}_overhead_share"] = median([(t[name] * workers - t["serial"]) / t["serial"] for t in measured])
        if f"{name}_compute" in measured[0]:
            # Dask's own per-task cost: worker time not spent inside a task (scheduling, shipping
            # the scenario and the result, the client writing task files), against the task time
            # measured in the same workers; and how fast the same tasks compute in a worker
            # process against the serial run in this one.
            result[f"{name}_dask_overhead_share"] = median(
                [(t[name] * workers - t[f"{name}_compute"]) / t[f"{name}_compute"] for t in measured])
            result[f"{name}_compute_vs_serial"] = median([t[f"{name}_compute"] / t["serial"] for t in measured])
    # The arithmetic of a large sweep: 1,000 points × 10 replications × 2 scenarios of a
    # 100,000-account book for 5 years, at this machine's account-years per CPU-second.
    big_task = 100_000 * 5 / result["account_years_per_cpu_s"]
    big_cpu_s = 1000 * 10 * 2 * big_task * (1 + max(result["dask_1_worker_overhead_share"], 0))
    result["big_sweep"] = {"task_s": big_task, "cpu_hours": big_cpu_s / 3600,
                           "workers_for_one_hour": math.ceil(big_cpu_s / 3600)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
