"""Decoded frames, Parquet files and atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from csim.io import atomic_path, atomic_write_bytes, atomic_write_text
from csim.tables import to_frame, write_parquet

from .builders import mrr_event, records


def book():
    return records(
        [mrr_event(1, 0.0, 0, 12345, "opening"), {**mrr_event(1, 40.0, 12345, 0), "stage": 2, "segment": 1}],
        accounts=[{"account": 1, "channel": "initial", "segment": 1, "initial_mrr": 12345, "start": -100.0}],
        leads=[{"lead": 0, "arrived": 1.0, "closed": 3.0, "outcome": "word_of_mouth", "channel": "referral", "cost": 9.5}],
        touches=[{"account": 1, "requested": 1.0, "outcome": "cancelled"}],
    )


def test_to_frame_decodes_codes_and_money():
    events = to_frame(book(), "events")
    assert events["kind"].tolist() == ["opening", "churn"]
    assert events["stage"].tolist() == ["onboarding", "renewal"]
    assert events["segment"].tolist() == ["smb", "enterprise"]
    assert events["mrr_after"].tolist() == [123.45, 0.0]
    assert list(events["kind"].cat.categories[:3]) == ["opening", "start", "first_value"]
    accounts = to_frame(book(), "accounts")
    assert accounts["channel"].tolist() == ["initial"] and accounts["initial_mrr"].tolist() == [123.45]
    leads = to_frame(book(), "leads")
    assert leads["outcome"].tolist() == ["word_of_mouth"] and leads["cost"].tolist() == [9.5]
    assert to_frame(book(), "touches")["outcome"].tolist() == ["cancelled"]


def test_to_frame_raw_keeps_codes_and_cents():
    events = to_frame(book(), "events", decode=False)
    assert events["kind"].tolist() == [0, 8] and events["mrr_after"].tolist() == [12345, 0]


def test_to_frame_rejects_bad_codes_and_tables():
    bad = book()
    bad.events["kind"][0] = 99
    with pytest.raises(ValueError, match="events.kind: code 99"):
        to_frame(bad, "events")
    with pytest.raises(ValueError, match="unknown table"):
        to_frame(book(), "customers")


def test_empty_table_frame():
    frame = to_frame(records(), "events")
    assert frame.empty and "kind" in frame.columns


def test_write_parquet_round_trip(tmp_path):
    path = write_parquet(book(), "events", tmp_path / "events.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["events.parquet"]  # no temp file left behind
    table = pq.read_table(path)
    frame = table.to_pandas()
    assert frame["kind"].tolist() == ["opening", "churn"]
    assert np.round(frame["mrr_before"].to_numpy() * 100).astype(int).tolist() == [0, 12345]
    meta = table.schema.metadata
    assert meta[b"csim.table"] == b"events"
    assert json.loads(meta[b"csim.units"])["mrr_after"] == "currency per month"
    assert json.loads(meta[b"csim.segments"]) == ["smb", "enterprise"]


def test_atomic_writes(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "first")
    assert target.read_text() == "first"
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "second"  # untouched by the failed write
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]
