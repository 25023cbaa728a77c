"""Atomic outputs: a reader never sees a half-written file, a failed command never a partial set.

Every writer goes through :func:`atomic_path`: the content is written to a temporary file in the
same directory (so the final ``os.replace`` is a rename on one file system, which POSIX makes
atomic) and only then moved over the destination. If writing fails, the temporary file is
removed and the destination is left as it was. Files get the mode an ordinary ``open`` would
give them (0666 less the umask), not the private 0600 of a temporary file.

A command's output folder is built whole in a staging folder next to it and swapped in at the
end (:func:`staged_output`; :func:`checkpointed_output` for commands that checkpoint
replications), so a failure leaves the previous complete output or nothing.
:func:`check_output_dir` refuses an unusable ``--out`` before any work starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_csv", "atomic_write_text", "check_output_dir",
           "checkpointed_output", "partial_folder", "staged_output", "CHECKPOINTS"]


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


#: Files that mark a folder as a previous csim output, which a command may replace whole.
OUTPUT_MARKS = frozenset({"report.md", "summary.json", "comparison.json", "forecast.json", "sweep.json"})


def check_output_dir(path: str | os.PathLike, option: str = "--out",
                     inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Refuse an output folder that cannot be used, before any work is done; create nothing.

    Raises :class:`csim.errors.InputError` naming ``path`` and ``option`` when ``path`` is an
    existing file; when the folder would have to be created under a file or in a place this
    process cannot write; when it holds one of the command's ``inputs``; or when it is a
    non-empty folder that is not a previous csim output (none of :data:`OUTPUT_MARKS`): outputs
    replace the folder whole, and a home or project folder must never be replaced.
    """
    from csim.errors import InputError

    if not str(path).strip():
        raise InputError(option, None, "give a folder name")
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(target, option, "exists and is not a folder; give a folder name")
    resolved = target.resolve()
    for given in inputs:
        if given is not None and (resolved == Path(given).resolve() or resolved in Path(given).resolve().parents):
            raise InputError(target, option, f"holds the input {given} and would be replaced; give another folder")
    if target.is_dir():
        entries = sorted(p.name for p in target.iterdir() if p.name != CHECKPOINTS)
        if entries and not OUTPUT_MARKS & set(entries):
            raise InputError(target, option, f"holds other files ({entries[0]!r}{', …' if len(entries) > 1 else ''}) "
                                             "and an output replaces its folder whole; give a new or empty folder, "
                                             "or a previous csim output")
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
def staged_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder next to ``path``; on success it becomes ``path``.

    Write every output file into the yielded folder. On normal exit the previous ``path`` (if
    any) is replaced by it (:func:`_swap_into`). On an exception the staging folder is removed
    and ``path`` is left exactly as it was.
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
    _swap_into(staging, target)


def _swap_into(staging: Path, target: Path) -> None:
    """Put the finished folder ``staging`` in place of ``target`` with two renames; the previous
    ``target`` (if any) is moved aside first and deleted after."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, old / "previous")
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


#: Where ``csim run`` and ``csim compare`` keep each finished replication.
CHECKPOINTS = ".replications"


def partial_folder(path: str | os.PathLike) -> Path:
    """The folder a simulating command builds ``path`` in: ``.NAME.partial`` next to it."""
    target = Path(path)
    return target.parent / f".{target.name}.partial"


@contextmanager
def checkpointed_output(path: str | os.PathLike, *, keep_checkpoints: bool = False) -> Iterator[tuple[Path, Path]]:
    """Yield ``(staging, checkpoints)`` for a command that simulates, then writes its outputs.

    The outputs are built in ``.NAME.partial`` next to ``path`` and swapped in whole at the end,
    so until then ``path`` keeps its previous content. Replications are checkpointed in
    ``.NAME.partial/.replications`` as they finish: after an interruption or an unexpected error
    that folder stays (with nothing else in it) and a rerun resumes from it. Checkpoints kept in
    ``path/.replications`` by an earlier run (``keep_checkpoints``) are reused too (hard links,
    so the previous output is not touched). After success the checkpoints are removed unless
    ``keep_checkpoints``. A run that fails on its input (:class:`~csim.errors.InputError`,
    :class:`~csim.errors.LimitError`) leaves nothing: rerunning it would fail the same way.
    """
    from csim.errors import InputError, LimitError

    target = Path(path)
    check_output_dir(target)
    staging = partial_folder(target)
    staging.mkdir(parents=True, exist_ok=True)
    os.chmod(staging, 0o777 & ~_umask())
    _clear(staging, keep=CHECKPOINTS)  # result files of an earlier failed attempt
    checkpoints = staging / CHECKPOINTS
    kept = target / CHECKPOINTS
    if kept.is_dir():
        shutil.copytree(kept, checkpoints, copy_function=_link_or_copy, dirs_exist_ok=True)
    try:
        yield staging, checkpoints
    except (InputError, LimitError):
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except BaseException:
        _clear(staging, keep=CHECKPOINTS)
        if not any(staging.iterdir()):
            staging.rmdir()
        raise
    if not keep_checkpoints:
        shutil.rmtree(checkpoints, ignore_errors=True)
    _swap_into(staging, target)


def _clear(folder: Path, keep: str) -> None:
    for entry in folder.iterdir():
        if entry.name != keep:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def _link_or_copy(src: str, dst: str) -> None:
    if os.path.exists(dst):
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
