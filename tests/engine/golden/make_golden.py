"""Write records_sha256.json: a SHA-256 of every records table for a few scenarios.

    python tests/engine/golden/make_golden.py

The golden test (tests/engine/test_golden_records.py) recomputes the hashes: a refactoring of the
engine that claims to leave behaviour alone must leave them equal. A change that is meant to
change the records regenerates the file with this script, in the same commit, saying why.
Hashes depend on the numerical libraries' last bits (exp, log, random streams), so the file
records their versions and the test runs only where they match.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import scipy
import simpy

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
SCENARIOS = ("baseline", "renewal_focus", "expansion_focus", "save_desk", "segmented")
OVERRIDES = ["horizon_months=24"]
REPLICATIONS = 2
SEED = 515


def versions() -> dict[str, str]:
    return {"numpy": np.__version__, "scipy": scipy.__version__, "simpy": simpy.__version__}


def table_hashes(records) -> dict[str, str]:
    from csim.records import TABLES

    out = {}
    for table, columns in TABLES.items():
        h = hashlib.sha256()
        for column in columns:
            h.update(column.encode())
            h.update(np.ascontiguousarray(getattr(records, table)[column]).tobytes())
        out[table] = h.hexdigest()
    return out


def golden() -> dict:
    from csim.engine.runner import simulate
    from csim.scenario import load_scenario

    hashes = {}
    for name in SCENARIOS:
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml", OVERRIDES)
        hashes[name] = table_hashes(simulate(scenario, REPLICATIONS, SEED, executor="serial", progress=False))
    return {"versions": versions(), "overrides": OVERRIDES, "replications": REPLICATIONS, "seed": SEED,
            "sha256": hashes}


if __name__ == "__main__":
    (HERE / "records_sha256.json").write_text(json.dumps(golden(), indent=1) + "\n", encoding="utf-8")
