"""Metrics computed from records: monthly MRR movements and retention, headline summary, cohorts.

Definitions follow ``docs``' metric section (the domain notes, section 2): MRR movements dbt
MRR-playbook style, NRR/GRR in a monthly period form and a trailing-12-month cohort form (always
named), logo churn annualised as ``1 - (1 - m) ** 12``, LTV after Skok.

Public API: :func:`monthly`, :func:`check_mrr_bridge`, :func:`summary`,
:func:`cohort_retention`, :func:`mrr_matrix`, :func:`t_interval`.
"""

from csim.metrics.monthly import MONTHLY_COLUMNS, MRRBridgeError, check_mrr_bridge, monthly
from csim.metrics.mrr import MRRMatrix, movements, mrr_matrix
from csim.metrics.retention import annualise, cohort_retention

__all__ = [
    "MONTHLY_COLUMNS",
    "MRRBridgeError",
    "MRRMatrix",
    "annualise",
    "check_mrr_bridge",
    "cohort_retention",
    "monthly",
    "movements",
    "mrr_matrix",
]
