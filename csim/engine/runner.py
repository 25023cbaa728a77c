"""Run many replications: serially, on local processes (joblib) or on a Dask cluster.

Replication ``r`` always draws from ``SeedSequence(seed, spawn_key=(r, ...))``, so the records are
identical whatever the executor or the number of workers. With ``checkpoint_dir`` every finished
replication is saved atomically; a rerun with the same scenario and seed loads those and runs
only the missing ones (resume after an interruption).
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Literal

import numpy as np

from csim.engine.world import run_meta, simulate_replication
from csim.io import atomic_path
from csim.records import TABLES, Records
from csim.scenario.model import Scenario

Executor = Literal["auto", "serial", "joblib", "dask"]


def _checkpoint_file(checkpoint_dir: Path, scenario: Scenario, seed: int, replication: int) -> Path:
    # The records schema is part of the key: a checkpoint written by a version with other columns is not reused.
    schema = hashlib.sha256(json.dumps(TABLES, sort_keys=True).encode()).hexdigest()[:8]
    return checkpoint_dir / f"{scenario.content_hash()[:16]}-seed{seed}-records{schema}" / f"replication-{replication:05d}.npz"


def _save(records: Records, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{table}/{col}": getattr(records, table)[col] for table in TABLES for col in TABLES[table]}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def _load(path: Path, scenario: Scenario) -> Records:
    with np.load(path) as data:
        tables = {table: {col: data[f"{table}/{col}"] for col in TABLES[table]} for table in TABLES}
    return Records(horizon_days=scenario.horizon_days, segments=tuple(s.name for s in scenario.segments),
                   meta=run_meta(scenario), **tables)


def _one(scenario: Scenario, replication: int, seed: int, checkpoint: str | None, on_month=None) -> Records:
    records = simulate_replication(scenario, replication, seed, on_month)
    if checkpoint is not None:
        _save(records, Path(checkpoint))
    return records


def simulate(
    scenario: Scenario,
    replications: int | Iterable[int] | None = None,
    seed: int | None = None,
    *,
    executor: Executor = "auto",
    workers: int | None = None,
    scheduler: str | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Records:
    """Simulate replications of ``scenario`` and return their records stacked.

    Parameters
    ----------
    replications:
        A count (replications 0..n-1) or explicit replication numbers; default the scenario's.
    seed:
        Root seed; default the scenario's.
    executor:
        ``"serial"`` (one process), ``"joblib"`` (local processes), ``"dask"`` (a
        ``dask.distributed`` cluster at ``scheduler``, or a local one of ``workers`` processes), or
        ``"auto"``: joblib when there are several replications and more than one worker, else serial.
    workers:
        Local processes for joblib / a local Dask cluster (default: CPU count).
    checkpoint_dir:
        Save each replication there and reuse saved ones (resume).
    progress:
        Show a progress bar (it appears only on runs longer than a second).
    """
    from tqdm.auto import tqdm

    seed = scenario.seed if seed is None else int(seed)
    reps = list(range(scenario.replications if replications is None else replications)) \
        if replications is None or isinstance(replications, int) else [int(r) for r in replications]
    done: dict[int, Records] = {}
    paths: dict[int, str | None] = {r: None for r in reps}
    if checkpoint_dir is not None:
        for r in reps:
            path = _checkpoint_file(Path(checkpoint_dir), scenario, seed, r)
            paths[r] = str(path)
            if path.exists():
                done[r] = _load(path, scenario)
    todo = [r for r in reps if r not in done]
    workers = workers or os.cpu_count() or 1
    if executor == "auto":
        executor = "joblib" if len(todo) > 1 and workers > 1 else "serial"
    months = scenario.horizon_months
    # Counted in simulated months so that even a single long replication shows progress.
    bar = tqdm(total=len(reps) * months, initial=len(done) * months, unit="month", desc=scenario.name,
               delay=1.0, disable=not progress)
    try:
        if executor == "serial" or len(todo) <= 1:
            for r in todo:
                done[r] = _one(scenario, r, seed, paths[r], on_month=lambda: bar.update(1))
        elif executor == "joblib":
            from joblib import Parallel, delayed

            jobs = Parallel(n_jobs=min(workers, len(todo)), return_as="generator")(
                delayed(_one)(scenario, r, seed, paths[r]) for r in todo)
            for r, records in zip(todo, jobs):
                done[r] = records
                bar.update(months)
        elif executor == "dask":
            _run_dask(scenario, todo, seed, paths, done, bar, workers, scheduler)
        else:
            raise ValueError(f"unknown executor {executor!r}")
    finally:
        bar.close()
    return Records.concat([done[r] for r in reps])


@contextmanager
def dask_client(workers: int, scheduler: str | None = None):
    """A ``dask.distributed`` client of the cluster at ``scheduler`` (``tcp://HOST:PORT``), or of a
    local cluster of ``workers`` single-threaded processes started here and closed on exit."""
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_dask(scenario, todo, seed, paths, done, bar, workers, scheduler) -> None:
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        futures = {client.submit(_one, scenario, r, seed, paths[r], pure=False): r for r in todo}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            bar.update(scenario.horizon_months)
