"""Survival data from a simulation's account table (``csim.records.ACCOUNT_COLUMNS``).

The simulator records days since the start of the run. Accounts of the initial book started
before day 0 but are only observed from day 0: they are **left-truncated** (an account that
churned before day 0 never appears), so their tenure at day 0 is passed as ``entry`` and the
fitters that accept it (Kaplan–Meier, Cox, parametric) only count them from then on.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from csim.records import CHANNELS, MONTH_DAYS

#: Days per tenure unit.
UNIT_DAYS = {"days": 1.0, "months": MONTH_DAYS, "years": 12.0 * MONTH_DAYS}

#: Account attributes carried along for groups and covariates.
ATTRIBUTE_COLUMNS = ("replication", "segment", "channel", "icp_fit", "first_value", "cohort", "term_months")


def survival_data_from_accounts(accounts, unit: str = "months", segments: Sequence[str] | None = None) -> pd.DataFrame:
    """Tenure table from a simulated account table.

    Parameters
    ----------
    accounts : DataFrame or mapping of column → array with at least ``start``, ``entry``,
        ``end`` (days) and ``churned`` (bool).
    unit : "months" (default, ``MONTH_DAYS`` = 365.25/12 days), "days" or "years".
    segments : optional segment names to decode the ``segment`` codes (``Records.segments``).

    Returns a DataFrame with ``duration`` (tenure at churn or at the horizon, in ``unit``),
    ``event`` (1 = churned), ``entry`` (tenure when observation began; > 0 only for the
    initial book) and the attribute columns present (``segment``, ``channel`` decoded to
    names, ``icp_fit``, ``first_value``, ``replication``, …).
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
