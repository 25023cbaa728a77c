"""Customer-success workload per month from the ``touches`` table.

CSM capacity per month = ``cs_headcount * cs_hours_per_week * MONTH_DAYS / 7`` hours (from
``Records.meta``). Hours count in the month a touch **finished**; waits (``started -
requested``, days) in the month it **started**. Expired touches count in the month they were
**requested**, because the contract records no expiry time.
"""

from __future__ import annotations

import numpy as np

from csim.metrics.calendar import month_index, per_month
from csim.records import MONTH_DAYS, TOUCH_OUTCOMES, Records

__all__ = ["cs_by_month", "csm_hours_available"]

EXPIRED = TOUCH_OUTCOMES.index("expired")


def csm_hours_available(meta: dict, days: float) -> float:
    """CSM hours the team can give over ``days`` days; NaN if team size or hours are unknown."""
    headcount = meta.get("cs_headcount")
    per_week = meta.get("cs_hours_per_week")
    if headcount is None or per_week is None:
        return float("nan")
    return float(headcount) * float(per_week) * days / 7.0


def cs_by_month(records: Records, replication: int, n_months: int) -> dict[str, np.ndarray]:
    """Per-month CS workload of one replication (arrays of length ``n_months``).

    Keys: ``cs_hours`` (CSM hours of touches finished in the month), ``cs_utilisation``
    (``cs_hours`` / hours available in a month; NaN with no CSM capacity), ``touches_done``,
    ``touches_expired``, ``mean_touch_wait_days`` (NaN in a month where no touch started).
    """
    t = records.touches
    sel = t["replication"] == replication
    requested, started, finished = t["requested"][sel], t["started"][sel], t["finished"][sel]
    done_month = month_index(finished, n_months)  # NaN -> outside the run
    start_month = month_index(started, n_months)
    hours = per_month(done_month, n_months, t["csm_hours"][sel])
    starts = per_month(start_month, n_months)
    wait_sum = per_month(start_month, n_months, started - requested)
    capacity = csm_hours_available(records.meta, MONTH_DAYS)
    utilisation = np.full(n_months, np.nan)
    if capacity > 0:
        utilisation = hours / capacity
    wait = np.full(n_months, np.nan)
    np.divide(wait_sum, starts, out=wait, where=starts > 0)
    expired = t["outcome"][sel] == EXPIRED
    return {
        "cs_hours": hours,
        "cs_utilisation": utilisation,
        "touches_done": per_month(done_month, n_months),
        "touches_expired": per_month(month_index(requested[expired], n_months), n_months),
        "mean_touch_wait_days": wait,
    }
