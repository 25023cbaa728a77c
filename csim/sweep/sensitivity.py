"""Which lever matters most: main effects and global sensitivity indices of a sweep outcome.

The index follows the design, because each method needs its own sampling scheme:

- **Sobol' first and total order** (design ``sobol``, Saltelli's scheme): SALib's
  ``SALib.analyze.sobol.analyze``; the share of the outcome's variance due to one parameter alone
  (S1) and with all its interactions (ST). Interval: SALib's bootstrap (± ``S*_conf``).
- **Morris μ* and σ** (design ``morris``): SALib's ``SALib.analyze.morris.analyze``; the mean
  absolute elementary effect of moving the parameter by 2/3 of its range (outcome units) and the
  spread of those effects (non-linearity or interaction). Interval: SALib's bootstrap of μ*.
- **Standardised regression coefficients** (designs ``lhs`` and ``grid``): the coefficient of
  each parameter in a linear regression of the standardised outcome on the standardised
  parameters; meaningful when the regression's R² is high (reported). Interval: percentile
  bootstrap over points.

All take the per-point outcome (mean over replications) in design order. Section parameters
(scenario files) enter as the index of their level — an order they do not really have; their
rows say so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from csim.engine.streams import NO_REPLICATION, stream
from csim.sweep.design import MORRIS_LEVELS, salib_problem

__all__ = ["BOOTSTRAP", "equal_count_bins", "numeric_matrix", "global_indices", "main_effects", "tornado"]

#: Bootstrap resamples behind every sensitivity interval.
BOOTSTRAP = 1000
_BOOTSTRAP_PURPOSE = 7  # stream key (NO_REPLICATION, 7, ...): analysis bootstraps


def bootstrap_rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of an analysis bootstrap (its own stream of the sweep's root seed)."""
    return stream(seed, NO_REPLICATION, _BOOTSTRAP_PURPOSE, *key)


def numeric_matrix(values: pd.DataFrame) -> np.ndarray:
    """Parameter values as numbers: numeric columns as they are, others by the order of their levels."""
    columns = []
    for name in values.columns:
        column = values[name]
        if pd.api.types.is_numeric_dtype(column):
            columns.append(column.to_numpy(dtype=float))
        else:
            levels = list(dict.fromkeys(column))
            columns.append(column.map({v: i for i, v in enumerate(levels)}).to_numpy(dtype=float))
    return np.column_stack(columns) if columns else np.empty((len(values), 0))


def _no_spread(note: str, value: float, low: float, high: float, why: str) -> str:
    """The note of an index whose bootstrap interval has no width: a degenerate case, said in words."""
    if np.isfinite(low) and np.isfinite(high) and high - low <= 1e-12 * max(1.0, abs(value)):
        return "; ".join(filter(None, [note, f"{why}: every bootstrap resample gives the same value, so the "
                                             "interval has no width and says nothing about uncertainty"]))
    return note


