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

from csim.records import CHANNELS, EVENT_KINDS, MONTH_DAYS, STAGES, Records

__all__ = ["LEDGER_COLUMNS", "DEFAULT_ORIGIN", "ledger_table", "monthly_mrr_from_ledger", "parse_column_map",
           "read_ledger", "ledger_records", "mark_unknown", "segment_records"]

#: Columns of ``ledger.csv``, in order.
LEDGER_COLUMNS = ("replication", "customer_id", "subscription_id", "start_date", "end_date", "monthly_amount",
                  "segment", "channel", "start_day", "end_day")

#: Calendar date of day 0 of a run in its ledger (an assumption: the simulation has no calendar).
DEFAULT_ORIGIN = "2025-01-01"

_OPENING, _REACTIVATION = EVENT_KINDS.index("opening"), EVENT_KINDS.index("reactivation")
STAGE_GROWTH, STAGE_CHURNED = STAGES.index("growth"), STAGES.index("churned")


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


# ------------------------------------------------------------------------------- reading a ledger

#: Columns a ledger must have (by their csim names; ``--columns`` maps a file's own names).
REQUIRED = ("customer_id", "start_date", "end_date", "monthly_amount")
#: Columns a ledger may have.
OPTIONAL = ("subscription_id", "segment", "plan", "channel", "currency")


def parse_column_map(text: str | None, source: str = "--columns") -> dict[str, str]:
    """``"customer_id=account,monthly_amount=mrr"`` → ``{"customer_id": "account", …}`` (csim name → file column)."""
    from csim.errors import InputError

    mapping: dict[str, str] = {}
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        ours, sep, theirs = part.partition("=")
        ours, theirs = ours.strip(), theirs.strip()
        if not sep or not ours or not theirs:
            raise InputError(source, part, "expected NAME=COLUMN, e.g. customer_id=account")
        if ours not in REQUIRED + OPTIONAL:
            raise InputError(source, ours, f"not a ledger column; one of {', '.join(REQUIRED + OPTIONAL)}")
        mapping[ours] = theirs
    return mapping


