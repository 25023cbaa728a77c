"""Scenario discovery: the region of the swept parameters where an outcome of interest happens.

PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999, "Bump hunting in
high-dimensional data", *Statistics and Computing* 9:123–143), as used for scenario discovery by
the EMA workbench (``ema_workbench.analysis.prim``). It answers "where does the versus scenario
win?" with a box — a few ranges and category sets — that a sentence can quote.

**Peeling.** Starting from the whole space, each step removes one thin slice of the current box:
the ``alpha``-quantile slice at the low or high end of one numeric dimension, or one category of a
categorical dimension, whichever leaves the highest density (share of cases of interest) in the
box. Patience — removing little at a time — keeps an early greedy step from cutting away much of
the region. Peeling stops when no slice can be removed without the box falling below ``min_mass``
of all cases; the boxes passed on the way form the *peeling trajectory*.

**Choosing a box.** On a trajectory, density rises while coverage (share of the cases of interest
inside the box) falls. :func:`prim` takes the densest box that still holds ``min_coverage`` of the
cases of interest left to cover (ties: the larger, earlier box). Peeling also follows noise, so
the chosen box is then simplified with the quasi-p-values of the EMA workbench (Bryant & Lempert
2010, *Technol. Forecast. Soc. Change* 77:34–49): for each restriction, the one-sided binomial
probability of at least the box's cases of interest among its cases if its density were that of
the box without the restriction. While some restriction has a quasi-p-value above
:data:`SIGNIFICANCE`, the least significant one is dropped (ties: the one whose removal enlarges
the box most). A restriction whose removal does not lower density has a quasi-p-value of at least
one half, so it is always dropped; only dimensions that matter are reported.

**Covering.** The cases inside the chosen box are set aside and the search is repeated among the
rest, up to ``max_boxes`` times. It stops early when the chosen box is no denser than the cases
left (nothing stands out any more) or no case of interest is left. Each later box is meant to be
read *after* the earlier ones: its ranges are relative to the cases left, and
:meth:`Box.contains` of a later box can include cases of an earlier one.

A restricted side of a box is quoted as the smallest (largest) value that occurs in the box, so
the sentence names values of the data; an unrestricted side is stored as −inf (+inf).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SIGNIFICANCE", "Box", "peeling_trajectory", "prim"]

#: A restriction of a chosen box is kept only if its quasi-p-value is at most this (module docstring).
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Box:
    """A region of the parameters and how well it captures the cases of interest.

    Attributes
    ----------
    limits:
        Numeric dimensions restricted by the box: name -> (low, high), inclusive, in the
        dimension's units; an unrestricted side is ``-inf`` (low) or ``inf`` (high).
    categories:
        Categorical dimensions restricted by the box: name -> allowed values (sorted tuple).
    coverage:
        Share of all cases of interest of the whole data that fall in the box (0–1).
    density:
        Share of the cases inside the box that are of interest (0–1).
    mass:
        Share of all cases of the whole data that fall in the box (0–1).
    n:
        Number of cases inside the box (among those it was searched in).
    """

    limits: dict[str, tuple[float, float]]
    categories: dict[str, tuple]
    coverage: float
    density: float
    mass: float
    n: int

    def contains(self, X: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``X`` inside the box (columns named as the box's dimensions)."""
        mask = np.ones(len(X), dtype=bool)
        for name, (low, high) in self.limits.items():
            values = X[name].to_numpy(dtype=float)
            mask &= (values >= low) & (values <= high)
        for name, allowed in self.categories.items():
            mask &= X[name].isin(list(allowed)).to_numpy()
        return mask

    def describe(self, units: dict[str, str] | None = None) -> str:
        """The box as words: ``"a ≥ 5 and 0.2 ≤ b ≤ 0.5 and c in {x, y}"``; ``"everywhere"`` if unrestricted.

        ``units`` maps a dimension's name to a unit written after each of its numbers.
        """
        units = units or {}
        parts = []
        for name, (low, high) in self.limits.items():
            unit = f" {units[name]}" if units.get(name) else ""
            if low == high:  # a box one level wide (a grid or an integer parameter)
                parts.append(f"{name} = {_number(low)}{unit}")
            elif math.isfinite(low) and math.isfinite(high):
                parts.append(f"{_number(low)}{unit} ≤ {name} ≤ {_number(high)}{unit}")
            elif math.isfinite(low):
                parts.append(f"{name} ≥ {_number(low)}{unit}")
            elif math.isfinite(high):
                parts.append(f"{name} ≤ {_number(high)}{unit}")
        for name, allowed in self.categories.items():
            if len(allowed) == 1:
                parts.append(f"{name} = {allowed[0]}")
            else:
                parts.append(f"{name} in {{{', '.join(map(str, allowed))}}}")
        return " and ".join(parts) if parts else "everywhere"