def _src(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Standardised regression coefficients of y on the columns of x, and the regression's R²."""
    sx, sy = x.std(axis=0, ddof=1), y.std(ddof=1)
    if sy == 0 or not np.all(sx > 0):
        return np.full(x.shape[1], np.nan), float("nan")
    zx = (x - x.mean(axis=0)) / sx
    zy = (y - y.mean()) / sy
    design = np.column_stack([np.ones(len(zy)), zx])
    coef, *_ = np.linalg.lstsq(design, zy, rcond=None)
    residual = zy - design @ coef
    r2 = 1.0 - float(residual @ residual) / float(zy @ zy)
    return coef[1:], r2


def global_indices(design: str, names: list[str], values: pd.DataFrame, y: np.ndarray, seed: int,
                   unit: np.ndarray | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Global sensitivity indices of outcome ``y`` (one value per design row, in design order).

    Parameters
    ----------
    design:
        ``sobol``, ``morris``, ``lhs`` or ``grid``; chooses the method (module docstring).
    names:
        Parameters, the columns of ``values`` and ``unit``.
    values:
        Parameter values per design row.
    y:
        The outcome per design row (e.g. mean over replications of a metric or of a paired difference).
    seed:
        Root seed of the sweep; the bootstraps draw from their own streams of it.
    unit:
        The unit-hypercube design matrix (needed by Morris).

    Returns
    -------
    One row per parameter and index: ``parameter, method, index, value, ci_low, ci_high, note``.
    Rows are NaN with a note when the method cannot be applied (missing outcomes, no variance).
    """
    y = np.asarray(y, dtype=float)
    rows: list[dict] = []

    def add(name, method, index, value, low, high, note=""):
        rows.append({"parameter": name, "method": method, "index": index, "value": float(value),
                     "ci_low": float(low), "ci_high": float(high), "note": note})

    missing = int((~np.isfinite(y)).sum())
    categorical = [n for n in names if not pd.api.types.is_numeric_dtype(values[n])]
    base_note = "levels of scenario files taken in their given order" if categorical else ""
    if design in ("sobol", "morris") and missing:
        for name in names:
            add(name, design, "", np.nan, np.nan, np.nan, f"not computed: {missing} design rows have no outcome")
        return pd.DataFrame(rows)
    if design == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(salib_problem(names), y, calc_second_order=False, num_resamples=BOOTSTRAP,
                            conf_level=confidence, seed=int(bootstrap_rng(seed, 0).integers(2**31 - 1)))
        for i, name in enumerate(names):
            note = base_note if name in categorical else ""
            add(name, "Sobol (Saltelli)", "S1", res["S1"][i], res["S1"][i] - res["S1_conf"][i], res["S1"][i] + res["S1_conf"][i], note)
            add(name, "Sobol (Saltelli)", "ST", res["ST"][i], res["ST"][i] - res["ST_conf"][i], res["ST"][i] + res["ST_conf"][i], note)
        return pd.DataFrame(rows)
    if design == "morris":
        from SALib.analyze import morris

        res = morris.analyze(salib_problem(names), np.asarray(unit, dtype=float), y, num_resamples=BOOTSTRAP,
                             conf_level=confidence, num_levels=MORRIS_LEVELS,
                             seed=int(bootstrap_rng(seed, 0).integers(2**31 - 1)))
        for i, name in enumerate(names):
            note = base_note if name in categorical else ""
            mu, conf = res["mu_star"][i], res["mu_star_conf"][i]
            add(name, "Morris", "mu_star", mu, mu - conf, mu + conf,
                _no_spread(note, mu, mu - conf, mu + conf, "all elementary effects equal"))
            add(name, "Morris", "sigma", res["sigma"][i], np.nan, np.nan, note)
        return pd.DataFrame(rows)
    # lhs, grid: standardised regression coefficients, bootstrap over design rows.
    x = numeric_matrix(values[names])
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(y) < len(names) + 2:
        for name in names:
            add(name, "SRC", "SRC", np.nan, np.nan, np.nan, f"not computed: {len(y)} points for {len(names)} parameters")
        return pd.DataFrame(rows)
    coef, r2 = _src(x, y)
    rng = bootstrap_rng(seed, 1)
    draws = np.full((BOOTSTRAP, len(names)), np.nan)
    for b in range(BOOTSTRAP):
        take = rng.integers(0, len(y), len(y))
        draws[b] = _src(x[take], y[take])[0]
    alpha = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():  # a resample with a constant column has no coefficient: NaN, left out
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanquantile(draws, alpha, axis=0)
        high = np.nanquantile(draws, 1.0 - alpha, axis=0)
    for i, name in enumerate(names):
        note = f"R² of the linear fit {r2:.2f}" + ("; " + base_note if name in categorical else "")
        add(name, "SRC", "SRC", coef[i], low[i], high[i],
            _no_spread(note, coef[i], low[i], high[i], "the outcome is an exact linear function of the parameters"))
    return pd.DataFrame(rows)


def equal_count_bins(column: pd.Series, bins: int) -> pd.Series:
    """Bin codes 0..bins-1 splitting ``column`` into groups of (nearly) equal size, in value order.

    Binned by rank with ties broken by position, so that repeated values (integer levels, grid
    points) never make two bin edges equal, which :func:`pandas.qcut` refuses on the values.
    """
    return pd.qcut(column.rank(method="first"), bins, labels=False)


def main_effects(values: pd.DataFrame, y: np.ndarray, names: list[str], bins: int = 4,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Mean outcome by level (or by equal-count bin of a range) of each parameter, averaged over the others.

    Returns ``parameter, level, x, mean, ci_low, ci_high, n``: ``level`` is the level or the bin's
    mean value, ``x`` its position (numeric), the interval a t-interval over the points in it.
    """
    from csim.metrics.intervals import t_interval

    rows = []
    y = pd.Series(np.asarray(y, dtype=float), index=values.index)
    for name in names:
        column = values[name]
        if pd.api.types.is_numeric_dtype(column) and column.nunique() > bins:
            codes = equal_count_bins(column, bins)
        else:
            codes = column.map({v: i for i, v in enumerate(sorted(dict.fromkeys(column), key=_sort_key))})
        for code in sorted(codes.unique()):
            inside = codes == code
            interval = t_interval(y[inside].to_numpy(), confidence)
            level = column[inside]
            numeric = pd.api.types.is_numeric_dtype(column)
            rows.append({"parameter": name, "level": float(level.mean()) if numeric else level.iloc[0],
                         "x": float(level.mean()) if numeric else float(code), "mean": interval.mean,
                         "ci_low": interval.low, "ci_high": interval.high, "n": interval.n})
    return pd.DataFrame(rows, columns=["parameter", "level", "x", "mean", "ci_low", "ci_high", "n"])


def _sort_key(value):
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def tornado(effects: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: outcome at its lowest and highest level or bin and the swing between them,
    largest swing first."""
    rows = []
    for name, group in effects.groupby("parameter", sort=False):
        group = group.sort_values("x")
        low, high = group.iloc[0], group.iloc[-1]
        rows.append({"parameter": name, "low_level": low["level"], "high_level": high["level"],
                     "at_low": low["mean"], "at_high": high["mean"], "swing": high["mean"] - low["mean"]})
    table = pd.DataFrame(rows, columns=["parameter", "low_level", "high_level", "at_low", "at_high", "swing"])
    return table.reindex(table["swing"].abs().sort_values(ascending=False).index).reset_index(drop=True)
