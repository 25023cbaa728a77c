"""Records -> pandas DataFrames and Parquet files, at the edge of the package.

The engine and the metrics work on integer codes and integer cents (:mod:`csim.records`).
People and other tools read names and currency, so decoded frames here:

- turn every categorical code column into a pandas ``Categorical`` of names (``kind``,
  ``stage``, ``segment``, ``channel``, ``outcome``, ``touch`` when the strategy module defines
  the touch names);
- turn MRR columns from integer cents into currency units (``cents / 100``, float64; the cents
  are recoverable exactly with ``round(x * 100)`` since every cent value is far below 2**53).

Times stay in days since the start of the run.
"""

from __future__ import annotations

import json
import os
from importlib import import_module
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from csim.io import atomic_path
from csim.records import CHANNELS, EVENT_KINDS, LEAD_OUTCOMES, STAGES, TABLES, TOUCH_OUTCOMES, Records

__all__ = ["to_frame", "write_parquet", "write_frame_parquet", "MONEY_COLUMNS", "CODE_COLUMNS"]

#: Columns held in integer cents of MRR in the records, per table (currency units when decoded).
MONEY_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "events": ("mrr_before", "mrr_after"),
    "accounts": ("initial_mrr", "final_mrr"),
    "leads": (),
    "touches": (),
}

#: Categorical code columns per table and the name tuple that decodes them. ``None`` = the
#: segment names of the run (``Records.segments``); a string = ``"module:ATTRIBUTE"`` looked up
#: lazily because that module belongs to a later layer.
CODE_COLUMNS: Mapping[str, Mapping[str, tuple[str, ...] | str | None]] = {
    "events": {"kind": EVENT_KINDS, "stage": STAGES, "segment": None},
    "accounts": {"segment": None, "channel": CHANNELS},
    "leads": {"channel": CHANNELS, "segment": None, "outcome": LEAD_OUTCOMES},
    "touches": {"segment": None, "outcome": TOUCH_OUTCOMES, "touch": "csim.strategy:TOUCH_KINDS"},
}

#: Units written into Parquet metadata so a file explains itself.
UNITS: Mapping[str, str] = {
    "time": "days since run start",
    "start": "days since run start",
    "entry": "days since run start",
    "end": "days since run start",
    "first_value_day": "days after start",
    "arrived": "days since run start",
    "closed": "days since run start",
    "requested": "days since run start",
    "started": "days since run start",
    "finished": "days since run start",
    "cohort": "month index (month m = [m, m+1) * 365.25/12 days)",
    "mrr_before": "currency per month",
    "mrr_after": "currency per month",
    "initial_mrr": "currency per month",
    "final_mrr": "currency per month",
    "cost": "currency",
    "csm_hours": "hours",
    "term_months": "months",
}


def _names(spec: tuple[str, ...] | str | None, records: Records) -> tuple[str, ...] | None:
    if spec is None:
        return tuple(records.segments)
    if isinstance(spec, str):
        module, attribute = spec.split(":")
        try:
            return tuple(getattr(import_module(module), attribute))
        except (ImportError, AttributeError):  # that layer is not there: keep the integer codes
            return None
    return spec


def _categorical(codes: np.ndarray, names: Sequence[str], table: str, column: str) -> pd.Categorical:
    codes = np.asarray(codes, dtype=np.int64)
    # -1 is the "none" code (pandas maps it to NaN); anything else out of range is a corrupt record.
    bad = (codes < -1) | (codes >= len(names))
    if bad.any():
        raise ValueError(
            f"{table}.{column}: code {int(codes[bad][0])} out of range for {len(names)} names {tuple(names)}"
        )
    return pd.Categorical.from_codes(codes, categories=list(names))


def to_frame(records: Records, table: str, *, decode: bool = True) -> pd.DataFrame:
    """One records table as a DataFrame.

    Parameters
    ----------
    records:
        The run's records.
    table:
        ``"events"``, ``"accounts"``, ``"leads"`` or ``"touches"``.
    decode:
        If True (default), code columns become categoricals of names and MRR cents become
        currency units per month (float64). If False, the columns are returned as stored
        (codes, integer cents).

    Returns
    -------
    DataFrame with the schema's columns in schema order; times in days.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {sorted(TABLES)}")
    raw = getattr(records, table)
    frame = pd.DataFrame({col: raw[col] for col in TABLES[table]})
    if not decode:
        return frame
    for column, spec in CODE_COLUMNS[table].items():
        names = _names(spec, records)
        if names is not None:
            frame[column] = _categorical(frame[column].to_numpy(), names, table, column)
    for column in MONEY_COLUMNS[table]:
        frame[column] = frame[column].to_numpy(dtype=np.int64) / 100.0
    return frame


def write_parquet(records: Records, table: str, path: str | os.PathLike, *, decode: bool = True) -> Path:
    """Write one records table to a Parquet file atomically (e.g. ``events.parquet``).

    The decoded frame (names, currency) is written by default, with categoricals stored as
    Parquet dictionaries. The file's key-value metadata carries ``csim.table``,
    ``csim.units`` (JSON: column -> unit), ``csim.horizon_days`` and ``csim.segments``.

    Returns the destination path.
    """
    frame = to_frame(records, table, decode=decode)
    units = {col: UNITS[col] for col in frame.columns if col in UNITS}
    if not decode:
        units.update({col: "cents per month" for col in MONEY_COLUMNS[table]})
    extra = {
        b"csim.table": table.encode(),
        b"csim.units": json.dumps(units).encode(),
        b"csim.horizon_days": repr(float(records.horizon_days)).encode(),
        b"csim.segments": json.dumps(list(records.segments)).encode(),
    }
    return write_frame_parquet(frame, path, extra)


def write_frame_parquet(frame: pd.DataFrame, path: str | os.PathLike, metadata: Mapping[bytes, bytes] | None = None) -> Path:
    """Write a DataFrame to Parquet atomically (no index), adding ``metadata`` to the file's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **metadata})
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp)
    return Path(path)
