"""Time-varying covariates: counting-process (start, stop] tables for the Cox model.

A customer whose health or usage changes over its life is described by several rows, one per
stretch of tenure over which the covariates held still: ``(start, stop]`` in periods (months
unless said otherwise), the covariate values of that stretch, and ``event`` = 1 only on the row
that ends in churn. To the Cox partial likelihood each such row is a left-truncated observation
(at risk at a churn time t when start < t ≤ stop, R ``survival``'s convention), so
:class:`csim.forecast.cox.CoxPH` fits it as it stands, with ``entry`` = start; this module builds
and checks the table. The same rows are the usual remedy for a covariate whose effect is not
proportional: split the tenure axis and give the covariate a different column on each side.

Example (customer 1 churns at month 7 after its health fell at month 4; customer 2 is still
active at month 9; customer 3 came under observation at month 2)::

    >>> import pandas as pd
    >>> from csim.forecast import CoxPH
    >>> from csim.forecast.counting import counting_process
    >>> frame = pd.DataFrame({
    ...     "customer": [1, 1, 2, 2, 3, 4, 4, 5, 6],
    ...     "start":    [0, 4, 0, 3, 2, 0, 5, 0, 0],
    ...     "stop":     [4, 7, 3, 9, 6, 5, 8, 2, 9],
    ...     "churned":  [0, 1, 0, 0, 1, 0, 1, 1, 0],
    ...     "health":   [0.6, 0.3, 0.7, 0.8, 0.4, 0.5, 0.6, 0.45, 0.35]})
    >>> table = counting_process(frame, id="customer", start="start", stop="stop", event="churned",
    ...                          covariates=["health"], source="customers.csv")
    >>> table.n_subjects, len(table)
    (6, 9)
    >>> model = CoxPH().fit(table.stop, table.event, entry=table.start, covariates=table.covariates)

Simulated runs give such a table directly: :func:`health_intervals` cuts each account's life at
its logged events, with the health (and optionally the MRR) logged at each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from csim.errors import InputError
from csim.forecast.accounts import UNIT_DAYS, _column
from csim.forecast.data import _blank, _first_row, event_column, numeric_column, require_columns

__all__ = ["CountingProcess", "counting_process", "health_intervals", "HEALTH_COVARIATES"]

#: Covariates :func:`health_intervals` can carry: the health score in [0, 1] and the MRR in
#: thousands of currency units per month.
HEALTH_COVARIATES = ("health", "mrr")


@dataclass(frozen=True, eq=False)
class CountingProcess:
    """A checked counting-process table, rows sorted by subject and then by start.

    Attributes
    ----------
    id : the subject of each row (the id column's values; a tuple per row when the id spans
        several columns).
    start, stop : the row's interval (start, stop] of tenure, in the table's unit (periods).
    event : 1.0 if the subject churned at ``stop`` (only ever on its last row), else 0.0.
    covariates : the covariate values on each row (float columns, same order; no columns if
        none were asked for).
    n_subjects : number of distinct subjects.
    row : 1-based row number of each row in the source table (header excluded), for messages.
    """

    id: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    covariates: pd.DataFrame
    n_subjects: int
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def cox_arguments(self) -> dict:
        """Keyword arguments for :meth:`csim.forecast.cox.CoxPH.fit`: ``CoxPH().fit(**table.cox_arguments())``."""
        return {"durations": self.stop, "events": self.event, "entry": self.start, "covariates": self.covariates}


def _subject_codes(frame: pd.DataFrame, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(integer code of each row's subject, the id value of each row; tuples for several columns)."""
    if len(ids) == 1:
        values = frame[ids[0]].to_numpy()
        codes, _ = pd.factorize(frame[ids[0]], sort=False)
        return np.asarray(codes, np.int64), values
    codes = frame.groupby(ids, sort=False, dropna=False).ngroup().to_numpy(np.int64)
    values = np.empty(len(frame), dtype=object)
    values[:] = list(zip(*(frame[c].tolist() for c in ids)))
    return codes, values


