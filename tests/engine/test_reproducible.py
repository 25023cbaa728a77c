"""Same seed → identical records whatever the executor or replication order; another seed → not."""

from __future__ import annotations

import numpy as np
import pytest

from csim.engine.runner import simulate
from csim.engine.world import simulate_replication
from csim.records import EVENT_KINDS, TABLES, Records
from tests.engine.scenarios import CS_WORLD, merge, scenario

#: The CS world, shortened; a cadence tech-touch that may close expansions adds touch-driven MRR.
BUSY = merge(CS_WORLD, {
    "horizon_months": 9, "seed": 4242, "initial_book": {"customers": 100},
    "reactivation": {"prob_voluntary": 0.3, "prob_involuntary": 0.5},
    "strategy": {"plays": [*CS_WORLD["strategy"]["plays"], {
        "touch": "tech_touch", "trigger": "cadence", "every_days": 45.0, "csm_hours": 0.0,
        "effect": {"expansion_prob": 0.1}}]},
})


def assert_same_records(a: Records, b: Records) -> None:
    """Every table, every column, bit for bit (NaN in the same places)."""
    assert a.horizon_days == b.horizon_days and a.segments == b.segments and a.meta == b.meta
    for name, schema in TABLES.items():
        for col in schema:
            x, y = getattr(a, name)[col], getattr(b, name)[col]
            assert x.dtype == y.dtype, (name, col)
            equal_nan = x.dtype.kind == "f"
            assert np.array_equal(x, y, equal_nan=equal_nan), (name, col)


def _replication(rec: Records, r: int) -> Records:
    parts = {name: {c: v[getattr(rec, name)["replication"] == r] for c, v in getattr(rec, name).items()}
             for name in TABLES}
    return Records(horizon_days=rec.horizon_days, segments=rec.segments, meta=rec.meta, **parts)


@pytest.fixture(scope="module")
def serial() -> Records:
    return simulate(scenario(**BUSY), 3, executor="serial", progress=False)


def test_the_world_is_busy(serial):
    # The comparison means something only if every table has rows and MRR moves every way.
    for name in TABLES:
        assert len(getattr(serial, name)["replication"]) > 0, name
    kinds = set(serial.events["kind"].tolist())
    for kind in ("start", "expansion", "contraction", "churn", "churn_involuntary", "renewal", "reactivation"):
        assert EVENT_KINDS.index(kind) in kinds, kind
    fv_day = serial.accounts["first_value_day"]
    assert np.isnan(fv_day).any() and not np.isnan(fv_day).all()  # NaN positions are compared too


def test_serial_equals_joblib(serial):
    parallel = simulate(scenario(**BUSY), 3, executor="joblib", workers=2, progress=False)
    assert_same_records(serial, parallel)


def test_replication_order_does_not_matter(serial):
    shuffled = simulate(scenario(**BUSY), [2, 0, 1], executor="serial", progress=False)
    for r in range(3):
        assert_same_records(_replication(serial, r), _replication(shuffled, r))
    # One replication on its own is the same as inside a batch.
    assert_same_records(_replication(serial, 1), simulate_replication(scenario(**BUSY), 1))


def test_same_seed_same_records(serial):
    # The default executor picks serial or joblib by itself: the records must not care.
    assert_same_records(serial, simulate(scenario(**BUSY), 3, progress=False))


def test_other_seed_or_replication_differs(serial):
    other = simulate(scenario(**BUSY), 3, seed=4243, executor="serial", progress=False)
    assert not np.array_equal(serial.accounts["initial_mrr"], other.accounts["initial_mrr"])
    assert not np.array_equal(serial.leads["arrived"], other.leads["arrived"])
    r0, r1 = _replication(serial, 0), _replication(serial, 1)
    n = min(len(r0.accounts["initial_mrr"]), len(r1.accounts["initial_mrr"]))
    assert not np.array_equal(r0.accounts["initial_mrr"][:n], r1.accounts["initial_mrr"][:n])
