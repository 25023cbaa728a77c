"""Columnar buffers the engine appends to; turned into numpy arrays once, at the end.

One typed buffer per column (8 bytes or less a value), never a Python object per record: a
100,000-account book of the baseline world records about 660,000 events and 560,000 touches in
five years.
"""

from __future__ import annotations

from array import array

import numpy as np


class _Columns:
    """Typed column buffers, returned as numpy arrays."""

    #: (column, array typecode, numpy dtype) per column.
    COLUMNS: tuple[tuple[str, str, str], ...] = ()

    def __init__(self) -> None:
        for name, code, _ in self.COLUMNS:
            setattr(self, name, array(code))

    def __len__(self) -> int:
        return len(getattr(self, self.COLUMNS[0][0]))

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns, in the order recorded."""
        return {name: np.frombuffer(getattr(self, name), dtype=dtype).copy() for name, _, dtype in self.COLUMNS}


class EventLog(_Columns):
    """Account events of one replication.

    Account-level constants (segment, cohort, replication) are joined at the end, not stored
    per event, to keep the hot path to a handful of appends.
    """

    COLUMNS = (("time", "d", "float64"), ("account", "q", "int64"), ("kind", "b", "int8"),
               ("mrr_before", "q", "int64"), ("mrr_after", "q", "int64"), ("stage", "b", "int8"),
               ("health", "f", "float32"))

    def add(self, time: float, account: int, kind: int, before: int, after: int, stage: int, health: float) -> None:
        self.time.append(time)
        self.account.append(account)
        self.kind.append(kind)
        self.mrr_before.append(before)
        self.mrr_after.append(after)
        self.stage.append(stage)
        self.health.append(health)

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns, in time order: accounts log the events they apply ahead of the simulation
        clock when they apply them, and a stable sort keeps the order of events at one instant."""
        out = super().arrays()
        if np.any(np.diff(out["time"]) < 0.0):
            order = np.argsort(out["time"], kind="stable")
            out = {name: column[order] for name, column in out.items()}
        return out


class TouchLog(_Columns):
    """Touch requests of one replication, in the order their outcomes were recorded (always at the
    simulation clock: touches reach an account only through events)."""

    COLUMNS = (("account", "q", "int64"), ("play", "h", "int16"), ("touch", "h", "int16"),
               ("requested", "d", "float64"), ("started", "d", "float64"), ("finished", "d", "float64"),
               ("csm_hours", "d", "float64"), ("outcome", "b", "int8"), ("ended", "d", "float64"))

    def add(self, account: int, play: int, touch: int, requested: float, started: float, finished: float,
            csm_hours: float, outcome: int, ended: float) -> None:
        """Record one request's outcome."""
        self.account.append(account)
        self.play.append(play)
        self.touch.append(touch)
        self.requested.append(requested)
        self.started.append(started)
        self.finished.append(finished)
        self.csm_hours.append(csm_hours)
        self.outcome.append(outcome)
        self.ended.append(ended)