def read_ledger(path, columns: dict[str, str] | None = None, skip_bad_rows: bool = False) -> tuple[pd.DataFrame, dict]:
    """Read and check a subscription ledger; return it in csim's column names and what was skipped.

    Every problem is one :class:`~csim.errors.InputError` naming the file, the column and the first
    bad row (1-based, header excluded): a missing column, a date that does not parse, an end before
    its start, an amount that is not a finite number ≥ 0, several currencies, two periods of one
    subscription that overlap. With ``skip_bad_rows`` the row-level problems (dates, amounts, end
    before start) drop the row instead and are counted: ``{"rows": n, "skipped": k, "first": "…"}``.
    """
    from csim.errors import InputError
    from csim.forecast.data import _blank, date_cells, read_table

    source = str(path)
    frame = read_table(path)
    names = {ours: (columns or {}).get(ours, ours) for ours in REQUIRED + OPTIONAL}
    for ours in REQUIRED:
        if names[ours] not in frame.columns:
            raise InputError(source, f"column '{names[ours]}'",
                             f"missing (the ledger's {ours}; columns are {', '.join(map(str, frame.columns))}; "
                             f"map yours with --columns {ours}=YOURS)")
    data = pd.DataFrame({ours: frame[names[ours]] for ours in REQUIRED + OPTIONAL if names[ours] in frame.columns})
    if data.empty:
        raise InputError(source, None, "the ledger has no rows")
    # Cells as text, stripped: only where text is read, and numbers as they are (stripping every
    # cell of a two-million-row export took half of reading it).
    text = {c: (data[c].astype(str) if data[c].dtype.kind in "iufb" else data[c].astype(str).str.strip())
            for c in data.columns if c != "start_date"}
    problems: dict[int, tuple[str, str]] = {}  # row index → (ledger column, problem); the first one per row

    def bad(mask: np.ndarray, column: str, problem: str) -> None:
        for i in np.flatnonzero(mask):
            problems.setdefault(int(i), (column, problem))

    def described(i: int) -> str:
        column, problem = problems[i]
        return f"column '{names[column]}' row {i + 1}: {problem}"

    if (text["customer_id"] == "").any():
        i = int(np.flatnonzero(text["customer_id"].to_numpy() == "")[0])
        raise InputError(source, f"column '{names['customer_id']}'", "empty customer id", row=i + 1)
    start, start_blank = date_cells(data["start_date"])
    bad(start.isna().to_numpy() | start_blank, "start_date", "not a date (YYYY-MM-DD expected)")
    # Exports write an open end as nothing, or as "nan", "None" or "null".
    raw_end = data["end_date"]
    open_end = _blank(raw_end) | text["end_date"].str.lower().isin(["nan", "none", "null"]).to_numpy()
    end, _ = date_cells(raw_end.where(~open_end))
    bad(end.isna().to_numpy() & ~open_end, "end_date", "not a date (leave it empty for an active subscription)")
    amount = (data["monthly_amount"].astype(float) if data["monthly_amount"].dtype.kind in "iuf"
              else pd.to_numeric(text["monthly_amount"], errors="coerce"))
    bad(~np.isfinite(amount.to_numpy(dtype=float)) | (amount.to_numpy(dtype=float) < 0), "monthly_amount",
        "not a finite amount ≥ 0")
    bad((end < start).to_numpy(), "end_date", "before the start date")
    if problems and not skip_bad_rows:
        first = min(problems)
        column, problem = problems[first]
        raise InputError(source, f"column '{names[column]}'", f"{problem} (or skip such rows with --skip-bad-rows)",
                         row=first + 1)
    keep = np.ones(len(data), bool)
    keep[list(problems)] = False
    ledger = pd.DataFrame({"customer_id": text["customer_id"], "start": start, "end": end, "amount": amount})
    for extra in ("subscription_id", "segment", "plan", "channel", "currency"):
        if extra in text:
            ledger[extra] = text[extra]
    ledger["row"] = np.arange(1, len(data) + 1)
    ledger = ledger[keep].reset_index(drop=True)
    if ledger.empty:
        raise InputError(source, None, f"every row has a problem (first: {described(min(problems))})")
    if "currency" in ledger:
        currencies = sorted(set(ledger["currency"]) - {""})
        if len(currencies) > 1:
            first = int(ledger.index[ledger["currency"] != currencies[0]][0])
            raise InputError(source, f"column '{names['currency']}'", f"several currencies ({', '.join(currencies)}); "
                                                                     "convert to one, or give one ledger per currency",
                             row=int(ledger["row"].iloc[first]))
    ledger["subscription_id"] = ledger.get("subscription_id", ledger["customer_id"])
    _refuse_overlaps(ledger, source, names)
    return ledger, {"rows": int(len(data)), "skipped": int(len(problems)),
                    "first_skipped": described(min(problems)) if problems else None}


def _refuse_overlaps(ledger: pd.DataFrame, source: str, names: dict) -> None:
    """Two periods of one subscription may follow each other but not overlap (a duplicated export row)."""
    from csim.errors import InputError

    order = ledger.sort_values(["subscription_id", "start"], kind="stable")
    same = order["subscription_id"].to_numpy()[1:] == order["subscription_id"].to_numpy()[:-1]
    previous_end = order["end"].to_numpy()[:-1]
    starts = order["start"].to_numpy()[1:]
    open_before = pd.isna(previous_end)
    overlap = same & (open_before | (starts < previous_end))
    if overlap.any():
        i = int(np.flatnonzero(overlap)[0])
        rows = order["row"].to_numpy()
        raise InputError(source, f"column '{names['subscription_id']}'",
                         f"subscription {order['subscription_id'].to_numpy()[i]!s} has overlapping periods in rows "
                         f"{rows[i]} and {rows[i + 1]} (a duplicated row?)", row=int(rows[i + 1]))


