"""Columnar buffers the engine appends to; turned into numpy arrays once, at the end."""

from __future__ import annotations

from array import array

import numpy as np


class EventLog:
    """Account events of one replication, one typed buffer per column (8 bytes or less a value).

    Account-level constants (segment, cohort, replication) are joined at the end, not stored
    per event, to keep the hot path to a handful of appends.
    """

    def __init__(self) -> None:
        self.time = array("d")
        self.account = array("q")     # dense account index within the replication
        self.kind = array("b")
        self.mrr_before = array("q")
        self.mrr_after = array("q")
        self.stage = array("b")
        self.health = array("f")

    def add(self, time: float, account: int, kind: int, before: int, after: int, stage: int, health: float) -> None:
        self.time.append(time)
        self.account.append(account)
        self.kind.append(kind)
        self.mrr_before.append(before)
        self.mrr_after.append(after)
        self.stage.append(stage)
        self.health.append(health)

    def __len__(self) -> int:
        return len(self.time)

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns, in time order (accounts log the events they apply ahead of the simulation
        clock when they apply them; a stable sort keeps the order of events at one instant)."""
        out = {
            "time": np.frombuffer(self.time, dtype=np.float64).copy(),
            "account": np.frombuffer(self.account, dtype=np.int64).copy(),
            "kind": np.frombuffer(self.kind, dtype=np.int8).copy(),
            "mrr_before": np.frombuffer(self.mrr_before, dtype=np.int64).copy(),
            "mrr_after": np.frombuffer(self.mrr_after, dtype=np.int64).copy(),
            "stage": np.frombuffer(self.stage, dtype=np.int8).copy(),
            "health": np.frombuffer(self.health, dtype=np.float32).copy(),
        }
        if np.any(np.diff(out["time"]) < 0.0):
            order = np.argsort(out["time"], kind="stable")
            out = {name: column[order] for name, column in out.items()}
        return out


class TouchLog:
    """Touch requests of one replication."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, account: int, play: int, touch: int, requested: float, started: float, finished: float,
            csm_hours: float, outcome: int, ended: float) -> None:
        self.rows.append((account, play, touch, requested, started, finished, csm_hours, outcome, ended))

    def arrays(self) -> dict[str, np.ndarray]:
        names = ("account", "play", "touch", "requested", "started", "finished", "csm_hours", "outcome", "ended")
        dtypes = ("int64", "int16", "int16", "float64", "float64", "float64", "float64", "int8", "float64")
        if not self.rows:
            return {n: np.empty(0, dtype=d) for n, d in zip(names, dtypes)}
        cols = list(zip(*self.rows))
        return {n: np.asarray(c, dtype=d) for n, c, d in zip(names, cols, dtypes)}
