"""Revenue and logo retention: NRR/GRR in two named forms, logo churn, cohort retention tables.

Two NRR/GRR forms, which do not agree (monthly period NRRs do not compound to the cohort figure):

- **period form** (``nrr_period``, ``grr_period``), per month ``m``: over the customers with
  MRR > 0 at the end of month ``m - 1``, ``sum(MRR now) / sum(MRR then)``; GRR caps each
  customer's MRR now at its MRR then.
- **trailing-12-month cohort form** (``nrr_t12``, ``grr_t12``; SaaS Capital, public filers), at
  month ``m >= 12``: over the customers with MRR > 0 at the end of month ``m - 12``,
  ``sum(MRR at end of m) / sum(MRR at end of m - 12)``; GRR caps each at its earlier value.
  NaN for ``m < 12``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from csim.metrics.mrr import MRRMatrix, mrr_matrix
from csim.records import Records

__all__ = ["retention_rates", "annualise", "cohort_retention", "replications_of"]

T12_LAG = 12  # months between the cohort snapshot and now in the trailing-12-month form


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio, NaN where the denominator is 0 (no base to retain)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _nrr_grr(then: np.ndarray, now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NRR and GRR per column over rows with ``then > 0`` (cents in, fractions out)."""
    base = then > 0
    denominator = then.sum(axis=0)  # rows with then == 0 add nothing
    nrr = _ratio(np.where(base, now, 0).sum(axis=0), denominator)
    grr = _ratio(np.where(base, np.minimum(now, then), 0).sum(axis=0), denominator)
    return nrr, grr


def retention_rates(matrix: MRRMatrix) -> dict[str, np.ndarray]:
    """Per-month retention of one replication (length ``n_months`` float arrays, fractions).

    Keys: ``nrr_period, grr_period`` (monthly period form), ``nrr_t12, grr_t12``
    (trailing-12-month cohort form; NaN before month 12), ``logo_churn`` (customers lost in the
    month / customers at its start; NaN when no customers at the start).
    """
    n = matrix.n_months
    nrr_period, grr_period = _nrr_grr(matrix.previous, matrix.current)
    nrr_t12 = np.full(n, np.nan)
    grr_t12 = np.full(n, np.nan)
    if n > T12_LAG:
        # End of month m is column m + 1; month m - 12 is column m - 11.
        then = matrix.values[:, 1 : n + 1 - T12_LAG]
        now = matrix.values[:, 1 + T12_LAG :]
        nrr_t12[T12_LAG:], grr_t12[T12_LAG:] = _nrr_grr(then, now)
    had = matrix.previous > 0
    lost = had & (matrix.current == 0)
    return {
        "nrr_period": nrr_period,
        "grr_period": grr_period,
        "nrr_t12": nrr_t12,
        "grr_t12": grr_t12,
        "logo_churn": _ratio(lost.sum(axis=0), had.sum(axis=0)),
    }


def annualise(monthly_rate: float | np.ndarray) -> float | np.ndarray:
    """Annual rate from a monthly rate ``m`` (fraction per month): ``1 - (1 - m) ** 12``."""
    return 1.0 - (1.0 - np.asarray(monthly_rate, dtype=np.float64)) ** 12


def replications_of(records: Records) -> np.ndarray:
    """Sorted replication numbers found in any of the four tables."""
    return np.unique(
        np.concatenate([getattr(records, t)["replication"] for t in ("events", "accounts", "leads", "touches")])
    ).astype(np.int64)


def _cohort_table(matrix: MRRMatrix, value: str) -> pd.DataFrame:
    """Fraction retained per (cohort month, months since acquisition) for one replication."""
    n = matrix.n_months
    acquired = (matrix.first_paid >= 0) & (matrix.first_paid < n)  # opening book is left out
    cohort = matrix.first_paid[acquired]
    rows = matrix.values[acquired]
    age = np.arange(n)
    column = cohort[:, None] + 1 + age[None, :]  # end of month cohort + age
    mrr = np.take_along_axis(rows, np.minimum(column, n), axis=1)
    if value == "logos":
        retained = (mrr > 0).astype(np.float64)
        base = np.ones(cohort.size)
    else:
        retained = mrr.astype(np.float64)
        base = matrix.first_mrr[acquired].astype(np.float64)
    order = np.argsort(cohort, kind="stable")
    cohort, retained, base = cohort[order], retained[order], base[order]
    cohorts, starts = np.unique(cohort, return_index=True)
    if cohorts.size == 0:
        return pd.DataFrame(index=pd.Index([], name="cohort"), columns=pd.Index(age, name="months_since"))
    sums = np.add.reduceat(retained, starts, axis=0)
    fraction = _ratio(sums, np.add.reduceat(base, starts)[:, None])
    fraction[~(cohorts[:, None] + 1 + age[None, :] <= n)] = np.nan  # not yet observed at the horizon
    return pd.DataFrame(fraction, index=pd.Index(cohorts, name="cohort"), columns=pd.Index(age, name="months_since"))


def cohort_retention(records: Records, value: Literal["logos", "revenue"] = "logos") -> pd.DataFrame:
    """Acquisition-cohort retention table, mean over replications.

    Rows: acquisition cohort (month of first payment, ``0 .. n_months-1``); the opening book is
    left out because its acquisition months lie before the run. Columns: months since
    acquisition ``k`` (0 = end of the acquisition month). Values (fractions):

    - ``value="logos"``: share of the cohort's accounts with MRR > 0 at the end of month
      ``cohort + k``;
    - ``value="revenue"``: cohort MRR at the end of month ``cohort + k`` divided by the cohort's
      MRR at first payment (net of expansion and contraction, so it can exceed 1).

    Cells after the horizon are NaN. Each replication counts equally in the mean; a cohort
    missing from a replication is skipped there (NaN-aware mean).
    """
    if value not in ("logos", "revenue"):
        raise ValueError(f"value must be 'logos' or 'revenue', not {value!r}")
    n = records.horizon_months
    # A replication without acquisition cohorts adds nothing (and pandas deprecates empty concat parts).
    tables = [t for t in (_cohort_table(mrr_matrix(records, r, n), value) for r in replications_of(records)) if len(t)]
    columns = pd.Index(np.arange(n), name="months_since")
    if not tables:
        return pd.DataFrame(index=pd.Index([], name="cohort", dtype=np.int64), columns=columns, dtype=float)
    stacked = pd.concat(tables)
    return stacked.groupby(level="cohort").mean().reindex(columns=columns).astype(float)
