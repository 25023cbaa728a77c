"""Hand-made records for the metrics tests (the engine is not needed to test metrics)."""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from csim.records import (
    ACCOUNT_COLUMNS,
    CHANNELS,
    EVENT_COLUMNS,
    EVENT_KINDS,
    LEAD_COLUMNS,
    LEAD_OUTCOMES,
    MONTH_DAYS,
    TOUCH_COLUMNS,
    TOUCH_OUTCOMES,
    Records,
)

DEFAULTS = {
    "events": {"replication": 0, "stage": 0, "segment": 0, "cohort": 0, "health": 0.5},
    "accounts": {
        "replication": 0, "segment": 0, "channel": CHANNELS.index("marketing"), "icp_fit": True,
        "cohort": 0, "start": 0.0, "entry": 0.0, "end": 0.0, "churned": False, "first_value": False,
        "first_value_day": np.nan, "term_months": 12, "initial_mrr": 0, "final_mrr": 0, "renewals": 0,
        "expansions": 0, "touches": 0, "reactivated": False,
    },
    "leads": {"replication": 0, "segment": 0, "icp_fit": True, "account": -1, "cost": 0.0,
              "channel": CHANNELS.index("marketing")},
    "touches": {"replication": 0, "play": 0, "touch": 0, "segment": 0, "started": np.nan,
                "finished": np.nan, "csm_hours": 0.0},
}
SCHEMAS = {"events": EVENT_COLUMNS, "accounts": ACCOUNT_COLUMNS, "leads": LEAD_COLUMNS, "touches": TOUCH_COLUMNS}
CODES = {"kind": EVENT_KINDS, "outcome_leads": LEAD_OUTCOMES, "outcome_touches": TOUCH_OUTCOMES, "channel": CHANNELS}


def _code(table: str, column: str, value):
    if not isinstance(value, str):
        return value
    key = f"{column}_{table}" if column == "outcome" else column
    return CODES[key].index(value)


def table(name: str, rows: Iterable[Mapping]) -> dict[str, np.ndarray]:
    """A columnar table from row dicts; missing columns take DEFAULTS, names become codes."""
    rows = [{**DEFAULTS[name], **row} for row in rows]
    return {
        col: np.array([_code(name, col, r[col]) for r in rows], dtype=dtype)
        for col, dtype in SCHEMAS[name].items()
    }


def records(events=(), accounts=(), leads=(), touches=(), *, months: int = 3, segments=("smb", "enterprise"),
            meta: Mapping | None = None) -> Records:
    """Records over ``months`` months built from row dicts."""
    return Records(
        events=table("events", events),
        accounts=table("accounts", accounts),
        leads=table("leads", leads),
        touches=table("touches", touches),
        horizon_days=months * MONTH_DAYS,
        segments=tuple(segments),
        meta=dict(meta or {}),
    )


def mrr_event(account: int, time: float, before: int, after: int, kind: str | None = None, replication: int = 0):
    """An MRR-moving event; the kind is inferred from the transition unless given."""
    if kind is None:
        kind = ("start" if before == 0 else "churn" if after == 0
                else "expansion" if after > before else "contraction")
    return {"replication": replication, "account": account, "time": time, "kind": kind,
            "mrr_before": before, "mrr_after": after}
