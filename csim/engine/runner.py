"""Run many replications: serially, on local processes or on a Dask cluster.

Replication ``r`` always draws from ``SeedSequence(seed, spawn_key=(r, ...))``, so the records are
identical whatever the executor or the number of workers. With ``checkpoint_dir`` every finished
replication is saved atomically; a rerun with the same scenario and seed loads those and runs
only the missing ones (resume after an interruption), saying so in one line on stderr. A
checkpoint that cannot be read back whole (truncated, empty, not an archive, arrays missing or of
the wrong type) is deleted with a one-line notice and its replication computed again.

Local processes come from :func:`csim.engine.pool.local_pool`, whose workers end with this
process even when it is killed with ``kill -9``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Literal

import numpy as np

from csim.engine.world import run_meta, simulate_replication
from csim.io import atomic_path
from csim.records import TABLES, Records
from csim.scenario.model import Scenario

Executor = Literal["auto", "serial", "local", "joblib", "dask"]

#: Modules the local workers' fork server imports once (the engine and what it imports).
_PRELOAD = ("csim.engine.world",)


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


class _Damaged(Exception):
    """A checkpoint that cannot be read back whole; the message is the short reason."""


def _read(path: Path, scenario: Scenario, replication: int) -> Records:
    """The records saved in checkpoint ``path``; :class:`_Damaged` if they cannot all be read back."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if not magic:
        raise _Damaged("empty file")
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip archive's first member, or an empty one
        raise _Damaged("not an .npz archive")
    try:
        data = np.load(path, allow_pickle=False)
    except zipfile.BadZipFile as exc:
        raise _Damaged("truncated zip archive" if "not a zip file" in str(exc) else f"broken zip archive: {exc}")
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise _Damaged("not an .npz archive")
    with data:
        tables: dict[str, dict[str, np.ndarray]] = {}
        for table, schema in TABLES.items():
            tables[table] = {}
            for col, dtype in schema.items():
                key = f"{table}/{col}"
                if key not in data.files:
                    raise _Damaged(f"no array {key}")
                array = data[key]
                if array.ndim != 1 or array.dtype != np.dtype(dtype):
                    raise _Damaged(f"array {key} is {array.dtype}{list(array.shape)}, not 1-D {np.dtype(dtype)}")
                tables[table][col] = array
    for table, columns in tables.items():
        if len(columns["replication"]) and not (columns["replication"] == replication).all():
            raise _Damaged(f"{table} rows of another replication than {replication}")
    return Records(horizon_days=scenario.horizon_days, segments=tuple(s.name for s in scenario.segments),
                   meta=run_meta(scenario), **tables)


