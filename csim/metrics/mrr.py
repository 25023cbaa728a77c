"""The customer-month MRR matrix and the five MRR movements (dbt MRR-playbook style).

Everything here is integer cents, so the bridge
``MRR_end = MRR_start + new + expansion + reactivation - contraction - churn`` holds exactly.

Month-end MRR of an account in month ``m`` is its ``mrr_after`` from the last MRR event with
``time < (m + 1) * MONTH_DAYS``. Events of kind ``opening`` (and any event before day 0) form the
**opening balance**: the state at the end of "month -1", before month 0. Opening accounts are
therefore never counted as *new*; they count as having paid before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csim.metrics.calendar import month_index
from csim.records import EVENT_KINDS, Records

__all__ = ["MRRMatrix", "mrr_matrix", "movements", "MOVEMENTS"]

OPENING = EVENT_KINDS.index("opening")

#: MRR movement classes, in bridge order (the first three add, the last two subtract).
MOVEMENTS: tuple[str, ...] = ("new", "expansion", "reactivation", "contraction", "churn")


@dataclass(frozen=True)
class MRRMatrix:
    """Month-end MRR of every account of one replication.

    Attributes
    ----------
    replication:
        Replication number.
    accounts:
        Account ids (int64, sorted), one per row.
    values:
        ``(n_accounts, n_months + 1)`` int64 cents of MRR. Column 0 is the opening balance (end of
        month -1); column ``m + 1`` is the end of month ``m``.
    first_paid:
        Month of each account's first payment (int64): -1 for the opening book (or any payment
        before day 0), ``n_months`` if it never paid within the run.
    first_mrr:
        MRR of that first payment (int64 cents; 0 if it never paid).
    """

    replication: int
    accounts: np.ndarray
    values: np.ndarray
    first_paid: np.ndarray
    first_mrr: np.ndarray

    @property
    def n_months(self) -> int:
        """Months in the run."""
        return self.values.shape[1] - 1

    @property
    def previous(self) -> np.ndarray:
        """MRR at the end of the month before each month, ``(n_accounts, n_months)`` cents."""
        return self.values[:, :-1]

    @property
    def current(self) -> np.ndarray:
        """MRR at the end of each month, ``(n_accounts, n_months)`` cents."""
        return self.values[:, 1:]


def _events_of(records: Records, replication: int) -> dict[str, np.ndarray]:
    ev = records.events
    sel = ev["replication"] == replication
    return {col: ev[col][sel] for col in ("time", "account", "kind", "mrr_before", "mrr_after")}


def mrr_matrix(records: Records, replication: int, n_months: int | None = None) -> MRRMatrix:
    """Build the month-end MRR matrix of one replication, vectorised (no per-account loop).

    Parameters
    ----------
    records:
        The run's records; only ``events`` is read.
    replication:
        Which replication.
    n_months:
        Months to cover (default ``records.horizon_months``); events at or after the end of
        the last month are ignored.

    Only events that move MRR (``mrr_before != mrr_after``) and ``opening`` events are used,
    so lifecycle events need not carry the current MRR. Ties in time keep the record order.
    """
    n_months = records.horizon_months if n_months is None else int(n_months)
    ev = _events_of(records, replication)
    month = month_index(ev["time"], n_months)
    is_opening = ev["kind"] == OPENING
    month[is_opening] = -1
    month = np.maximum(month, -1)  # anything before day 0 is history folded into the opening balance
    keep = ((ev["mrr_before"] != ev["mrr_after"]) | is_opening) & (month < n_months)

    accounts = np.unique(ev["account"])
    row = np.searchsorted(accounts, ev["account"][keep])
    month, time, after = month[keep], ev["time"][keep], ev["mrr_after"][keep].astype(np.int64)
    # Opening events sort first through the month key even when stamped at day 0.
    order = np.lexsort((np.arange(row.size), time, month, row))
    row, month, after = row[order], month[order], after[order]

    n = accounts.size
    values = np.zeros((n, n_months + 1), dtype=np.int64)
    if row.size:
        last = np.ones(row.size, dtype=bool)  # last event of each (account, month) sets the month end
        last[:-1] = (row[1:] != row[:-1]) | (month[1:] != month[:-1])
        values[row[last], month[last] + 1] = after[last]
        # Forward-fill each row from its last set column: index of the latest set column so far.
        is_set = np.zeros_like(values, dtype=bool)
        is_set[row[last], month[last] + 1] = True
        is_set[:, 0] = True
        source = np.where(is_set, np.arange(n_months + 1), 0)
        np.maximum.accumulate(source, axis=1, out=source)
        values = np.take_along_axis(values, source, axis=1)

    first_paid = np.full(n, n_months, dtype=np.int64)
    first_mrr = np.zeros(n, dtype=np.int64)
    paying = after > 0
    if paying.any():
        paid_rows, first = np.unique(row[paying], return_index=True)  # rows are sorted in time
        first_paid[paid_rows] = month[paying][first]
        first_mrr[paid_rows] = after[paying][first]
    return MRRMatrix(int(replication), accounts, values, first_paid, first_mrr)


def movements(matrix: MRRMatrix) -> dict[str, np.ndarray]:
    """MRR movements and logo counts per month, int64 (cents for money, accounts for counts).

    Classification per customer-month, comparing month-end MRR ``now`` with the previous
    month end ``prev``:

    - **new**: ``prev == 0 < now`` and the first payment is in this month;
    - **reactivation**: ``prev == 0 < now`` and the account paid before (opening book included);
    - **churn**: ``now == 0 < prev`` (amount ``prev``);
    - **expansion**: ``now > prev > 0`` (amount ``now - prev``);
    - **contraction**: ``0 < now < prev`` (amount ``prev - now``).

    An account that starts and churns inside one month shows no movement (month-end view);
    a later payment of such an account is a reactivation, since it paid before.

    Returns arrays of length ``n_months``: ``mrr_start, mrr`` (cents), the five movements
    (cents), and counts ``customers_start, customers, new_customers, reactivated_customers,
    logos_churned``.
    """
    prev, now = matrix.previous, matrix.current
    months = np.arange(matrix.n_months)
    had, has = prev > 0, now > 0
    starts = ~had & has
    first_now = matrix.first_paid[:, None] == months[None, :]
    is_new = starts & first_now
    is_react = starts & ~first_now
    is_churn = had & ~has
    delta = now - prev
    out = {
        "mrr_start": prev.sum(axis=0),
        "mrr": now.sum(axis=0),
        "new": np.where(is_new, now, 0).sum(axis=0),
        "expansion": np.where(had & (delta > 0), delta, 0).sum(axis=0),
        "reactivation": np.where(is_react, now, 0).sum(axis=0),
        "contraction": np.where(has & (delta < 0), -delta, 0).sum(axis=0),
        "churn": np.where(is_churn, prev, 0).sum(axis=0),
        "customers_start": had.sum(axis=0),
        "customers": has.sum(axis=0),
        "new_customers": is_new.sum(axis=0),
        "reactivated_customers": is_react.sum(axis=0),
        "logos_churned": is_churn.sum(axis=0),
    }
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}
