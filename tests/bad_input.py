"""Shared checks for the bad-input corpus: one line, exit 2, names, nothing written, no traceback.

Every command is run in-process through :func:`csim.cli.main` (an uncaught exception fails the
test by itself) with stderr captured by pytest's ``capsys``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from csim.cli import main


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file under ``folder`` with its bytes (None when the folder does not exist)."""
    folder = Path(folder)
    if not folder.exists():
        return None
    if not folder.is_dir():
        return {"": folder.read_bytes()}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def staging_leftovers(folder: Path) -> list[str]:
    """Staging folders of :func:`csim.io.staged_output` left next to ``folder``."""
    folder = Path(folder)
    if not folder.parent.exists():
        return []
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.new-")
                  or p.name.startswith(f".{folder.name}.old-") or p.name == f".{folder.name}.partial")


def assert_bad_input(capsys, argv: Sequence[str], out: Path, names: Sequence[str] = ()) -> str:
    """Run ``csim ARGV``; assert exit 2, exactly one stderr line ``csim: error: …`` containing every
    string in ``names``, no traceback, and ``out`` byte-for-byte as it was. Returns the line."""
    before = snapshot(out)
    capsys.readouterr()
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err, err
    assert status == 2, f"exit {status}; stderr: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}: {err!r}"
    line = lines[0]
    assert line.startswith("csim: error: "), line
    for name in names:
        assert str(name) in line, f"{name!r} not named in {line!r}"
    assert snapshot(out) == before, "the output folder changed"
    assert staging_leftovers(out) == [], staging_leftovers(out)
    return line
