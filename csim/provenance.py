"""Provenance and JSON output shared by every command that writes results.

Every number csim writes carries the facts needed to reproduce it: package version, scenario
name, file and content hash, strategy, seed, replications and horizon.
"""

from __future__ import annotations

import json
import os

from csim import __version__
from csim.io import atomic_write_text

__all__ = ["run_provenance", "json_default", "write_json"]


def run_provenance(scenario, seed: int, reps: int, source: str | os.PathLike | None = None) -> dict:
    """The facts behind one scenario's results (JSON-ready)."""
    return {
        "package_version": __version__,
        "scenario_name": scenario.name,
        "scenario_file": str(source) if source else None,
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


def write_json(path: str | os.PathLike, data) -> None:
    """Write ``data`` as indented JSON atomically (NaN stays NaN, as Python's json writes it)."""
    atomic_write_text(path, json.dumps(data, indent=2, default=json_default, allow_nan=True))