def _number(value: float) -> str:
    """A limit for a sentence: whole numbers as such, others to three significant digits."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"


class _Data:
    """X and y as arrays: numeric columns as floats, categorical ones as codes of their levels."""

    def __init__(self, X: pd.DataFrame, y, categorical: Sequence[str]):
        missing = [c for c in categorical if c not in X.columns]
        if missing:
            raise ValueError(f"categorical dimensions not in X: {missing}")
        self.names = [str(c) for c in X.columns]
        self.columns, self.levels = [], []  # levels is None for a numeric column
        for name in X.columns:
            column = X[name]
            # A non-numeric column cannot be sliced by quantiles: it is categorical even if not listed.
            if name in categorical or not pd.api.types.is_numeric_dtype(column):
                try:
                    codes, levels = pd.factorize(column, sort=True)
                except TypeError:  # levels of mixed types: keep their order of appearance
                    codes, levels = pd.factorize(column)
                if (codes < 0).any():
                    raise ValueError(f"X[{name!r}] has missing values")
                self.columns.append(codes)
                self.levels.append([getattr(v, "item", lambda v=v: v)() for v in levels])
            else:
                values = column.to_numpy(dtype=float)
                if np.isnan(values).any():
                    raise ValueError(f"X[{name!r}] has missing values")
                self.columns.append(values)
                self.levels.append(None)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be one value per row of X ({len(X)}), got shape {y.shape}")
        y = y.astype(float)
        if np.isnan(y).any():
            raise ValueError("y has missing values (NaN)")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("y must be boolean or 0/1")
        self.y = y  # 0.0/1.0: sums of it are exact counts
        self.total, self.total_positive = len(y), float(y.sum())

    def mask(self, within: np.ndarray, restrictions: list[tuple]) -> np.ndarray:
        """Cases of ``within`` that satisfy every restriction ``(column, side, bound)``."""
        mask = within.copy()
        for j, side, bound in restrictions:
            values = self.columns[j]
            if side == "low":
                mask &= values >= bound
            elif side == "high":
                mask &= values <= bound
            else:
                mask &= np.isin(values, list(bound))
        return mask

    def box(self, inside: np.ndarray, restrictions: list[tuple]) -> Box:
        """The Box of the cases ``inside``, restricted only on the sides in ``restrictions``."""
        limits, categories = {}, {}
        for j, side, bound in sorted(restrictions, key=lambda r: r[0]):
            name = self.names[j]
            if side == "cat":
                categories[name] = tuple(self.levels[j][c] for c in sorted(bound))
            else:
                low, high = limits.get(name, (-math.inf, math.inf))
                limits[name] = (float(bound), high) if side == "low" else (low, float(bound))
        n, positive = int(inside.sum()), float(self.y[inside].sum())
        return Box(limits, categories, coverage=positive / self.total_positive if self.total_positive else 0.0,
                   density=positive / n if n else 0.0, mass=n / self.total, n=n)


def _trajectory(data: _Data, within: np.ndarray, alpha: float, min_mass: float) -> list[tuple]:
    """Peel the cases ``within`` down to ``min_mass`` of all cases: [(inside mask, restrictions)]."""
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be between 0 and 0.5, got {alpha}")
    inside = within.copy()
    peeled, removed = set(), {}  # numeric (column, side) peeled; categorical column -> removed codes
    present = {j: set(np.unique(data.columns[j][within]).tolist())
               for j, levels in enumerate(data.levels) if levels is not None}
    steps = []
    while True:
        restrictions = []
        for j, side in sorted(peeled):
            values = data.columns[j][inside]
            restrictions.append((j, side, values.min() if side == "low" else values.max()))
        restrictions += [(j, "cat", frozenset(present[j] - codes)) for j, codes in removed.items()]
        steps.append((inside, restrictions))
        rows = np.flatnonzero(inside)
        y, m = data.y[rows], len(rows)
        p = float(y.sum())
        best, best_key = None, None
        for j, values in enumerate(data.columns):
            values = values[rows]
            if data.levels[j] is None:
                low, high = np.quantile(values, [alpha, 1.0 - alpha])
                vmin, vmax = values.min(), values.max()
                # On discrete values the quantile can be the extreme itself: peel the extreme then,
                # so that every peel removes something.
                cuts = (("low", values < low if low > vmin else values == vmin),
                        ("high", values > high if high < vmax else values == vmax))
                for side, cut in cuts:
                    gone = int(cut.sum())
                    if gone == m or m - gone < min_mass * data.total:
                        continue
                    key = (p - float(y[cut].sum())) / (m - gone), -gone
                    if best_key is None or key > best_key:
                        best, best_key = ((j, side), rows[cut]), key
            else:
                counts = np.bincount(values, minlength=len(data.levels[j]))
                positives = np.bincount(values, weights=y, minlength=len(data.levels[j]))
                for code in np.flatnonzero(counts > 0):
                    gone = int(counts[code])
                    if gone == m or m - gone < min_mass * data.total:
                        continue
                    key = (p - float(positives[code])) / (m - gone), -gone
                    if best_key is None or key > best_key:
                        best, best_key = ((j, "cat", int(code)), rows[values == code]), key
        if best is None:
            return steps
        step, gone_rows = best
        inside = inside.copy()
        inside[gone_rows] = False
        if step[1] == "cat":
            removed.setdefault(step[0], set()).add(step[2])
        else:
            peeled.add(step)


def peeling_trajectory(X: pd.DataFrame, y: np.ndarray, *, alpha: float = 0.05, min_mass: float = 0.05,
                       categorical: Sequence[str] = ()) -> list[Box]:
    """The boxes from the whole space down to ``min_mass``, one peel at a time (module docstring).

    Parameters
    ----------
    X:
        One row per case, one column per dimension; numeric columns are peeled by quantiles,
        columns named in ``categorical`` (and any non-numeric column) one category at a time.
    y:
        Whether each case is of interest (bool or 0/1; no NaN).
    alpha:
        Share of the box's cases (0–0.5) peeled off one end of a numeric dimension per step.
    min_mass:
        Smallest share of all cases (0–1) a box may keep.
    categorical:
        Names of the categorical columns of ``X``.

    Returns
    -------
    list[Box]
        The trajectory, largest box first. A peel is chosen for the highest density left; ties go
        to the peel removing fewer cases, then to the first dimension (low end before high end).
    """
    data = _Data(X, y, categorical)
    return [data.box(inside, r) for inside, r in _trajectory(data, np.ones(data.total, bool), alpha, min_mass)]


def prim(X: pd.DataFrame, y: np.ndarray, *, alpha: float = 0.05, min_mass: float = 0.05, min_coverage: float = 0.5,
         max_boxes: int = 3, categorical: Sequence[str] = ()) -> list[Box]:
    """Boxes where the cases of interest concentrate, by peeling and covering (module docstring).

    Parameters
    ----------
    X, y, alpha, min_mass, categorical:
        As for :func:`peeling_trajectory`.
    min_coverage:
        Smallest share (0–1) of the cases of interest still uncovered that a box must hold.
    max_boxes:
        Most boxes returned.

    Returns
    -------
    list[Box]
        In order of discovery; each later box was searched among the cases outside the earlier
        ones, and its coverage and mass are shares of the whole data. Empty when no case is of
        interest; a single unrestricted box when every case is. Covering stops early when the
        best box is no denser than the cases left.
    """
    data = _Data(X, y, categorical)
    if data.total_positive == 0:
        return []
    everywhere = np.ones(data.total, bool)
    if data.total_positive == data.total:
        return [data.box(everywhere, [])]
    boxes, left = [], everywhere
    while len(boxes) < max_boxes and left.any():
        positive_left = float(data.y[left].sum())
        if positive_left == 0:
            break
        chosen, best_density = None, -1.0
        for inside, restrictions in _trajectory(data, left, alpha, min_mass):
            positive = float(data.y[inside].sum())
            # Strictly denser only: on a tie the earlier, larger box stays.
            if positive >= min_coverage * positive_left and positive / inside.sum() > best_density:
                chosen, best_density = (inside, restrictions), positive / inside.sum()
        if chosen is None:
            break
        inside, restrictions = _simplify(data, left, *chosen)
        if data.y[inside].mean() <= positive_left / left.sum():
            break
        boxes.append(data.box(inside, restrictions))
        left = left & ~inside
    return boxes


def _upper_tail(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) ≥ k), exactly (log-space sum; n up to a few 10⁵)."""
    if k <= 0 or p >= 1.0:
        return 1.0
    if p <= 0.0 or k > n:
        return 0.0
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    i = np.arange(k, n + 1)
    log_pmf = log_factorial[n] - log_factorial[i] - log_factorial[n - i] + i * math.log(p) + (n - i) * math.log1p(-p)
    return float(min(1.0, np.exp(log_pmf - log_pmf.max()).sum() * math.exp(log_pmf.max())))


def _simplify(data: _Data, within: np.ndarray, inside: np.ndarray, restrictions: list[tuple]) -> tuple:
    """Drop restrictions that do not matter, the least significant first (module docstring)."""
    while restrictions:
        n, positive = int(inside.sum()), int(data.y[inside].sum())
        best = None
        for i in range(len(restrictions)):
            trial = restrictions[:i] + restrictions[i + 1:]
            mask = data.mask(within, trial)
            # Quasi-p-value: how likely the box's cases of interest are if its density were that of
            # the box without this restriction; at least 1/2 when the restriction does not raise it.
            key = (_upper_tail(positive, n, data.y[mask].mean()), int(mask.sum()))
            if key[0] > SIGNIFICANCE and (best is None or key > best[0]):
                best = (key, trial, mask)
        if best is None:
            break
        _, restrictions, inside = best
    return inside, restrictions
