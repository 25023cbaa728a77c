"""Run a sweep's tasks serially, on local processes or on a Dask cluster; save each as it finishes.

Every task is (point, side, replication) and runs :func:`csim.sweep.tasks.run_task` on the
point's validated scenario with replication seed ``(root seed, replication)`` — the same for
every point and both sides (common random numbers). A task's result depends on nothing else, so
the executor and the number of workers change only the order in which tasks finish, never the
tables. Results come back to this process, which writes each one atomically
(:func:`csim.sweep.store.save_task`): workers need no shared file system.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from csim.engine.pool import local_pool
from csim.sweep.spec import Sweep
from csim.sweep.store import bind, finished, save_task, task_path
from csim.sweep.tasks import run_task

__all__ = ["EXECUTORS", "run_sweep"]

EXECUTORS = ("serial", "local", "dask")

Task = tuple[int, str, int]


def _call(task: Task, scenario, seed: int) -> tuple[Task, dict]:
    return task, run_task(scenario, task[2], seed)


def _serial(todo, scenarios, seed) -> Iterator[tuple[Task, dict]]:
    for task in todo:
        yield _call(task, scenarios[task[:2]], seed)


def _local(todo, scenarios, seed, workers) -> Iterator[tuple[Task, dict]]:
    from concurrent.futures import as_completed

    # Workers fork from a server that has imported the engine once and end with the sweep, even
    # after a kill -9 (csim.engine.pool). On an error or an interrupt the queued tasks are dropped.
    preload = ("csim.sweep.tasks", "csim.engine.world", "csim.metrics")
    with local_pool(min(workers, len(todo)), preload=preload) as pool:
        futures = [pool.submit(_call, task, scenarios[task[:2]], seed) for task in todo]
        for future in as_completed(futures):  # each result the moment it exists, whatever finishes first
            yield future.result()


def _dask(todo, scenarios, seed, workers, scheduler) -> Iterator[tuple[Task, dict]]:
    from dask.distributed import as_completed

    from csim.engine.runner import dask_client

    with dask_client(workers, scheduler) as client:
        # Each point's scenario is sent once and shared by its replications' tasks.
        shared = {key: client.scatter(value) for key, value in scenarios.items()}
        futures = [client.submit(_call, task, shared[task[:2]], seed, pure=False) for task in todo]
        for future in as_completed(futures):
            yield future.result()
            future.release()


def run_sweep(sweep: Sweep, out: str | os.PathLike, *, executor: str = "local", workers: int | None = None,
              scheduler: str | None = None, progress: bool = True) -> dict:
    """Compute every task of ``sweep`` not yet in ``out``; return the counts.

    Parameters
    ----------
    sweep:
        The validated sweep (:func:`csim.sweep.spec.build_sweep`).
    out:
        Result directory. A new one is bound to the sweep's definition; an existing one must hold
        the same definition (else :class:`~csim.errors.InputError` saying what differs) and
        only its missing tasks are computed.
    executor:
        ``serial``, ``local`` (``workers`` processes, default: CPU count) or ``dask`` (the
        cluster at ``scheduler``, ``tcp://HOST:PORT``; without one a local cluster of ``workers``).
    progress:
        A progress bar over tasks, with ETA.

    Returns
    -------
    ``{"tasks": all tasks, "already_done": found in out, "computed": run now, "resumed": bool}``
    """
    from tqdm.auto import tqdm

    out = Path(out)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; one of {EXECUTORS}")
    if executor == "dask" and scheduler is not None:
        from csim.engine.runner import check_scheduler

        check_scheduler(scheduler)  # before the directory is bound: a wrong address writes nothing
    resumed = bind(out, sweep.definition(), list(sweep.points))
    done = finished(out)
    tasks = sweep.tasks()
    todo = [t for t in tasks if task_path(out, *t).name not in done]
    scenarios = {key: sweep.scenario(*key) for key in dict.fromkeys(t[:2] for t in todo)}
    workers = workers or os.cpu_count() or 1
    if executor == "serial" or len(todo) <= 1:
        results = _serial(todo, scenarios, sweep.seed)
    elif executor == "local":
        results = _local(todo, scenarios, sweep.seed, workers)
    else:
        results = _dask(todo, scenarios, sweep.seed, workers, scheduler)
    computed = 0
    with tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="task", desc="sweep",
              disable=not progress) as bar:
        for task, result in results:
            save_task(out, *task, result)
            computed += 1
            bar.update(1)
    return {"tasks": len(tasks), "already_done": len(tasks) - len(todo), "computed": computed, "resumed": resumed}
