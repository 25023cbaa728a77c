"""Acquisition per month from the ``leads`` table: leads, deals won, referrals, spend, CAC.

Spend is attributed to the month the lead **arrived** (the lead's cost mixes marketing cost per
lead, paid on arrival, and sales cost if won; the contract carries one total per lead).
Deals are counted in the month they **closed**.
"""

from __future__ import annotations

import numpy as np

from csim.metrics.calendar import month_index, per_month
from csim.records import CHANNELS, LEAD_OUTCOMES, Records

__all__ = ["acquisition_by_month"]

WON = LEAD_OUTCOMES.index("won")
REFERRAL = CHANNELS.index("referral")


def acquisition_by_month(records: Records, replication: int, n_months: int) -> dict[str, np.ndarray]:
    """Per-month acquisition of one replication (arrays of length ``n_months``).

    Keys: ``leads`` (arrivals), ``deals_won`` (won leads by close month), ``referral_deals``
    (won referral leads), ``acquisition_spend`` (currency, by arrival month), ``cac`` (currency
    per deal won in the month; NaN in a month without deals).
    """
    leads = records.leads
    sel = leads["replication"] == replication
    arrived = month_index(leads["arrived"][sel], n_months)
    closed = month_index(leads["closed"][sel], n_months)
    won = leads["outcome"][sel] == WON
    referral = leads["channel"][sel] == REFERRAL
    spend = per_month(arrived, n_months, leads["cost"][sel])
    deals = per_month(closed[won], n_months)
    cac = np.full(n_months, np.nan)
    np.divide(spend, deals, out=cac, where=deals > 0)
    return {
        "leads": per_month(arrived, n_months),
        "deals_won": deals,
        "referral_deals": per_month(closed[won & referral], n_months),
        "acquisition_spend": spend,
        "cac": cac,
    }