def counting_process(frame: pd.DataFrame, id: str | Sequence[str], start: str, stop: str, event: str,
                     covariates: Sequence[str] | None = None, source: str = "table") -> CountingProcess:
    """Check a counting-process table and return its arrays, ready for :class:`~csim.forecast.cox.CoxPH`.

    Parameters
    ----------
    frame : one row per subject and stretch of tenure, in any order.
    id : the column naming the subject (customer, account), or several columns that together
        do (e.g. ``["replication", "account"]``).
    start, stop : columns of the interval (start, stop] in periods of tenure (months, say):
        finite numbers with 0 ≤ start < stop. A subject is at risk at a churn time t when
        start < t ≤ stop on one of its rows.
    event : column of 0/1 churn flags (also true/false): 1 = the subject churned at ``stop``.
        Only a subject's last interval may carry a 1.
    covariates : numeric columns holding the values that applied during each interval.
    source : the file name (or other label) used in error messages.

    The intervals of one subject must not overlap (a row starting before the previous row of
    the same subject stops). Gaps between them are allowed: the subject is not at risk during
    a gap (not observed then, e.g. a customer whose records are missing for a while). As in R
    (``coxph``: "Stop time must be > start time"), a row with stop ≤ start is refused rather
    than dropped.

    Returns a :class:`CountingProcess` with the rows sorted by subject, then start. Raises
    :class:`csim.errors.InputError` naming ``source``, the column and the first bad row
    (1-based data rows, as in :mod:`csim.forecast.data`).
    """
    ids = [id] if isinstance(id, str) else list(id)
    if not ids:
        raise ValueError("id must name at least one column")
    covariates = list(covariates or [])
    require_columns(frame, ids + [start, stop, event] + covariates, source)
    if len(frame) == 0:
        raise InputError(source, None, "the table has no rows (only a header)")
    frame = frame.reset_index(drop=True)
    for column in ids:
        blank = _blank(frame[column])
        if blank.any():
            raise InputError(source, f"column '{column}', row {_first_row(blank)}", "empty id")
    t0 = numeric_column(frame, start, source)
    t1 = numeric_column(frame, stop, source)
    d = event_column(frame, event, source)
    values = {c: numeric_column(frame, c, source) for c in covariates}
    negative = t0 < 0
    if negative.any():
        row = _first_row(negative)
        raise InputError(source, f"column '{start}', row {row}", f"negative start time ({t0[row - 1]:g})")
    empty = t0 >= t1
    if empty.any():
        row = _first_row(empty)
        raise InputError(source, f"column '{stop}', row {row}", f"stop time must be greater than start time "
                                                                f"(start {t0[row - 1]:g}, stop {t1[row - 1]:g})")
    codes, id_values = _subject_codes(frame, ids)
    # Stable: rows of one subject with the same start keep their file order, so the message
    # below names the later of two identical rows.
    order = np.lexsort((t0, codes))
    same = codes[order][1:] == codes[order][:-1]
    overlap = np.zeros(len(order), bool)
    # Sorted by start, intervals are disjoint exactly when each starts at or after the previous stops.
    overlap[1:] = same & (t0[order][1:] < t1[order][:-1])
    if overlap.any():
        bad = np.flatnonzero(overlap)
        k = bad[np.argmin(order[bad])]  # the overlapping row that comes first in the file
        row, other = int(order[k]) + 1, int(order[k - 1]) + 1
        raise InputError(source, f"column '{start}', row {row}",
                         f"interval ({t0[row - 1]:g}, {t1[row - 1]:g}] of id {id_values[row - 1]!r} overlaps its "
                         f"interval ({t0[other - 1]:g}, {t1[other - 1]:g}] on row {other}; the intervals of one "
                         "subject must not overlap")
    not_last = np.zeros(len(order), bool)
    not_last[:-1] = same & (d[order][:-1] == 1)
    if not_last.any():
        bad = np.flatnonzero(not_last)
        k = bad[np.argmin(order[bad])]
        row, later = int(order[k]) + 1, int(order[k + 1]) + 1
        raise InputError(source, f"column '{event}', row {row}",
                         f"churn (1) on interval ({t0[row - 1]:g}, {t1[row - 1]:g}] of id {id_values[row - 1]!r}, "
                         f"which is not its last interval (row {later} starts at {t0[later - 1]:g}); only the "
                         "last interval of a subject may end in churn")
    table = pd.DataFrame({c: v[order] for c, v in values.items()}, index=pd.RangeIndex(len(order)),
                         columns=pd.Index(covariates, dtype=object))
    return CountingProcess(id=id_values[order], start=t0[order], stop=t1[order], event=d[order], covariates=table,
                           n_subjects=int(codes.max()) + 1, row=order + 1)


def _tables(records):
    if hasattr(records, "accounts") and hasattr(records, "events"):
        return records.accounts, records.events
    return records["accounts"], records["events"]