def _month_days(dates: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    """Calendar dates as run days with calendar month k mapped exactly onto [k, k + 1)·MONTH_DAYS,
    so the metric code's months are the ledger's calendar months."""
    month = (dates.dt.year - origin.year) * 12 + (dates.dt.month - origin.month)
    fraction = (dates.dt.day - 1) / dates.dt.days_in_month
    return ((month + fraction) * MONTH_DAYS).to_numpy(dtype=float)


def ledger_records(ledger: pd.DataFrame, as_of=None, name: str = "ledger") -> Records:
    """The ledger's history as :class:`~csim.records.Records`, for the metric code of ``csim run``.

    Day 0 is the first day of the month of the earliest start; the history ends at ``as_of``
    (default: the latest date in the ledger), after which nothing is read: changes dated on the
    as-of day count, later ones do not, even within its month (whose month-end figures are then
    those of the as-of day). Per customer, the
    amounts of all its running periods add up to its MRR; each change of that sum is one event:
    a first payment (``start``), a return after a gap (``reactivation``), a rise (``expansion``),
    a fall (``contraction``) or a fall to zero (``churn``: a ledger does not say why). Segment and
    channel come from the customer's first period; leads, CS touches and staffing are unknown.
    """
    from csim.engine.world import run_meta
    from csim.records import ACCOUNT_COLUMNS, EVENT_COLUMNS, LEAD_COLUMNS, TOUCH_COLUMNS, empty_table
    from csim.scenario.model import Scenario

    origin = ledger["start"].min().to_period("M").to_timestamp()
    last = max(ledger["start"].max(), ledger["end"].max() if ledger["end"].notna().any() else ledger["start"].max())
    as_of = pd.Timestamp(as_of) if as_of is not None else last
    months = max(1, (as_of.year - origin.year) * 12 + as_of.month - origin.month + (1 if as_of.day > 1 else 0))
    horizon = months * MONTH_DAYS
    customers, account = np.unique(ledger["customer_id"].to_numpy(), return_inverse=True)
    start = _month_days(ledger["start"], origin)
    end = np.where(ledger["end"].notna(), _month_days(ledger["end"].fillna(origin), origin), np.inf)
    cents = np.round(ledger["amount"].to_numpy(dtype=float) * 100).astype(np.int64)
    changes = pd.DataFrame({"account": np.concatenate([account, account]), "time": np.concatenate([start, end]),
                            "delta": np.concatenate([cents, -cents])})
    # Nothing after the as-of day is read, even when it falls mid-month (the last month is then
    # partial: its month-end figures are those of the as-of day).
    as_of_end = float(_month_days(pd.Series([as_of + pd.Timedelta(days=1)]), origin)[0])
    changes = changes[changes["time"] < min(horizon, as_of_end)]
    changes = changes.groupby(["account", "time"], sort=True, as_index=False)["delta"].sum()
    changes = changes[changes["delta"] != 0]
    after = changes.groupby("account")["delta"].cumsum().to_numpy()
    before = after - changes["delta"].to_numpy()
    seen_before = changes.groupby("account").cumcount().to_numpy() > 0
    kind = np.select([(before == 0) & ~seen_before, before == 0, after == 0, after > before],
                     [EVENT_KINDS.index("start"), EVENT_KINDS.index("reactivation"), EVENT_KINDS.index("churn"),
                      EVENT_KINDS.index("expansion")], EVENT_KINDS.index("contraction"))
    acc_of = changes["account"].to_numpy()
    time = changes["time"].to_numpy()

    first_period = ledger.assign(account=account, s=start).sort_values(["account", "s"]).groupby("account").first()
    segment_names = tuple(sorted(set(first_period["segment"]) - {""})) if "segment" in first_period else ()
    segment_of = (np.searchsorted(segment_names, first_period["segment"].to_numpy()).astype(np.int8)
                  if segment_names else np.zeros(len(customers), np.int8))
    segment_names = segment_names or ("all",)
    channel_of = (np.where(first_period["channel"].str.lower().to_numpy() == "referral", CHANNELS.index("referral"),
                           CHANNELS.index("marketing")) if "channel" in first_period
                  else np.full(len(customers), CHANNELS.index("marketing")))
    first_time = pd.Series(time).groupby(acc_of).min().reindex(range(len(customers))).to_numpy()
    churn_kind = kind == EVENT_KINDS.index("churn")
    first_churn = pd.Series(time[churn_kind]).groupby(acc_of[churn_kind]).min().reindex(range(len(customers))).to_numpy()
    final = pd.Series(after).groupby(acc_of).last().reindex(range(len(customers))).fillna(0).to_numpy()
    first_amount = pd.Series(after).groupby(acc_of).first().reindex(range(len(customers))).fillna(0).to_numpy()
    n_events = len(time)
    events = {
        "replication": np.zeros(n_events, np.int32), "time": time, "account": acc_of.astype(np.int64),
        "kind": kind.astype(np.int8), "mrr_before": before.astype(np.int64), "mrr_after": after.astype(np.int64),
        "stage": np.where(after == 0, STAGE_CHURNED, STAGE_GROWTH).astype(np.int8),
        "segment": segment_of[acc_of], "cohort": np.floor(first_time[acc_of] / MONTH_DAYS).astype(np.int32),
        "health": np.full(n_events, np.nan, np.float32),
    }
    present = ~np.isnan(first_time)  # customers whose first payment is before as_of
    ids = np.flatnonzero(present)
    accounts = {
        "replication": np.zeros(len(ids), np.int32), "account": ids.astype(np.int64), "segment": segment_of[ids],
        "channel": channel_of[ids].astype(np.int8), "icp_fit": np.ones(len(ids), bool),
        "cohort": np.floor(first_time[ids] / MONTH_DAYS).astype(np.int32), "start": first_time[ids],
        "entry": first_time[ids], "end": np.where(np.isnan(first_churn[ids]), horizon, first_churn[ids]),
        "churned": ~np.isnan(first_churn[ids]), "first_value": np.zeros(len(ids), bool),
        "first_value_day": np.full(len(ids), np.nan), "term_months": np.ones(len(ids), np.int16),
        "initial_mrr": first_amount[ids].astype(np.int64), "final_mrr": final[ids].astype(np.int64),
        "renewals": np.zeros(len(ids), np.int32),
        "expansions": np.bincount(acc_of[kind == EVENT_KINDS.index("expansion")],
                                  minlength=len(customers))[ids].astype(np.int32),
        "touches": np.zeros(len(ids), np.int32),
        "reactivated": np.bincount(acc_of[kind == EVENT_KINDS.index("reactivation")],
                                   minlength=len(customers))[ids] > 0,
    }
    # What a ledger cannot tell (margin, discounting) comes from the defaults; it has no CS team
    # and no marketing spend (their metrics are marked unknown by mark_unknown).
    meta = {**run_meta(Scenario(name=name)), "strategy": "ledger", "cs_headcount": 0, "csm_cost_per_year": 0.0,
            "marketing_cost_per_lead": 0.0}
    return Records(events={k: v.astype(EVENT_COLUMNS[k], copy=False) for k, v in events.items()},
                   accounts={k: np.asarray(v).astype(ACCOUNT_COLUMNS[k], copy=False) for k, v in accounts.items()},
                   leads=empty_table(LEAD_COLUMNS), touches=empty_table(TOUCH_COLUMNS), horizon_days=horizon,
                   segments=segment_names, meta=meta)



#: Metrics a ledger cannot give: acquisition spend and CS effort are not in a billing export.
NOT_IN_A_LEDGER = ("acquisition_spend", "cac", "cac_per_new_arr", "ltv_cac", "cac_payback_months",
                   "gross_profit_after_cs", "cs_cost", "csm_hours_used", "cs_utilisation", "cs_months_saturated",
                   "mean_touch_wait_days", "touches_expired_share", "cs_unserved_share", "cs_backlog_at_horizon")


def mark_unknown(result: dict, has_channel: bool) -> None:
    """Set the metrics a ledger cannot give to undefined (NaN) in a :func:`csim.metrics.summary`
    result, with the reason, instead of the zeros empty lead and touch tables would produce."""
    unknown = NOT_IN_A_LEDGER + (() if has_channel else ("referral_share",))
    for name in unknown:
        metric = result["metrics"].get(name)
        if metric is None:
            continue
        for key in ("mean", "ci_low", "ci_high"):
            metric[key] = float("nan")
        metric["per_replication"] = [float("nan")] * len(metric["per_replication"])
        metric["n"] = 0
        reason = ("a ledger has no channel column" if name == "referral_share"
                  else "not in a ledger (acquisition spend and CS effort are not billing data)")
        result.setdefault("nan_reasons", {})[name] = [reason]


def segment_records(records: Records) -> dict[str, Records]:
    """The records of each segment alone (accounts and their events), to measure segments apart."""
    from dataclasses import replace

    out = {}
    for code, name in enumerate(records.segments):
        keep_events = records.events["segment"] == code
        keep_accounts = records.accounts["segment"] == code
        out[name] = replace(records, events={k: v[keep_events] for k, v in records.events.items()},
                            accounts={k: v[keep_accounts] for k, v in records.accounts.items()})
    return out
