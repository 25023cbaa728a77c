"""Confidence intervals across replications (Student t, replications as independent samples)."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["Interval", "t_interval", "t_interval_by"]


class Interval(NamedTuple):
    """Mean of ``n`` finite values and its two-sided t-interval, in the values' unit."""

    mean: float
    low: float
    high: float
    n: int


def _half_width(std: np.ndarray, n: np.ndarray, confidence: float) -> np.ndarray:
    # Fewer than two values carry no spread: the interval is NaN, never zero width.
    n = np.asarray(n, dtype=np.float64)
    out = np.full(n.shape, np.nan)
    ok = n >= 2
    out[ok] = stats.t.ppf(0.5 + confidence / 2.0, n[ok] - 1) * np.asarray(std)[ok] / np.sqrt(n[ok])
    return out


def t_interval(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Interval:
    """Mean and ``confidence`` t-interval of the finite values (NaN and inf are dropped).

    ``mean +- t_{(1+confidence)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard deviation.
    No finite values: mean NaN. One value: the interval is NaN (no spread to estimate).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    std = np.array([x.std(ddof=1) if x.size > 1 else np.nan])
    half = float(_half_width(std, np.array([x.size]), confidence)[0])
    return Interval(mean, mean - half, mean + half, int(x.size))


def t_interval_by(frame: pd.DataFrame, by: str | Sequence[str], column: str, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`t_interval` of ``column`` per group of ``by`` (e.g. per month over replications).

    ``by`` is a column or a list of columns. Returns a frame indexed by the groups with columns
    ``mean, low, high, n``.
    """
    finite = frame[column].where(np.isfinite(frame[column].astype(float)))
    grouped = finite.groupby(frame[by] if isinstance(by, str) else [frame[b] for b in by])
    mean, std, n = grouped.mean(), grouped.std(ddof=1), grouped.count()
    half = _half_width(std.to_numpy(), n.to_numpy(), confidence)
    return pd.DataFrame({"mean": mean, "low": mean - half, "high": mean + half, "n": n})
