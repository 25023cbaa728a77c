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
                "finished": np.nan, "csm_hours": 0.0, "ended": np.nan},
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


def tiny_book():
    """Four accounts, four months (cents). Month-end MRR:

    account 1: opening 10000 | 10000, 15000 (expansion d40), 0 (churn d70), 12000 (reactivation d95)
    account 2: new d10 5000  |  5000,  3000 (contraction d45), 3000, 3000
    account 3: opening 20000 | 20000, 20000, 0 (churn exactly on the month-2 edge), 0
    account 4: start d5, churn d20 (inside month 0) | 0, 8000 (pays again d50: reactivation), 8000, 8000
    """
    events = [
        mrr_event(1, 0.0, 0, 10000, "opening"),
        mrr_event(1, 40.0, 10000, 15000),
        mrr_event(1, 70.0, 15000, 0),
        mrr_event(1, 95.0, 0, 12000, "reactivation"),
        mrr_event(2, 10.0, 0, 5000),
        {"account": 2, "time": 20.0, "kind": "first_value", "mrr_before": 0, "mrr_after": 0},  # not an MRR event
        mrr_event(2, 45.0, 5000, 3000),
        mrr_event(3, 0.0, 0, 20000, "opening"),
        mrr_event(3, 2 * MONTH_DAYS, 20000, 0),
        mrr_event(4, 5.0, 0, 4000),
        mrr_event(4, 20.0, 4000, 0, "churn_involuntary"),
        mrr_event(4, 50.0, 0, 8000, "reactivation"),
    ]
    leads = [
        {"lead": 0, "arrived": 2.0, "closed": 10.0, "outcome": "won", "account": 2, "cost": 300.0},
        {"lead": 1, "arrived": 1.0, "closed": 5.0, "outcome": "won", "account": 4, "cost": 50.0, "channel": "referral"},
        {"lead": 2, "arrived": 35.0, "closed": 36.0, "outcome": "not_converted", "cost": 100.0},
    ]
    touches = [
        {"account": 1, "requested": 3.0, "started": 5.0, "finished": 6.0, "csm_hours": 2.0, "outcome": "done",
         "ended": 6.0},
        {"account": 2, "requested": 31.0, "started": 40.0, "finished": 65.0, "csm_hours": 3.5, "outcome": "done",
         "ended": 65.0},
        {"account": 3, "requested": 50.0, "outcome": "expired", "ended": 60.0},
        {"account": 1, "requested": 20.0, "outcome": "cancelled", "ended": 25.0},
        {"account": 4, "requested": 70.0, "outcome": "waiting"},
    ]
    accounts = [
        {"account": 1, "channel": "initial", "start": -100.0, "cohort": -4},
        {"account": 2, "channel": "marketing", "start": 10.0, "initial_mrr": 5000},
        {"account": 3, "channel": "initial", "start": -200.0, "cohort": -7},
        {"account": 4, "channel": "referral", "start": 5.0, "initial_mrr": 4000},
    ]
    # One CSM-hour a day: MONTH_DAYS hours a month.
    meta = {"cs_headcount": 1, "cs_hours_per_week": 7.0, "gross_margin": 0.8, "csm_cost_per_year": 120000.0,
            "discount_rate_annual": 0.1, "scenario_name": "tiny"}
    return records(events, accounts=accounts, leads=leads, touches=touches, months=4, meta=meta)


def stacked(book: Records, replications: Iterable[int]) -> Records:
    """Copies of a one-replication book, renumbered as the given replications."""
    replications = list(replications)
    tables = {}
    for name in SCHEMAS:
        part = getattr(book, name)
        rows = len(part["replication"])
        tables[name] = {col: np.concatenate([v] * len(replications)) for col, v in part.items()}
        tables[name]["replication"] = np.repeat(np.asarray(replications, dtype=np.int32), rows)
    return Records(horizon_days=book.horizon_days, segments=book.segments, meta=dict(book.meta), **tables)
