"""Columnar records: the one interface between the simulation engine and everything downstream.

The engine fills these with plain Python ``array`` buffers and hands them over as numpy
arrays. Nothing here imports pandas; tables are built at the edge (:mod:`csim.tables`).

Units: times are **days since the start of the run** (day 0 = start of month 0; the initial
book's start dates are negative). Money is **integer cents of monthly recurring revenue (MRR)**
so that the MRR bridge holds exactly. A month is ``MONTH_DAYS`` days; month ``m`` covers
``[m * MONTH_DAYS, (m + 1) * MONTH_DAYS)``.

Five tables, each a mapping ``column -> 1-d numpy array`` of equal length:

``events``   one row per account event (lifecycle, MRR movement, milestone).
``accounts`` one row per account per replication, in survival form.
``leads``    one row per lead that entered the sales pipeline.
``touches``  one row per customer-success touch that was requested.
``staffing`` one row per replication and month: the CS team's headcount and capacity.

Categorical columns hold small integer codes; the name tuples below decode them
(``EVENT_KINDS[code]``). Codes are part of the file format: append, never reorder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

#: Days in one month (Julian year / 12). Month m spans [m*MONTH_DAYS, (m+1)*MONTH_DAYS).
MONTH_DAYS: float = 365.25 / 12.0

#: Account event kinds. MRR-changing kinds carry mrr_before != mrr_after.
EVENT_KINDS: tuple[str, ...] = (
    "opening",             # 0 initial-book account present at day 0 (mrr_before=0): opening balance, not "new"
    "start",               # 1 first payment of a newly won account (new MRR)
    "first_value",         # 2 first-value milestone reached
    "first_value_missed",  # 3 onboarding window closed without first value
    "renewal_window",      # 4 entered the renewal window of the current term
    "renewal",             # 5 term renewed (mrr_after may include a price uplift or a downgrade)
    "expansion",           # 6 mid-term MRR increase (upsell, cross-sell, usage growth)
    "contraction",         # 7 MRR decrease short of zero
    "churn",               # 8 voluntary churn: MRR to zero at the end of a term
    "churn_involuntary",   # 9 failed payment not recovered: MRR to zero
    "payment_failed",      # 10 a payment failed; dunning starts
    "payment_recovered",   # 11 dunning succeeded
    "reactivation",        # 12 a churned account pays again (0 -> MRR)
    "referral",            # 13 the account referred a lead
    "churn_intent",        # 14 the account decided not to renew (notice given before term end)
    "saved",               # 15 a save attempt reversed a churn intent
)

#: Lifecycle stage of the account when the event happened.
STAGES: tuple[str, ...] = ("onboarding", "growth", "renewal", "churned")

#: Acquisition channel of an account or lead.
CHANNELS: tuple[str, ...] = ("initial", "marketing", "referral")

#: How a lead ended: won, lost in sales, lost to bad word of mouth, or still open at the horizon.
LEAD_OUTCOMES: tuple[str, ...] = ("won", "not_converted", "word_of_mouth", "open")

#: What became of a touch request. Every request ends as exactly one: ``done`` (served: a CSM
#: started it; ``finished`` is NaN if it was still in service at the horizon), ``expired`` (still
#: waiting at its deadline, recorded then), ``cancelled`` (the account churned while it waited,
#: recorded then), or ``waiting`` (not started by the horizon).
TOUCH_OUTCOMES: tuple[str, ...] = ("done", "expired", "cancelled", "waiting")

EVENT_COLUMNS: Mapping[str, str] = {
    "replication": "int32",
    "time": "float64",        # days
    "account": "int64",
    "kind": "int8",           # EVENT_KINDS code
    "mrr_before": "int64",    # cents
    "mrr_after": "int64",     # cents
    "stage": "int8",          # STAGES code
    "segment": "int8",        # index into the scenario's segment names
    "cohort": "int32",        # acquisition month (negative for the initial book)
    "health": "float32",      # health score in [0, 1] after the event
}

ACCOUNT_COLUMNS: Mapping[str, str] = {
    "replication": "int32",
    "account": "int64",
    "segment": "int8",
    "channel": "int8",            # CHANNELS code
    "icp_fit": "bool",            # True = good fit with the ideal customer profile
    "cohort": "int32",            # acquisition month (floor(start / MONTH_DAYS))
    "start": "float64",           # day of first payment (negative for the initial book)
    "entry": "float64",           # day observation began: max(start, 0) (left truncation)
    "end": "float64",             # day of first churn, or the horizon if censored
    "churned": "bool",            # True if `end` is a churn (first churn), False if censored
    "first_value": "bool",        # reached the first-value milestone
    "first_value_day": "float64", # days after start; NaN if never reached
    "term_months": "int16",       # contract term in months
    "initial_mrr": "int64",       # cents, at start
    "final_mrr": "int64",         # cents, at the horizon (0 if churned and not reactivated)
    "renewals": "int32",          # renewals completed
    "expansions": "int32",        # mid-term expansion events
    "touches": "int32",           # CS touches completed
    "reactivated": "bool",        # paid again after a churn
}

LEAD_COLUMNS: Mapping[str, str] = {
    "replication": "int32",
    "lead": "int64",
    "channel": "int8",       # CHANNELS code (marketing or referral)
    "segment": "int8",
    "icp_fit": "bool",
    "arrived": "float64",    # day the lead entered the pipeline
    "closed": "float64",     # day the deal was won or lost
    "outcome": "int8",       # LEAD_OUTCOMES code
    "account": "int64",      # account id if won, else -1
    "cost": "float64",       # acquisition spend attributed to the lead, currency units:
                             # marketing cost per lead (marketing channel) + sales cost if won
}

TOUCH_COLUMNS: Mapping[str, str] = {
    "replication": "int32",
    "account": "int64",
    "play": "int16",         # index of the play in the scenario's strategy
    "touch": "int16",        # index into csim.strategy.TOUCH_KINDS
    "segment": "int8",
    "requested": "float64",  # day
    "started": "float64",    # day; NaN if never started
    "finished": "float64",   # day; NaN if never finished (not served, or in service at the horizon)
    "csm_hours": "float64",  # CSM hours worked within the run (0 for tech-touch or if not started)
    "outcome": "int8",       # TOUCH_OUTCOMES code
    "ended": "float64",      # day the request left the system: finished, expired or cancelled;
                             # NaN while waiting or in service at the horizon
}

STAFFING_COLUMNS: Mapping[str, str] = {
    "replication": "int32",
    "month": "int32",
    "headcount": "int32",          # CSMs on the team at the month end
    "productive_fte": "float64",   # CSMs at full productivity equivalent at the month end (ramping hires count part)
    "capacity_hours": "float64",   # CSM hours available for touches in the month (productive FTE over time)
    "csm_days": "float64",         # CSM-days paid in the month (headcount over time): CS cost follows it
}

TABLES: Mapping[str, Mapping[str, str]] = {
    "events": EVENT_COLUMNS,
    "accounts": ACCOUNT_COLUMNS,
    "leads": LEAD_COLUMNS,
    "touches": TOUCH_COLUMNS,
    "staffing": STAFFING_COLUMNS,
}


def empty_table(columns: Mapping[str, str]) -> dict[str, np.ndarray]:
    """A table with the given schema and no rows."""
    return {name: np.empty(0, dtype=dtype) for name, dtype in columns.items()}


def _check_table(name: str, table: Mapping[str, np.ndarray]) -> None:
    schema = TABLES[name]
    if set(table) != set(schema):
        raise ValueError(f"{name}: columns {sorted(table)} != schema {sorted(schema)}")
    lengths = {len(col) for col in table.values()}
    if len(lengths) > 1:
        raise ValueError(f"{name}: columns have different lengths {sorted(lengths)}")


@dataclass(frozen=True)
class Records:
    """Everything one or more replications of a run produced.

    Attributes
    ----------
    events, accounts, leads, touches:
        Columnar tables (see module docstring and the ``*_COLUMNS`` schemas).
    horizon_days:
        Length of the run in days; the run covers ``[0, horizon_days)``.
    segments:
        Segment names, decoding the ``segment`` code columns.
    meta:
        Facts downstream code needs that are not per-row (costs, team size, …), set by the
        engine from the scenario. Keys are documented in ``docs/model.md``.
    """

    events: dict[str, np.ndarray]
    accounts: dict[str, np.ndarray]
    leads: dict[str, np.ndarray]
    touches: dict[str, np.ndarray]
    horizon_days: float
    segments: tuple[str, ...]
    meta: dict = field(default_factory=dict)
    #: The CS team month by month (empty for records built without it: metrics then use ``meta``).
    staffing: dict[str, np.ndarray] = field(default_factory=lambda: empty_table(STAFFING_COLUMNS))

    def __post_init__(self) -> None:
        for name in TABLES:
            _check_table(name, getattr(self, name))

    @property
    def horizon_months(self) -> int:
        """Whole months in the run."""
        return int(round(self.horizon_days / MONTH_DAYS))

    @property
    def replications(self) -> np.ndarray:
        """Sorted replication numbers present in the accounts or events tables."""
        return np.unique(np.concatenate([self.accounts["replication"], self.events["replication"]]))

    @staticmethod
    def concat(parts: "list[Records]") -> "Records":
        """Stack the records of several replications (same scenario) into one."""
        if not parts:
            raise ValueError("concat needs at least one Records")
        first = parts[0]
        tables = {
            name: {
                col: np.concatenate([getattr(p, name)[col] for p in parts]).astype(dtype, copy=False)
                for col, dtype in schema.items()
            }
            for name, schema in TABLES.items()
        }
        return Records(horizon_days=first.horizon_days, segments=first.segments, meta=dict(first.meta), **tables)
