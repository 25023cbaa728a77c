"""The monthly metrics table: one row per (replication, month), and the MRR-bridge check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from csim.metrics.acquisition import acquisition_by_month
from csim.metrics.cs import cs_by_month
from csim.metrics.mrr import MOVEMENTS, movements, mrr_matrix
from csim.metrics.retention import replications_of, retention_rates
from csim.records import Records

__all__ = ["monthly", "check_mrr_bridge", "MONTHLY_COLUMNS", "MONEY_COLUMNS", "MRRBridgeError"]

#: Columns in currency units per month (converted from integer cents at the very end).
MONEY_COLUMNS: tuple[str, ...] = ("mrr_start", "mrr", *MOVEMENTS)

#: Column order of :func:`monthly` with units.
MONTHLY_COLUMNS: dict[str, str] = {
    "replication": "replication number",
    "month": "month index (month m = days [m, m+1) * 365.25/12)",
    "mrr_start": "currency/month, MRR at the end of the previous month (opening balance for month 0)",
    "customers_start": "accounts with MRR > 0 at the end of the previous month",
    "new": "currency/month, MRR of first payments",
    "expansion": "currency/month, MRR increase of paying customers",
    "reactivation": "currency/month, MRR of customers who paid before and pay again",
    "contraction": "currency/month, MRR decrease short of zero",
    "churn": "currency/month, MRR lost by customers going to zero",
    "mrr": "currency/month, MRR at month end",
    "arr": "currency/year, 12 * mrr",
    "customers": "accounts with MRR > 0 at month end",
    "new_customers": "accounts counted as new",
    "reactivated_customers": "accounts counted as reactivated",
    "logos_churned": "accounts with MRR > 0 at the previous month end and 0 now",
    "logo_churn": "fraction per month, logos_churned / customers_start",
    "nrr_period": "fraction, NRR monthly period form",
    "grr_period": "fraction, GRR monthly period form",
    "nrr_t12": "fraction, NRR trailing-12-month cohort form (NaN before month 12)",
    "grr_t12": "fraction, GRR trailing-12-month cohort form (NaN before month 12)",
    "leads": "leads arrived",
    "deals_won": "leads won, by close month",
    "referral_deals": "referral leads won, by close month",
    "acquisition_spend": "currency, lead costs by arrival month",
    "cac": "currency per deal, acquisition_spend / deals_won",
    "cs_hours": "CSM hours of touches finished in the month",
    "cs_utilisation": "fraction, cs_hours / CSM hours available in a month",
    "touches_done": "touches finished in the month",
    "touches_expired": "touches expired at their deadline in the month",
    "mean_touch_wait_days": "days, mean started - requested of touches started in the month",
    "cs_requests": "touch requests made in the month (CSM and tech-touch)",
    "cs_served": "requests a CSM (or tech-touch) started in the month",
    "cs_expired": "requests that reached their deadline unserved in the month",
    "cs_cancelled": "requests cancelled in the month because their account churned while they waited",
    "cs_backlog": "requests waiting at the month end",
    "cs_wait_mean_days": "days, mean wait of requests whose wait ended in the month (served: to the start; "
                         "expired: to the deadline; cancelled: to the churn)",
}


class MRRBridgeError(ValueError):
    """The MRR bridge does not hold for some (replication, month)."""


def _one_replication(records: Records, replication: int, n_months: int) -> dict[str, np.ndarray]:
    matrix = mrr_matrix(records, replication, n_months)
    columns: dict[str, np.ndarray] = {
        "replication": np.full(n_months, replication, dtype=np.int64),
        "month": np.arange(n_months, dtype=np.int64),
    }
    moves = movements(matrix)
    columns.update(moves)
    columns["arr"] = 12 * moves["mrr"]
    columns.update(retention_rates(matrix))
    columns.update(acquisition_by_month(records, replication, n_months))
    columns.update(cs_by_month(records, replication, n_months))
    return columns


def monthly(records: Records) -> pd.DataFrame:
    """Monthly metrics, one row per (replication, month ``0 .. horizon_months-1``).

    Columns and units are listed in :data:`MONTHLY_COLUMNS`. MRR movements are classified per
    customer-month as in :func:`csim.metrics.mrr.movements` and computed in integer cents, then
    converted to currency units (``/100``) here, so ``check_mrr_bridge`` holds to the cent.
    Ratios are NaN where their denominator is zero (no customers at the start, no deals, no
    CSM capacity). Empty records give an empty frame with all columns.
    """
    n_months = records.horizon_months
    parts = [_one_replication(records, int(r), n_months) for r in replications_of(records)] if n_months > 0 else []
    if parts:
        data = {col: np.concatenate([p[col] for p in parts]) for col in MONTHLY_COLUMNS}
    else:
        data = {col: np.empty(0, dtype=np.float64) for col in MONTHLY_COLUMNS}
    frame = pd.DataFrame(data)
    for col in (*MONEY_COLUMNS, "arr"):
        frame[col] = frame[col].to_numpy(dtype=np.int64) / 100.0
    return frame


def _cents(series: pd.Series) -> np.ndarray:
    return np.round(series.to_numpy(dtype=np.float64) * 100.0).astype(np.int64)


def check_mrr_bridge(frame: pd.DataFrame) -> None:
    """Raise :class:`MRRBridgeError` unless the MRR bridge holds to the cent in every row.

    Checks ``mrr = mrr_start + new + expansion + reactivation - contraction - churn`` and that
    each month's ``mrr_start`` equals the previous month's ``mrr`` in the same replication.
    Compares integer cents (``round(x * 100)``), so float noise from the currency conversion
    cannot hide or fake a failure. The message names the first offending (replication, month).
    """
    c = {col: _cents(frame[col]) for col in MONEY_COLUMNS}
    rhs = c["mrr_start"] + c["new"] + c["expansion"] + c["reactivation"] - c["contraction"] - c["churn"]
    bad = np.flatnonzero(c["mrr"] != rhs)
    replication = frame["replication"].to_numpy()
    month = frame["month"].to_numpy()
    if bad.size:
        i = bad[0]
        raise MRRBridgeError(
            f"MRR bridge fails at replication {replication[i]}, month {month[i]}: "
            f"mrr {c['mrr'][i]} cents != start + movements {rhs[i]} cents"
        )
    # Continuity: rows of the same replication in consecutive months chain end -> start.
    chained = (replication[1:] == replication[:-1]) & (month[1:] == month[:-1] + 1)
    broken = np.flatnonzero(chained & (c["mrr_start"][1:] != c["mrr"][:-1]))
    if broken.size:
        i = broken[0] + 1
        raise MRRBridgeError(
            f"MRR bridge breaks between months at replication {replication[i]}, month {month[i]}: "
            f"mrr_start {c['mrr_start'][i]} cents != previous month's mrr {c['mrr'][i - 1]} cents"
        )
