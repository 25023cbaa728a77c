"""Month arithmetic shared by the metrics: which month a day falls in, sums per month.

Month ``m`` covers days ``[m * MONTH_DAYS, (m + 1) * MONTH_DAYS)``. Month edges are computed as
``k * MONTH_DAYS`` exactly as the contract states, so an event stamped on an edge by the engine
(with the same product) lands in the later month.
"""

from __future__ import annotations

import numpy as np

from csim.records import MONTH_DAYS

__all__ = ["month_edges", "month_index", "per_month"]


def month_edges(n_months: int) -> np.ndarray:
    """Start days of months ``0 .. n_months`` (``n_months + 1`` edges, days)."""
    return np.arange(n_months + 1, dtype=np.float64) * MONTH_DAYS


def month_index(days: np.ndarray, n_months: int) -> np.ndarray:
    """Month of each day (int64): -1 before day 0, ``n_months`` at or after the horizon.

    NaN days map to ``n_months`` (outside the run), so callers can drop them with one test.
    """
    days = np.asarray(days, dtype=np.float64)
    month = np.searchsorted(month_edges(n_months), days, side="right").astype(np.int64) - 1
    month[np.isnan(days)] = n_months
    return np.minimum(month, n_months)


def per_month(month: np.ndarray, n_months: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum ``weights`` (or count rows) per month ``0 .. n_months-1``; rows outside are ignored.

    Returns float64 with weights, int64 counts without.
    """
    month = np.asarray(month)
    inside = (month >= 0) & (month < n_months)
    if weights is None:
        return np.bincount(month[inside], minlength=n_months).astype(np.int64)
    return np.bincount(month[inside], weights=np.asarray(weights, dtype=np.float64)[inside], minlength=n_months)
