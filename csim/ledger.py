"""The simulated history as a subscription ledger: the billing export a company has of itself.

A ledger has one row per **subscription period** — a stretch of time over which an account paid
the same monthly amount — in the schema of a common billing export::

    customer_id, subscription_id, start_date, end_date, monthly_amount, segment, channel

``end_date`` is empty while the period is still running at the horizon. A new period starts at
every change of MRR (a new account, a renewal with a price uplift or a downgrade, an expansion, a
contraction, a reactivation) and the period before it ends there; a churn ends a period without
starting one. ``subscription_id`` counts the account's subscriptions: a reactivated account starts
a new one (``<account>-2``). The first period of an initial-book account starts at the account's
start (before day 0) at its opening MRR, the only history the simulation has of it.

Dates are days since the start of the run counted from ``origin`` (an arbitrary calendar date: the
simulation has days, not a calendar); ``start_day`` and ``end_day`` keep the exact simulated times,
so the ledger reproduces the run's MRR to the cent (``monthly_mrr_from_ledger``). With several
replications the ledger has a ``replication`` column: each replication is one company's history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csim.records import CHANNELS, EVENT_KINDS, MONTH_DAYS, Records

__all__ = ["LEDGER_COLUMNS", "DEFAULT_ORIGIN", "ledger_table", "monthly_mrr_from_ledger"]

#: Columns of ``ledger.csv``, in order.
LEDGER_COLUMNS = ("replication", "customer_id", "subscription_id", "start_date", "end_date", "monthly_amount",
                  "segment", "channel", "start_day", "end_day")

#: Calendar date of day 0 of a run in its ledger (an assumption: the simulation has no calendar).
DEFAULT_ORIGIN = "2025-01-01"

_OPENING, _REACTIVATION = EVENT_KINDS.index("opening"), EVENT_KINDS.index("reactivation")


def ledger_table(records: Records, origin: str = DEFAULT_ORIGIN) -> pd.DataFrame:
    """One row per subscription period of every account of every replication (see the module doc).

    ``monthly_amount`` is in currency units per month (the records hold cents); ``start_day`` /
    ``end_day`` are days since the start of the run (``end_day`` NaN while running at the horizon).
    """
    ev = records.events
    changing = ev["mrr_before"] != ev["mrr_after"]
    frame = pd.DataFrame({name: ev[name][changing] for name in
                          ("replication", "account", "time", "kind", "mrr_after", "segment")})
    # Order within an account by time, then by the order the engine recorded the events.
    frame["seq"] = np.flatnonzero(changing)
    frame = frame.sort_values(["replication", "account", "time", "seq"], kind="stable").reset_index(drop=True)
    same_account = (frame[["replication", "account"]].shift(-1) == frame[["replication", "account"]]).all(axis=1)
    frame["end_day"] = frame["time"].shift(-1).where(same_account)
    frame["subscription"] = (frame["kind"] == _REACTIVATION).groupby(
        [frame["replication"], frame["account"]]).cumsum() + 1
    periods = frame[frame["mrr_after"] > 0].copy()

    acc = records.accounts
    accounts = pd.DataFrame({"replication": acc["replication"], "account": acc["account"],
                             "start": acc["start"], "channel": acc["channel"]})
    periods = periods.merge(accounts, on=["replication", "account"], how="left", validate="many_to_one")
    # An opening balance has been paid since the account's start, before the run began.
    periods["start_day"] = np.where(periods["kind"] == _OPENING, periods["start"], periods["time"])
    day0 = pd.Timestamp(origin)
    out = pd.DataFrame({
        "replication": periods["replication"].to_numpy(),
        "customer_id": periods["account"].to_numpy(),
        "subscription_id": periods["account"].astype(str) + "-" + periods["subscription"].astype(str),
        "start_date": (day0 + pd.to_timedelta(np.floor(periods["start_day"]), unit="D")).dt.strftime("%Y-%m-%d"),
        "end_date": (day0 + pd.to_timedelta(np.floor(periods["end_day"]), unit="D")).dt.strftime("%Y-%m-%d"),
        "monthly_amount": periods["mrr_after"].to_numpy() / 100.0,
        "segment": np.asarray(records.segments, dtype=object)[periods["segment"].to_numpy()],
        "channel": np.asarray(CHANNELS, dtype=object)[periods["channel"].to_numpy()],
        "start_day": periods["start_day"].to_numpy(),
        "end_day": periods["end_day"].to_numpy(),
    }, columns=list(LEDGER_COLUMNS))
    return out.sort_values(["replication", "customer_id", "start_day"], kind="stable").reset_index(drop=True)


def monthly_mrr_from_ledger(ledger: pd.DataFrame, months: int) -> pd.DataFrame:
    """MRR at the end of each month 0..months-1 per replication, summed from the ledger's periods.

    A period counts at the end of month m if it started before the boundary (m + 1)·MONTH_DAYS and
    had not ended by it — the convention of :func:`csim.metrics.monthly` (an event at the boundary
    belongs to the next month).
    """
    rows = []
    for replication, group in ledger.groupby("replication", sort=True):
        start = group["start_day"].to_numpy()
        end = group["end_day"].to_numpy()
        amount = group["monthly_amount"].to_numpy()
        for m in range(months):
            boundary = (m + 1) * MONTH_DAYS
            active = (start < boundary) & (np.isnan(end) | (end >= boundary))
            rows.append({"replication": replication, "month": m, "mrr": float(amount[active].sum())})
    return pd.DataFrame(rows)