def _load(path: Path, scenario: Scenario, replication: int) -> Records | None:
    """The checkpointed records of ``replication``, or None after discarding a damaged checkpoint.

    Whatever is wrong with the file (truncated by a full disk or a crash of the file system, empty,
    not an archive, arrays missing or of the wrong type or length), it is deleted, one notice line
    goes to stderr and the caller computes the replication again: a checkpoint only saves time.
    """
    try:
        return _read(path, scenario, replication)
    except Exception as exc:  # any unreadable checkpoint is recomputed, never fatal
        reason = str(exc) if isinstance(exc, _Damaged) else f"{type(exc).__name__}: {exc}"
        reason = " ".join(reason.split()) or type(exc).__name__
        if len(reason) > 100:
            reason = reason[:97] + "..."
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # the recomputed replication replaces it atomically anyway
    print(f"csim: notice: discarded a damaged checkpoint {path} ({reason}); recomputing it",
          file=sys.stderr, flush=True)
    return None


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
    say_resumed: bool = True,
) -> Records:
    """Simulate replications of ``scenario`` and return their records stacked.

    Parameters
    ----------
    replications:
        A count (replications 0..n-1) or explicit replication numbers; default the scenario's.
    seed:
        Root seed; default the scenario's.
    executor:
        ``"serial"`` (one process), ``"local"`` (local processes, :func:`csim.engine.pool.local_pool`;
        ``"joblib"`` is another name for it, kept for old command lines), ``"dask"`` (a
        ``dask.distributed`` cluster at ``scheduler``, or a local one of ``workers`` processes), or
        ``"auto"``: local when there are several replications and more than one worker, else serial.
    workers:
        Local processes for local / a local Dask cluster (default: CPU count).
    checkpoint_dir:
        Save each replication there and reuse saved ones (resume; one line on stderr says how many
        were reused). A damaged checkpoint is deleted, with a notice, and recomputed.
    progress:
        Show a progress bar (it appears only on runs longer than a second).
    say_resumed:
        Print the "resumed: …" line (False when a caller reads back replications it ran itself).
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
                records = _load(path, scenario, r)
                if records is not None:
                    done[r] = records
        if done and say_resumed:
            print(f"resumed: {len(done)} of {len(reps)} replications from checkpoints ({checkpoint_dir})",
                  file=sys.stderr, flush=True)
    todo = [r for r in reps if r not in done]
    workers = workers or os.cpu_count() or 1
    if executor == "joblib":
        executor = "local"
    if executor == "auto":
        executor = "local" if len(todo) > 1 and workers > 1 else "serial"
    months = scenario.horizon_months
    # Counted in simulated months so that even a single long replication shows progress.
    bar = tqdm(total=len(reps) * months, initial=len(done) * months, unit="month", desc=scenario.name,
               delay=1.0, disable=not progress)
    try:
        if executor == "serial" or len(todo) <= 1:
            for r in todo:
                done[r] = _one(scenario, r, seed, paths[r], on_month=lambda: bar.update(1))
        elif executor == "local":
            _run_local(scenario, todo, seed, paths, done, bar, workers)
        elif executor == "dask":
            _run_dask(scenario, todo, seed, paths, done, bar, workers, scheduler)
        else:
            raise ValueError(f"unknown executor {executor!r}")
    finally:
        bar.close()
    return Records.concat([done[r] for r in reps])


def _run_local(scenario, todo, seed, paths, done, bar, workers) -> None:
    from concurrent.futures import as_completed

    from csim.engine.pool import local_pool

    with local_pool(min(workers, len(todo)), preload=_PRELOAD) as pool:
        futures = {pool.submit(_one, scenario, r, seed, paths[r]): r for r in todo}
        for future in as_completed(futures):  # a worker's exception is re-raised here, as it was raised
            done[futures[future]] = future.result()
            bar.update(scenario.horizon_months)


@contextmanager
def dask_client(workers: int, scheduler: str | None = None):
    """A ``dask.distributed`` client of the cluster at ``scheduler`` (``tcp://HOST:PORT``), or of a
    local cluster of ``workers`` single-threaded processes started here and closed on exit.

    A scheduler that does not answer within :data:`SCHEDULER_TIMEOUT_SECONDS` is an input error
    naming ``--scheduler``. The local cluster's workers are started without Dask's default
    ``MALLOC_TRIM_THRESHOLD_=65536``: it returns freed memory to the system at once, which costs a
    replication, whose records are allocated and freed by the hundred megabytes, about 4 % more
    CPU (measured: docs/benchmarks.md), and a worker here runs one task at a time anyway. Its
    shutdown chatter ("Worker process still alive after …") is kept off the console.
    """
    import logging

    import dask
    from dask.distributed import Client, LocalCluster

    from csim.errors import InputError

    cluster = None
    quiet = logging.getLogger("distributed")
    level = quiet.level
    if scheduler is None:
        quiet.setLevel(logging.ERROR)
        with dask.config.set({"distributed.nanny.pre-spawn-environ": local_worker_environ()}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
    try:
        client = Client(scheduler or cluster, timeout=SCHEDULER_TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
            quiet.setLevel(level)
            raise
        raise InputError(scheduler, "--scheduler", f"no Dask scheduler answers there within "
                                                   f"{SCHEDULER_TIMEOUT_SECONDS} s ({type(exc).__name__})") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
            quiet.setLevel(level)


def local_worker_environ() -> dict:
    """The environment Dask's nanny gives the workers of a local cluster csim starts: Dask's
    default (one thread for OpenMP, MKL and OpenBLAS) less ``MALLOC_TRIM_THRESHOLD_``."""
    import dask

    return {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
            if k != "MALLOC_TRIM_THRESHOLD_"}


def check_scheduler(scheduler: str) -> None:
    """Connect to the Dask scheduler at ``scheduler`` and leave again: an input error naming
    ``--scheduler`` if it does not answer (for commands that write before they compute)."""
    with dask_client(1, scheduler):
        pass


#: Seconds to wait for a Dask scheduler given by address before giving up.
SCHEDULER_TIMEOUT_SECONDS = 10


def _run_dask(scenario, todo, seed, paths, done, bar, workers, scheduler) -> None:
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        futures = {client.submit(_one, scenario, r, seed, paths[r], pure=False): r for r in todo}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            bar.update(scenario.horizon_months)
