"""Metrics computed from records: monthly MRR movements and retention, headline summary, cohorts.

Definitions follow the project's metric definitions: MRR movements dbt MRR-playbook style, NRR
and GRR in a monthly period form and a trailing-12-month cohort form (always named), logo churn
annualised as ``1 - (1 - m) ** 12``, LTV after Skok, CAC payback in months.

Public API: :func:`monthly`, :func:`check_mrr_bridge`, :func:`summary`, :func:`summary_frame`,
:func:`cohort_retention`, :func:`mrr_matrix`, :func:`movements`, :func:`t_interval`,
:func:`t_interval_by`, :func:`annualise`.
"""

from csim.metrics.intervals import Interval, t_interval, t_interval_by
from csim.metrics.monthly import MONTHLY_COLUMNS, MRRBridgeError, check_mrr_bridge, monthly
from csim.metrics.mrr import MRRMatrix, movements, mrr_matrix
from csim.metrics.retention import annualise, cohort_retention
from csim.metrics.summary import METRICS, summary, summary_frame

__all__ = [
    "METRICS",
    "MONTHLY_COLUMNS",
    "MRRBridgeError",
    "MRRMatrix",
    "Interval",
    "annualise",
    "check_mrr_bridge",
    "cohort_retention",
    "monthly",
    "movements",
    "mrr_matrix",
    "summary",
    "summary_frame",
    "t_interval",
    "t_interval_by",
]
