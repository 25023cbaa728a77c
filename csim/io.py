"""Atomic outputs: a reader never sees a half-written file, a failed command never a partial set.

Every writer goes through :func:`atomic_path`: the content is written to a temporary file in the
same directory (so the final ``os.replace`` is a rename on one file system, which POSIX makes
atomic) and only then moved over the destination. If writing fails, the temporary file is
removed and the destination is left as it was. Files get the mode an ordinary ``open`` would
give them (0666 less the umask), not the private 0600 of a temporary file.

A command's output folder is built whole in a staging folder next to it and swapped in at the
end (:func:`staged_output`), so a failure leaves the previous complete output or nothing.
:func:`check_output_dir` refuses an unusable ``--out`` before any work starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_csv", "atomic_write_text", "check_output_dir",
           "checkpointed_output", "staged_output", "CHECKPOINTS"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    # Flush the data to disk before the rename, or a crash could leave a renamed empty file.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on normal exit move it over ``path``.

    Write the whole file to the yielded path inside the ``with`` block (any library that takes a
    file name works: pyarrow, matplotlib, ``Path.write_text``). The parent directory is created
    if missing. On an exception the temporary file is deleted and ``path`` is untouched.

    Parameters
    ----------
    path:
        Final destination.
    durable:
        fsync the file before the rename (set False for throw-away files in tests).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file 0600; results are for colleagues and web servers too.
        os.chmod(tmp, 0o666 & ~_umask())
        yield tmp
        if durable:
            _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically; return the destination path."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(
    path: str | os.PathLike, text: str, *, encoding: str = "utf-8", durable: bool = True
) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default); return the destination path."""
    return atomic_write_bytes(path, text.encode(encoding), durable=durable)


def atomic_write_csv(frame, path: str | os.PathLike, *, index: bool = False, durable: bool = True) -> Path:
    """Write a pandas DataFrame to ``path`` as CSV atomically; return the destination path.

    ``frame`` is only asked for ``to_csv``, so this module stays free of a pandas import.
    """
    with atomic_path(path, durable=durable) as tmp:
        frame.to_csv(tmp, index=index)
    return Path(path)


def check_output_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Refuse an output folder that cannot be used, before any work is done; create nothing.

    Raises :class:`csim.errors.InputError` naming ``path`` and ``option`` when ``path`` is an
    existing file, or when the folder would have to be created under a file or in a place this
    process cannot write.
    """
    from csim.errors import InputError

    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(target, option, "exists and is not a folder; give a folder name")
    probe = target if target.exists() else target.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(target, option, f"cannot create a folder under {probe}, which is a file")
    try:  # os.access says yes to root even on read-only file systems such as /proc: try it
        os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".csim-probe-"))
    except OSError as exc:
        raise InputError(target, option, f"cannot write in {probe} ({exc.strerror or type(exc).__name__})") from None
    return target


@contextmanager
def staged_output(path: str | os.PathLike, *, keep: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield an empty staging folder next to ``path``; on success it becomes ``path``.

    Write every output file into the yielded folder. On normal exit the previous ``path`` (if
    any) is replaced by it in two renames; entries of the previous folder named in ``keep`` (e.g.
    checkpoints) are carried over unless the new output has its own. On an exception the
    staging folder is removed and ``path`` is left exactly as it was.
    """
    target = Path(path)
    check_output_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
    os.chmod(staging, 0o777 & ~_umask())
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, old / "previous")
        old_root = old / "previous"
        for name in keep:
            if (old_root / name).exists() and not (staging / name).exists():
                os.replace(old_root / name, staging / name)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


#: Where ``csim run`` and ``csim compare`` keep each finished replication while they work.
CHECKPOINTS = ".replications"


@contextmanager
def checkpointed_output(path: str | os.PathLike, *, keep_checkpoints: bool = False) -> Iterator[tuple[Path, Path]]:
    """Yield ``(staging, checkpoints)`` for a command that simulates, then writes its outputs.

    Replications are checkpointed in ``path/.replications`` as they finish (a rerun after an
    interruption resumes from them); the outputs are written into ``staging`` and swapped in
    whole at the end (:func:`staged_output`). After success the checkpoints are removed unless
    ``keep_checkpoints``. If the command fails before anything was there, the folder it made for
    its checkpoints is removed again, unless it was interrupted (then they are kept for resuming).
    """
    target = Path(path)
    check_output_dir(target)
    existed = target.exists()
    try:
        with staged_output(target, keep=(CHECKPOINTS,) if keep_checkpoints else ()) as staging:
            yield staging, target / CHECKPOINTS
    except KeyboardInterrupt:
        raise
    except BaseException:
        if not existed and target.is_dir() and [p.name for p in target.iterdir()] in ([], [CHECKPOINTS]):
            shutil.rmtree(target, ignore_errors=True)
        raise