def health_intervals(records, covariates: Sequence[str] = ("health",), unit: str = "months") -> pd.DataFrame:
    """Counting-process table of a simulated run: each account's life cut at its logged events.

    Parameters
    ----------
    records : a :class:`csim.records.Records`, or a mapping with ``"accounts"`` and ``"events"``
        tables (DataFrames or mappings of column → array) of one or more replications.
    covariates : any of :data:`HEALTH_COVARIATES`: ``"health"`` (the health score in [0, 1]
        after the event) and ``"mrr"`` (``mrr_after`` of the event in thousands of currency
        units per month; integer columns are read as the records' cents, float columns as the
        currency units of decoded tables such as ``events.parquet``).
    unit : tenure unit: "months" (``MONTH_DAYS`` days, default), "days" or "years".

    Returns a DataFrame with ``replication``, ``account``, ``start``, ``stop`` (tenure in
    ``unit`` since the account's first payment), ``event`` (1 = the account churned at
    ``stop``), and the covariate columns, sorted by replication, account and start; pass it to
    :func:`counting_process` with ``id=["replication", "account"]``.

    Each account is followed, as in :func:`csim.forecast.accounts.survival_data_from_accounts`,
    from its entry (day 0 for the initial book: left truncation, so the first row starts at
    its tenure then) to its first churn or the horizon. Its life is cut at the days of its
    logged events in between; the covariates on (t_k, t_k+1] are the values logged at the event
    at t_k (the last one logged that day), and on the first row those of its last event at or
    before entry (``opening`` or ``start``). Health is therefore observed **only at logged
    events** and carried forward between them: the simulator's random health moves are not
    logged, so the covariate is the last reading, not the health of the moment, and its
    coefficient is that of the reading (attenuated relative to the simulator's own link).
    ``event`` is 1 only on the last row of an account that churned. Events after the first
    churn (a reactivated account's second life) are not used, nor are accounts observed for no
    time (end = entry). Raises ``ValueError`` for an unknown covariate or unit, an event of an
    account missing from the accounts table, or an account with no event at or before entry.
    """
    covariates = list(covariates)
    unknown = [c for c in covariates if c not in HEALTH_COVARIATES]
    if unknown:
        raise ValueError(f"unknown covariate {unknown[0]!r}; choose from {', '.join(HEALTH_COVARIATES)}")
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit must be one of {sorted(UNIT_DAYS)}")
    accounts, events = _tables(records)
    acc_id = _column(accounts, "account").astype(np.int64)
    acc_rep = _column(accounts, "replication")
    acc_rep = np.zeros(len(acc_id), np.int64) if acc_rep is None else acc_rep.astype(np.int64)
    begin = _column(accounts, "start").astype(float)
    entry = _column(accounts, "entry").astype(float)
    end = _column(accounts, "end").astype(float)
    churned = _column(accounts, "churned").astype(bool)

    ev_acc = _column(events, "account").astype(np.int64)
    ev_rep = _column(events, "replication")
    ev_rep = np.zeros(len(ev_acc), np.int64) if ev_rep is None else ev_rep.astype(np.int64)
    time = _column(events, "time").astype(float)
    keys = pd.MultiIndex.from_arrays([acc_rep, acc_id])
    if not keys.is_unique:
        raise ValueError("accounts: an account appears twice in one replication")
    owner = keys.get_indexer(pd.MultiIndex.from_arrays([ev_rep, ev_acc]))
    if (owner < 0).any():
        i = int(np.flatnonzero(owner < 0)[0])
        raise ValueError(f"events: account {ev_acc[i]} (replication {ev_rep[i]}) is not in the accounts table; "
                         "are the tables from the same run?")
    values = {}
    if "health" in covariates:
        values["health"] = _column(events, "health").astype(float)
    if "mrr" in covariates:
        mrr = _column(events, "mrr_after")
        # Stored records hold integer cents; decoded tables hold currency units as floats.
        per_thousand = 100_000.0 if np.issubdtype(mrr.dtype, np.integer) else 1_000.0
        values["mrr"] = mrr.astype(float) / per_thousand

    # Events by account, then day, then record order (lexsort is stable): the last event of a
    # day is the state the account was left in.
    order = np.lexsort((time, owner))
    owner, time = owner[order], time[order]
    values = {c: v[order] for c, v in values.items()}
    observed = end[owner] > entry[owner]
    # Covariates at entry: the last event at or before the entry day.
    before = observed & (time <= entry[owner])
    last_before = before & np.append(~before[1:] | (owner[1:] != owner[:-1]), True)
    # Cut points: days strictly inside (entry, end); the churn event itself ends the last row.
    inside = observed & (time > entry[owner]) & (time < end[owner])
    last_of_day = inside & np.append((owner[1:] != owner[:-1]) | (time[1:] != time[:-1]), True)
    alive = np.flatnonzero(end > entry)
    opened = np.zeros(len(acc_id), bool)
    opened[owner[last_before]] = True
    if not opened[alive].all():
        j = int(alive[~opened[alive]][0])
        raise ValueError(f"account {acc_id[j]} (replication {acc_rep[j]}) has no event at or before its entry "
                         f"(day {entry[j]:g}) to read its covariates from")
    first = np.flatnonzero(last_before)
    cuts = np.flatnonzero(last_of_day)
    rows = np.concatenate([first, cuts])
    who = owner[rows]
    day = np.concatenate([entry[owner[first]], time[cuts]])
    # The opening row (day = entry) sorts first: every cut day is later.
    sort = np.lexsort((day, who))
    rows, who, day = rows[sort], who[sort], day[sort]
    last = np.append(who[1:] != who[:-1], True)
    stop_day = np.where(last, end[who], np.append(day[1:], np.nan))
    scale = UNIT_DAYS[unit]
    out = pd.DataFrame({
        "replication": acc_rep[who],
        "account": acc_id[who],
        "start": (day - begin[who]) / scale,
        "stop": (stop_day - begin[who]) / scale,
        "event": (last & churned[who]).astype(np.int64),
    })
    for column, v in values.items():
        out[column] = v[rows]
    return out
