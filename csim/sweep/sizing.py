"""How many CSMs: the team size that maximises gross profit after CS cost, and the NRR/cost frontier.

**Team sizing.** For a sweep over the team (``cs_team.headcount``, or a coverage rule
``cs_team.accounts_per_csm.<segment>`` / ``cs_team.arr_per_csm``), the objective is
``gross_profit_after_cs`` (gross margin × revenue collected − CS cost, :mod:`csim.metrics.registry`).
Its value at each team level is *adjusted for the other swept parameters*: a least-squares fit of
the objective on one indicator per team level plus the other parameters (centred, linear; scenario
files as indicators) gives each level's mean at the design's average of the rest. On a full grid
this is the plain mean per level; on a Latin hypercube it removes the imbalance of the few points
each level gets. The best level maximises it. The interval comes from a bootstrap over
replications and over the points of each level: replications are resampled with replacement —
the same draw for every point, which keeps the common random numbers paired — and so are the
points within each level (on a sampled design a level's few points are themselves a sample of the
other parameters); the fit is redone, and the 2.5 and 97.5 percentiles of the best level are
reported, with how often each level is best. The marginal value
of one more CSM is the difference between neighbouring levels divided by their distance.

**Frontier.** Per point and scenario, mean window NRR against mean CS cost; a point is on the
Pareto front when no other point has at least its NRR for at most its cost, one of them strictly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from csim.sweep.sensitivity import BOOTSTRAP, bootstrap_rng, equal_count_bins

__all__ = ["OBJECTIVE", "team_parameter", "team_sizing", "pareto_front"]

OBJECTIVE = "gross_profit_after_cs"
_TEAM_KEYS = ("cs_team.headcount", "cs_team.accounts_per_csm.", "cs_team.arr_per_csm")
#: More distinct values than this on a ranged team parameter are grouped into this many bins.
MAX_LEVELS = 15


def team_parameter(names: list[str]) -> str | None:
    """The swept parameter that sizes the CS team, if any (headcount first)."""
    for key in _TEAM_KEYS:
        for name in names:
            if name == key or (key.endswith(".") and name.startswith(key)):
                return name
    return None


def _team_levels(column: pd.Series) -> pd.Series:
    if column.nunique() <= MAX_LEVELS:
        return column.astype(float)
    return column.groupby(equal_count_bins(column, 5)).transform("mean")


def _covariates(points: pd.DataFrame, others: list[str]) -> np.ndarray:
    blocks = []
    for name in others:
        column = points[name]
        if pd.api.types.is_numeric_dtype(column):
            x = column.to_numpy(dtype=float)
            blocks.append((x - x.mean())[:, None])
        else:
            levels = list(dict.fromkeys(column))
            dummies = np.column_stack([(column == v).to_numpy(dtype=float) for v in levels[1:]]) if len(levels) > 1 else None
            if dummies is not None:
                blocks.append(dummies - dummies.mean(axis=0))
    return np.column_stack(blocks) if blocks else np.empty((len(points), 0))


def _level_means(codes: np.ndarray, n_levels: int, covariates: np.ndarray, y: np.ndarray) -> np.ndarray:
    ok = np.isfinite(y)
    design = np.column_stack([np.eye(n_levels)[codes], covariates])
    coef, *_ = np.linalg.lstsq(design[ok], y[ok], rcond=None)
    return coef[:n_levels]


def team_sizing(results: pd.DataFrame, scenario: str, team: str, names: list[str], seed: int,
                confidence: float = 0.95) -> tuple[pd.DataFrame, dict]:
    """Objective per team level for one scenario of a sweep, and the best level with its interval.

    Parameters
    ----------
    results:
        The sweep's results table (:func:`csim.sweep.tables.results_table`).
    scenario:
        Which scenario's rows (not ``difference``).
    team:
        The team parameter (:func:`team_parameter`).
    names:
        All swept parameters.

    Returns
    -------
    ``(table, best)``: ``table`` has per level ``level, objective, ci_low, ci_high, marginal_value`` (the
    change of the objective per unit of the team parameter from the level below: per CSM for a headcount),
    ``marginal_low, marginal_high, p_best, points``; ``best`` is ``{"level", "ci_low", "ci_high",
    "objective", "p_best"}`` (levels in the team parameter's unit).
    """
    rows = results[results["scenario"] == scenario]
    wide = rows.pivot_table(index="point", columns="replication", values=OBJECTIVE, aggfunc="first", dropna=False)
    points = rows.groupby("point")[names].first().loc[wide.index]
    levels_of_point = _team_levels(points[team])
    levels = np.sort(levels_of_point.unique())
    codes = np.searchsorted(levels, levels_of_point.to_numpy())
    covariates = _covariates(points, [n for n in names if n != team])
    values = wide.to_numpy(dtype=float)
    estimate = _level_means(codes, len(levels), covariates, np.nanmean(values, axis=1))
    rng = bootstrap_rng(seed, 2)
    reps = values.shape[1]
    members = [np.flatnonzero(codes == k) for k in range(len(levels))]
    draws = np.empty((BOOTSTRAP, len(levels)))
    with warnings.catch_warnings():  # a resampled point whose replications all failed has no mean: left out
        warnings.simplefilter("ignore", RuntimeWarning)
        for b in range(BOOTSTRAP):
            take = rng.integers(0, reps, reps)  # one draw of replications for every point: CRN stay paired
            rows = np.concatenate([rng.choice(m, m.size) for m in members])  # the points of each level
            draws[b] = _level_means(codes[rows], len(levels), covariates[rows],
                                    np.nanmean(values[np.ix_(rows, take)], axis=1))
    alpha = (1.0 - confidence) / 2.0
    best_draw = levels[np.argmax(draws, axis=1)]
    spacing = np.diff(levels)
    marginal = np.diff(estimate) / spacing if len(levels) > 1 else np.array([])
    marginal_draws = np.diff(draws, axis=1) / spacing if len(levels) > 1 else np.empty((BOOTSTRAP, 0))
    table = pd.DataFrame({
        "level": levels,
        "objective": estimate,
        "ci_low": np.quantile(draws, alpha, axis=0),
        "ci_high": np.quantile(draws, 1 - alpha, axis=0),
        "marginal_value": np.r_[np.nan, marginal],
        "marginal_low": np.r_[np.nan, np.quantile(marginal_draws, alpha, axis=0)] if len(levels) > 1 else [np.nan],
        "marginal_high": np.r_[np.nan, np.quantile(marginal_draws, 1 - alpha, axis=0)] if len(levels) > 1 else [np.nan],
        "p_best": [(best_draw == v).mean() for v in levels],
        "points": np.bincount(codes, minlength=len(levels)),
    })
    k = int(np.argmax(estimate))
    best = {"level": float(levels[k]), "ci_low": float(np.quantile(best_draw, alpha)),
            "ci_high": float(np.quantile(best_draw, 1 - alpha)), "objective": float(estimate[k]),
            "p_best": float((best_draw == levels[k]).mean())}
    return table, best


def pareto_front(points: pd.DataFrame, benefit: str = "nrr_t12_window", cost: str = "cs_cost") -> pd.Series:
    """Boolean mask of the rows of ``points`` on the front of high ``benefit`` for low ``cost``."""
    b = points[benefit].to_numpy(dtype=float)
    c = points[cost].to_numpy(dtype=float)
    ok = np.isfinite(b) & np.isfinite(c)
    front = np.zeros(len(points), dtype=bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (b >= b[i]) & (c <= c[i]) & ((b > b[i]) | (c < c[i]))
        front[i] = not dominated.any()
    return pd.Series(front, index=points.index)
