"""Survival data from a simulation's account table (``csim.records.ACCOUNT_COLUMNS``).

The simulator records days since the start of the run. Accounts of the initial book started
before day 0 but are only observed from day 0: they are **left-truncated** (an account that
churned before day 0 never appears), so their tenure at day 0 is passed as ``entry`` and the
fitters that accept it (Kaplan–Meier, Cox, parametric) only count them from then on.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from csim.records import CHANNELS, EVENT_KINDS, MONTH_DAYS

#: Days per tenure unit.
UNIT_DAYS = {"days": 1.0, "months": MONTH_DAYS, "years": 12.0 * MONTH_DAYS}

#: Account attributes carried along for groups and covariates.
ATTRIBUTE_COLUMNS = ("replication", "segment", "channel", "icp_fit", "first_value", "cohort", "term_months")

#: Churn causes of :func:`churn_causes`: code → name (0 = not churned within the run).
CHURN_CAUSES = {0: "censored", 1: "voluntary", 2: "involuntary"}

#: Event kinds that end an account's paying life, and the cause code each stands for.
CHURN_EVENT_CAUSES = {"churn": 1, "churn_involuntary": 2}


def survival_data_from_accounts(accounts, unit: str = "months", segments: Sequence[str] | None = None,
                                events=None) -> pd.DataFrame:
    """Tenure table from a simulated account table.

    Parameters
    ----------
    accounts : DataFrame or mapping of column → array with at least ``start``, ``entry``,
        ``end`` (days) and ``churned`` (bool).
    unit : "months" (default, ``MONTH_DAYS`` = 365.25/12 days), "days" or "years".
    segments : optional segment names to decode the ``segment`` codes (``Records.segments``).
    events : optional events table of the same run; adds a ``cause`` column (see :func:`churn_causes`).

    Returns a DataFrame with ``duration`` (tenure at churn or at the horizon, in ``unit``),
    ``event`` (1 = churned), ``entry`` (tenure when observation began; > 0 only for the
    initial book), ``cause`` when ``events`` is given, and the attribute columns present
    (``segment``, ``channel`` decoded to names, ``icp_fit``, ``first_value``, ``replication``, …).
    """
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit must be one of {sorted(UNIT_DAYS)}")
    table = accounts if isinstance(accounts, pd.DataFrame) else pd.DataFrame(dict(accounts))
    missing = [c for c in ("start", "entry", "end", "churned") if c not in table.columns]
    if missing:
        raise ValueError(f"account table lacks columns {missing}")
    scale = UNIT_DAYS[unit]
    start = table["start"].to_numpy(float)
    out = pd.DataFrame({
        "duration": (table["end"].to_numpy(float) - start) / scale,
        "event": table["churned"].to_numpy().astype(int),
        "entry": (table["entry"].to_numpy(float) - start) / scale,
    })
    if events is not None:
        out["cause"] = churn_causes({"accounts": table, "events": events})
    for column in ATTRIBUTE_COLUMNS:
        if column in table.columns:
            out[column] = table[column].to_numpy()
    if "channel" in out and pd.api.types.is_integer_dtype(out["channel"]):
        out["channel"] = [CHANNELS[int(c)] for c in out["channel"]]
    if segments is not None and "segment" in out:
        out["segment"] = [segments[int(c)] for c in out["segment"]]
    return out


def is_account_table(frame: pd.DataFrame | Mapping) -> bool:
    """True when the table has the simulator's survival columns (start, entry, end, churned)."""
    return all(c in frame for c in ("start", "entry", "end", "churned"))


def _column(table, name: str) -> np.ndarray | None:
    if isinstance(table, pd.DataFrame):
        return table[name].to_numpy() if name in table.columns else None
    return np.asarray(table[name]) if name in table else None


