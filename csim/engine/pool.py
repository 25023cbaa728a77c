"""A local process pool whose workers end with the process that started them.

``csim run``, ``csim compare`` (:func:`csim.engine.runner.simulate`) and ``csim sweep``
(:func:`csim.sweep.execute.run_sweep`) run their local work on :func:`local_pool`, a
:class:`concurrent.futures.ProcessPoolExecutor` with two changes:

* **Workers fork from a server that has imported the engine once** (the ``forkserver`` start
  method, with ``preload``): starting a worker costs no imports, and workers live as long as the
  pool. Joblib's loky pool, used before, restarts a worker whose memory grew by more than 300 MB
  (a large replication's records do), and every restart re-imports numpy, pandas, scipy and csim
  (measured on 32 sweep tasks: 2 workers 1.68 × serial with loky, 1.81 × with this pool;
  ``docs/benchmarks.md``).
* **Every worker watches its parent** and exits within :data:`PARENT_CHECK_SECONDS` once it is
  gone. A worker forked from the fork server is not the parent's child, so nothing else tells it
  that a ``kill -9`` took the parent away; without the watch it would run on, holding hundreds of
  MB (loky's workers and resource trackers did, after ``kill -9`` of ``csim run``). The fork
  server and the resource tracker end by themselves once the parent and the workers are gone.

Workers do not run the parent's main script again (as ``multiprocessing`` would, under the name
``__mp_main__``): tasks are functions of csim on csim objects and need nothing from it, so a script
that calls ``csim.run_scenario`` works without an ``if __name__ == "__main__":`` guard, as it did
on loky.

When the ``with`` block ends with an exception (a worker's error re-raised by
``future.result()``, Ctrl-C, a failing consumer), queued tasks are dropped and the workers are
stopped at once rather than left to finish tasks nobody will collect.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator, Sequence

__all__ = ["PARENT_CHECK_SECONDS", "exit_with", "local_pool"]

#: Seconds between a worker's checks that the process that started its pool is still alive.
PARENT_CHECK_SECONDS = 1.0


def exit_with(pid: int) -> None:
    """Worker initializer: end this worker when process ``pid`` (the pool's owner) is gone.

    Starts a daemon thread that checks every :data:`PARENT_CHECK_SECONDS` whether ``pid`` still
    exists and ends the worker (``os._exit(1)``) when it does not.
    """

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):  # gone, or its pid now another user's process
                os._exit(1)

    if os.name == "posix":  # on Windows signal 0 is CTRL_C_EVENT, not a liveness check
        threading.Thread(target=watch, name="csim-parent-watch", daemon=True).start()


_LAUNCH_LOCK = threading.Lock()


@contextmanager
def _without_main() -> Iterator[None]:
    """While a worker of this thread is launched, leave the parent's ``__main__`` out of what the
    worker prepares (``init_main_from_name`` / ``init_main_from_path``), so it does not run the
    parent's script again. Other threads' launches are not affected."""
    from multiprocessing import spawn

    with _LAUNCH_LOCK:
        original = spawn.get_preparation_data
        launcher = threading.get_ident()

        def get_preparation_data(name, *args, **kwargs):
            data = original(name, *args, **kwargs)
            if threading.get_ident() == launcher:
                data.pop("init_main_from_name", None)
                data.pop("init_main_from_path", None)
            return data

        spawn.get_preparation_data = get_preparation_data
        try:
            yield
        finally:
            spawn.get_preparation_data = original


# Two near-identical pairs, written out rather than made by a factory: the process object is
# pickled to the fork server or the new interpreter by its class's module-level name, which a
# class built inside a function does not have.
class _SpawnWorker(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        with _without_main():
            return multiprocessing.context.SpawnProcess._Popen(process_obj)


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnWorker


if hasattr(multiprocessing.context, "ForkServerContext"):  # POSIX
    class _ForkServerWorker(multiprocessing.context.ForkServerProcess):
        @staticmethod
        def _Popen(process_obj):
            with _without_main():
                return multiprocessing.context.ForkServerProcess._Popen(process_obj)

    class _ForkServerContext(multiprocessing.context.ForkServerContext):
        Process = _ForkServerWorker


def _context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = _ForkServerContext()
        if preload:
            # Takes effect when this process starts its fork server, i.e. on its first pool; later
            # pools share that server (and its preloaded modules).
            context.set_forkserver_preload(list(preload))
        return context
    return _SpawnContext()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Drop queued tasks and end the workers now, without waiting for their running tasks."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        try:
            if process.is_alive():
                process.terminate()
        except (OSError, ValueError):  # already gone or closed
            pass


@contextmanager
def local_pool(workers: int, preload: Sequence[str] = ()) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``workers`` processes for the ``with`` block; yields the executor.

    Parameters
    ----------
    workers:
        Worker processes (at least 1); they start as tasks are submitted.
    preload:
        Modules the fork server imports once, before forking workers (e.g. ``csim.engine.world``).
        Only the first pool of a process starts the fork server, so only its list counts.

    Results and exceptions come back as from any :class:`concurrent.futures.Executor`: a
    worker's exception is re-raised, same type and arguments, by ``future.result()``. On a
    normal exit the pool waits for its workers to end; on an exception it drops queued tasks and
    terminates the workers (see the module docstring).
    """
    pool = ProcessPoolExecutor(max_workers=max(1, int(workers)), mp_context=_context(preload),
                               initializer=exit_with, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
