"""Provenance and JSON output shared by every command that writes results.

Every number csim writes carries the facts needed to reproduce it: package version, scenario
name, file and content hash, strategy, seed, replications and horizon.
"""

from __future__ import annotations

import json
import os

from csim import __version__
from csim.io import atomic_write_text

__all__ = ["run_provenance", "json_default", "strict_json_data", "write_json"]


def run_provenance(scenario, seed: int, reps: int, source: str | os.PathLike | None = None,
                   overrides: dict | None = None) -> dict:
    """The facts behind one scenario's results (JSON-ready).

    ``overrides`` are the ``--set`` values applied on top of the file (``{"cs_team.headcount": 8}``):
    without them the file name would claim a scenario the run did not simulate.
    """
    return {
        "package_version": __version__,
        "scenario_name": scenario.name,
        "scenario_file": str(source) if source else None,
        "overrides": dict(overrides or {}),
        "scenario_hash": scenario.content_hash(),
        "strategy": scenario.strategy.name,
        "seed": int(seed),
        "replications": int(reps),
        "horizon_months": scenario.horizon_months,
    }


def json_default(value):
    """``json.dumps`` hook for numpy scalars and arrays."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


#: Why a number is written as ``null``: JSON has no NaN or infinity, and a reader must not guess.
UNDEFINED_REASONS = {
    "nan": "undefined: the statistic needs more than the run has (an interval from one replication, a ratio "
           "with nothing at risk, a metric of an empty group)",
    "inf": "infinite",
    "-inf": "minus infinite",
}


def strict_json_data(data, reasons: dict[str, str] | None = None):
    """``data`` with every NaN or infinite float replaced by ``None``.

    When ``data`` is a dict and something was replaced, it gains a key ``"null_reasons"``: the
    dotted path of each replaced value and why it is null (``reasons`` maps a path, or the last
    key of one, to a specific reason; otherwise :data:`UNDEFINED_REASONS`).
    """
    import math

    import numpy as np

    found: dict[str, str] = {}

    def walk(value, path: str):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            kind = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
            last = path.rsplit(".", 1)[-1]
            found[path] = (reasons or {}).get(path) or (reasons or {}).get(last) or UNDEFINED_REASONS[kind]
            return None
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    clean = walk(data, "")
    if found and isinstance(clean, dict):
        clean["null_reasons"] = {**clean.get("null_reasons", {}), **found}
    return clean


def write_json(path: str | os.PathLike, data, reasons: dict[str, str] | None = None) -> None:
    """Write ``data`` as indented, strict JSON atomically.

    Strict: no ``NaN`` or ``Infinity`` tokens (which most JSON readers reject); such values are
    ``null`` and listed with their reason under ``"null_reasons"`` (see :func:`strict_json_data`).
    """
    text = json.dumps(strict_json_data(data, reasons), indent=2, default=json_default, allow_nan=False)
    atomic_write_text(path, text + "\n")