def _kind_codes(kinds: np.ndarray) -> np.ndarray:
    """Event kinds as ``EVENT_KINDS`` codes, whether stored as codes or decoded to names."""
    if np.issubdtype(np.asarray(kinds).dtype, np.integer):
        return np.asarray(kinds, dtype=np.int64)
    names = pd.Series(kinds, dtype="object").astype(str)
    codes = names.map({name: i for i, name in enumerate(EVENT_KINDS)})
    if codes.isna().any():
        raise ValueError(f"events: unknown event kind {names[codes.isna()].iloc[0]!r}")
    return codes.to_numpy(np.int64)


def churn_causes(records_or_tables) -> np.ndarray:
    """Cause of each account's first churn, aligned with the rows of the accounts table.

    The accounts table says *whether* and *when* an account first churned (``churned``,
    ``end``); the events table says *why*: kind ``churn`` (voluntary: the account gave notice
    and did not renew) or ``churn_involuntary`` (a failed payment that dunning did not recover).
    An account that came back (``reactivated``) and churned again keeps the cause of its
    **first** churn, the one its tenure ends at. The simulator has no downgrade-to-zero
    (a contraction stops short of zero MRR), so there is no third cause.

    Parameters
    ----------
    records_or_tables : a :class:`csim.records.Records`, or a mapping with ``"accounts"`` and
        ``"events"`` tables (DataFrames or mappings of column → array, event kinds as codes or
        names, e.g. read back from ``accounts.parquet`` / ``events.parquet``).

    Returns an int8 array: 0 = not churned within the run (censored), 1 = voluntary,
    2 = involuntary (:data:`CHURN_CAUSES`). Raises ``ValueError`` when the tables disagree (a
    churned account without a churn event, or a first churn event at another day than ``end``).
    """
    if hasattr(records_or_tables, "accounts") and hasattr(records_or_tables, "events"):
        accounts, events = records_or_tables.accounts, records_or_tables.events
    else:
        accounts, events = records_or_tables["accounts"], records_or_tables["events"]
    n = len(_column(accounts, "account"))
    acc_rep = _column(accounts, "replication")
    acc_rep = np.zeros(n, np.int64) if acc_rep is None else acc_rep.astype(np.int64)
    churned = _column(accounts, "churned").astype(bool)
    end = _column(accounts, "end").astype(float)

    kind = _kind_codes(_column(events, "kind"))
    cause_of_kind = np.zeros(len(EVENT_KINDS), np.int8)
    for name, cause in CHURN_EVENT_CAUSES.items():
        cause_of_kind[EVENT_KINDS.index(name)] = cause
    ev_cause = cause_of_kind[kind]
    keep = ev_cause > 0
    ev_rep = _column(events, "replication")
    ev_rep = np.zeros(len(kind), np.int64) if ev_rep is None else ev_rep.astype(np.int64)
    churns = pd.DataFrame({"replication": ev_rep[keep], "account": _column(events, "account")[keep].astype(np.int64),
                           "time": _column(events, "time")[keep].astype(float), "cause": ev_cause[keep]})
    # First churn per account: earliest day, record order breaking ties (a stable sort).
    first = churns.sort_values("time", kind="stable").drop_duplicates(["replication", "account"], keep="first")
    keys = pd.MultiIndex.from_arrays([acc_rep, _column(accounts, "account").astype(np.int64)])
    found = first.set_index(["replication", "account"]).reindex(keys)
    has_churn = found["cause"].notna().to_numpy()
    causes = np.where(churned & has_churn, found["cause"].fillna(0).to_numpy(), 0).astype(np.int8)
    missing = churned & ~has_churn
    if missing.any():
        raise ValueError(f"{int(missing.sum())} churned accounts have no churn event (first: account "
                         f"{int(_column(accounts, 'account')[missing][0])}); are the tables from the same run?")
    day = found["time"].to_numpy(float)
    # The accounts table copies the day of the first churn event, so they agree to the bit; a
    # tolerance of a millionth of a day only allows for a float round trip through a file.
    off = churned & ~np.isclose(day, end, rtol=0.0, atol=1e-6)
    if off.any():
        raise ValueError(f"{int(off.sum())} churned accounts end at another day than their first churn event "
                         f"(first: account {int(_column(accounts, 'account')[off][0])})")
    return causes
