"""Revenue of the starting cohort: the accounts on the books at day 0, followed over the run.

This is the "four revenue lines" picture of CS maturity (domain notes §1): one cohort's MRR over
time, rising where expansion beats churn and contraction (NRR > 100 %), flat at NRR = 100 %,
falling slowly or steeply below. New accounts are left out, so the line shows retention and
expansion alone, not growth from acquisition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csim.metrics.mrr import mrr_matrix

__all__ = ["starting_cohort_revenue"]


def starting_cohort_revenue(run) -> pd.DataFrame:
    """MRR of the initial book by month, per replication.

    Returns one row per (replication, month) for months ``0 .. horizon_months`` where month
    ``k`` is the state at day ``k · 365.25/12`` (month 0 = the opening balance): ``mrr``
    (currency/month), ``customers`` (paying accounts) and ``revenue_index`` (MRR ÷ MRR at
    month 0; 1.0 = the cohort's starting revenue).
    """
    records = run.records
    n_months = records.horizon_months
    rows = []
    for replication in run.summary["replications"]:
        matrix = mrr_matrix(records, replication, n_months)
        cohort = matrix.values[matrix.first_paid == -1]
        mrr = cohort.sum(axis=0) / 100.0
        start = mrr[0] if mrr.size else 0.0
        rows.append(pd.DataFrame({
            "replication": replication,
            "month": np.arange(n_months + 1),
            "mrr": mrr,
            "customers": (cohort > 0).sum(axis=0),
            "revenue_index": mrr / start if start > 0 else np.full(mrr.size, np.nan),
        }))
    return pd.concat(rows, ignore_index=True)
