"""Customer-success workload from the ``touches`` table: per month, and per replication.

CSM capacity per month: from the ``staffing`` table (the team month by month, ramping hires at
part productivity), or ``cs_headcount * cs_hours_per_week * MONTH_DAYS / 7`` hours from
``Records.meta`` for records without one. Every request ends as exactly one outcome (``csim.records.TOUCH_OUTCOMES``):
served (``done``), expired at its deadline, cancelled when its account churned, or waiting at
the horizon, so per month ``requests made`` and the requests' fates add up, and the backlog at
a month end is what was requested and had not yet started, expired or been cancelled.

Which month a row counts in: hours in the month a touch **finished**; requests in the month
they were **requested**; served in the month the touch **started**; expired and cancelled in
the month they **ended** (the deadline, the churn); waits in the month the wait ended (start,
expiry or cancellation).
"""

from __future__ import annotations

import numpy as np

from csim.metrics.calendar import month_edges, month_index, per_month
from csim.records import MONTH_DAYS, TOUCH_OUTCOMES, Records

__all__ = ["cs_by_month", "csm_hours_available", "cs_effort", "SATURATED"]

DONE, EXPIRED, CANCELLED, WAITING = (TOUCH_OUTCOMES.index(o) for o in ("done", "expired", "cancelled", "waiting"))

#: Utilisation above which a month counts as saturated: the queue, not the strategy, sets what gets done.
SATURATED = 0.85


def csm_hours_available(meta: dict, days: float) -> float:
    """CSM hours the team can give over ``days`` days; NaN if team size or hours are unknown."""
    headcount = meta.get("cs_headcount")
    per_week = meta.get("cs_hours_per_week")
    if headcount is None or per_week is None:
        return float("nan")
    return float(headcount) * float(per_week) * days / 7.0


def team_by_month(records: Records, replication: int, n_months: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(capacity_hours, csm_days)`` per month from the ``staffing`` table, or None for records
    without one (then the fixed team of ``meta`` applies)."""
    staff = records.staffing
    sel = staff["replication"] == replication
    if not sel.any():
        return None
    capacity = np.full(n_months, np.nan)
    days = np.zeros(n_months)
    month = staff["month"][sel]
    inside = (month >= 0) & (month < n_months)
    capacity[month[inside]] = staff["capacity_hours"][sel][inside]
    days[month[inside]] = staff["csm_days"][sel][inside]
    return capacity, days


def _wait_end(t: dict) -> np.ndarray:
    """Day each request stopped waiting: its start if served, else its end (NaN if still waiting)."""
    return np.where(t["outcome"] == DONE, t["started"], t["ended"])


def cs_by_month(records: Records, replication: int, n_months: int) -> dict[str, np.ndarray]:
    """Per-month CS workload of one replication (arrays of length ``n_months``).

    Keys: ``cs_hours`` (CSM hours of touches finished in the month), ``cs_utilisation``
    (``cs_hours`` / hours available in a month; NaN with no CSM capacity), ``touches_done``
    (finished in the month), ``touches_expired`` (expired in the month), ``mean_touch_wait_days``
    (started − requested over touches started in the month), ``cs_requests``, ``cs_served``
    (started in the month), ``cs_expired``, ``cs_cancelled``, ``cs_backlog`` (requests waiting at
    the month end), ``cs_wait_mean_days`` (mean wait over requests whose wait ended in the month,
    expired ones counted to their expiry, cancelled ones to the churn).
    """
    t = records.touches
    sel = t["replication"] == replication
    t = {k: v[sel] for k, v in t.items()}
    requested, started, finished, outcome = t["requested"], t["started"], t["finished"], t["outcome"]
    wait_end = _wait_end(t)
    done_month = month_index(finished, n_months)  # NaN -> outside the run
    start_month = month_index(started, n_months)
    wait_month = month_index(wait_end, n_months)
    hours = per_month(done_month, n_months, t["csm_hours"])
    starts = per_month(start_month, n_months)
    wait_sum = per_month(start_month, n_months, started - requested)
    team = team_by_month(records, replication, n_months)
    capacity = np.full(n_months, csm_hours_available(records.meta, MONTH_DAYS)) if team is None else team[0]
    utilisation = np.full(n_months, np.nan)
    np.divide(hours, capacity, out=utilisation, where=capacity > 0)
    wait = np.full(n_months, np.nan)
    np.divide(wait_sum, starts, out=wait, where=starts > 0)
    ended_waiting = per_month(wait_month, n_months)
    wait_all = np.full(n_months, np.nan)
    np.divide(per_month(wait_month, n_months, wait_end - requested), ended_waiting, out=wait_all,
              where=ended_waiting > 0)
    expired = per_month(month_index(t["ended"][outcome == EXPIRED], n_months), n_months)
    # Waiting at the end of month m: requested before the edge, still waiting after it.
    edges = month_edges(n_months)[1:]
    stop = np.where(np.isnan(wait_end), np.inf, wait_end)
    backlog = (np.searchsorted(np.sort(requested), edges, side="left")
               - np.searchsorted(np.sort(stop), edges, side="left"))
    return {
        "cs_hours": hours,
        "cs_utilisation": utilisation,
        "touches_done": per_month(done_month, n_months),
        "touches_expired": expired,
        "mean_touch_wait_days": wait,
        "cs_requests": per_month(month_index(requested, n_months), n_months),
        "cs_served": starts,
        "cs_expired": expired,
        "cs_cancelled": per_month(month_index(t["ended"][outcome == CANCELLED], n_months), n_months),
        "cs_backlog": backlog.astype(np.int64),
        "cs_wait_mean_days": wait_all,
    }


def cs_effort(records: Records, by_play: bool = False) -> dict[str, np.ndarray]:
    """The CS effort of each replication (arrays in sorted replication order, every replication
    of the records, :func:`csim.metrics.retention.replications_of`).

    Keys: ``csm_hours`` (hours worked within the run: served touches, those in service at the
    horizon up to it), ``requests`` and one count per outcome (``done``, ``expired``,
    ``cancelled``, ``waiting``), ``unserved_share`` ((expired + waiting) / requests; cancelled
    requests are not counted as unserved: their account left). With ``by_play``, the same per
    play as 2-d arrays ``[replication, play]`` (plays by index in the strategy).
    """
    from csim.metrics.retention import replications_of

    reps = replications_of(records)
    t = records.touches
    row = np.searchsorted(reps, t["replication"])
    n_plays = int(t["play"].max()) + 1 if by_play and t["play"].size else 1
    col = t["play"].astype(np.int64) if by_play else np.zeros(row.size, dtype=np.int64)
    flat = row * n_plays + col
    size = reps.size * n_plays

    def count(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        index = flat if mask is None else flat[mask]
        w = None if weights is None else (weights if mask is None else weights[mask])
        out = np.bincount(index, weights=w, minlength=size).astype(float)
        return out.reshape(reps.size, n_plays) if by_play else out

    out = {"csm_hours": count(weights=t["csm_hours"]), "requests": count()}
    for code, name in enumerate(TOUCH_OUTCOMES):
        out[name] = count(t["outcome"] == code)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["unserved_share"] = np.where(out["requests"] > 0, (out["expired"] + out["waiting"]) / out["requests"],
                                         np.nan)
    return out
