"""Atomic file writes: a reader never sees a half-written result file.

Every writer goes through :func:`atomic_path`: the content is written to a temporary file in the
same directory (so the final ``os.replace`` is a rename on one file system, which POSIX makes
atomic) and only then moved over the destination. If writing fails, the temporary file is
removed and the destination is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


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
