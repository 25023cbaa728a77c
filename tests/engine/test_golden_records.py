"""Engine refactorings leave the records bit-identical (hashes made by golden/make_golden.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.golden.make_golden import golden, versions

STORED = json.loads((Path(__file__).parent / "golden" / "records_sha256.json").read_text(encoding="utf-8"))


def test_records_are_bit_identical_to_the_golden_hashes():
    if STORED["versions"] != versions():
        pytest.skip(f"golden hashes made with {STORED['versions']}, these libraries are {versions()}: "
                    "the last bits of exp/log may differ; regenerate with tests/engine/golden/make_golden.py")
    assert golden()["sha256"] == STORED["sha256"]
