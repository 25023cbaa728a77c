"""A sweep's result directory: bound to one definition, one file per finished task, resumable.

Layout of ``DIR``::

    sweep.json              the definition (parameters, design, seeds, scenario hashes) and the points
    tasks/p00012-base-r003.json   one finished task: its metrics (written atomically)
    results.parquet/.csv    one row per point x side x replication (built from tasks/)
    points.csv              per point and side: means with 95 % intervals

A task file appears only once the task is complete (write to a temporary name, then rename), so
a sweep killed at any moment leaves only whole tasks behind, and rerunning the same command
computes exactly the missing ones. Floats are stored as JSON text, which round-trips a double
exactly, so the tables are bit-identical whichever executor computed the tasks. A damaged task
file is discarded with a notice and its task computed again.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from csim.errors import InputError
from csim.io import atomic_write_text, check_output_dir
from csim.provenance import json_default, strict_json_data

__all__ = ["bind", "task_path", "finished", "save_task", "load_task", "read_definition"]

DEFINITION = "sweep.json"


def task_path(out: Path, point: int, side: str, replication: int) -> Path:
    return Path(out) / "tasks" / f"p{point:05d}-{side}-r{replication:04d}.json"


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(old) | set(new))
    out = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key} ({json.dumps(a, default=str)} here, {json.dumps(b, default=str)} now)")
    return out


def bind(out: Path, definition: dict, points: list[dict]) -> bool:
    """Bind ``out`` to ``definition``: write it to a new directory, or check an existing one.

    Returns True if the directory already held this sweep (a resume). Raises
    :class:`InputError` naming what differs if it holds another sweep.
    """
    out = Path(out)
    check_output_dir(out)
    path = out / DEFINITION
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InputError(path, None, "not a readable sweep definition; use another --out") from None
        differ = _differences(stored.get("definition", {}), json.loads(json.dumps(definition, default=json_default)))
        if differ:
            more = f" (and {len(differ) - 2} more)" if len(differ) > 2 else ""
            raise InputError(out, None, "holds a different sweep: " + "; ".join(differ[:2]) + more
                             + "; use another --out, or the same definition to resume")
        return True
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(strict_json_data({"definition": definition, "points": points}), indent=2,
                                       default=json_default, allow_nan=False))
    return False


def read_definition(out: Path) -> dict:
    """The stored ``{"definition", "points"}`` of a sweep directory."""
    path = Path(out) / DEFINITION
    if not path.exists():
        raise InputError(out, None, f"not a sweep directory (no {DEFINITION})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(path, None, f"not valid JSON ({exc})") from None


def finished(out: Path) -> set[str]:
    """Names of the task files present and readable (finished tasks).

    A damaged task file (cut short by a crash of the machine, or edited) is removed with a
    one-line notice on stderr, so the task is computed again instead of stopping the sweep.
    """
    folder = Path(out) / "tasks"
    if not folder.exists():
        return set()
    names = set()
    for path in sorted(folder.glob("p*.json")):
        try:
            load_task(path)
        except InputError as exc:
            path.unlink(missing_ok=True)
            print(f"csim: notice: discarded a damaged task file {path} ({exc.problem}); recomputing it",
                  file=sys.stderr)
            continue
        names.add(path.name)
    return names


def save_task(out: Path, point: int, side: str, replication: int, result: dict) -> None:
    """Write one task's metrics atomically, as strict JSON (an undefined metric is null)."""
    record = {"point": point, "side": side, "replication": replication, **result}
    text = json.dumps(strict_json_data(record), default=json_default, allow_nan=False)
    atomic_write_text(task_path(out, point, side, replication), text)


def load_task(path: Path) -> dict:
    """One task's record; its null metrics read back as NaN."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        metrics = record["metrics"]
        record["metrics"] = {k: math.nan if v is None else float(v) for k, v in metrics.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(path, None, f"task file is damaged ({type(exc).__name__})") from None
    return record
