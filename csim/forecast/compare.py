"""Compare churn between groups (strategies, segments, channels) in one call.

This is the entry point the strategy comparison of the simulator uses on simulated account
tables (see :func:`csim.forecast.survival_data_from_accounts`), and what ``csim forecast
--group`` reports for a user's table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csim.forecast.covariates import encode_covariates
from csim.forecast.cox import CoxPH
from csim.forecast.nonparametric import KaplanMeier, log_rank_table


def compare_groups(durations, events, groups, entry=None, covariates: pd.DataFrame | None = None,
                   reference=None, times=None, ties: str = "efron") -> dict:
    """Kaplan–Meier per group, log-rank tests and a Cox model with the group as covariate.

    Parameters
    ----------
    durations, events : tenure (periods) and 0/1 churn flags.
    groups : group label per customer (e.g. strategy name); at least two distinct labels.
    entry : optional tenure at which observation began (left truncation; simulated initial book).
    covariates : optional DataFrame of adjustment variables (text columns one-hot encoded),
        e.g. ``segment``, so the group effect is compared within like customers.
    reference : the group the hazard ratios compare with (default: first in sorted order).
    times : tenures at which to report each group's survival (default: none).
    ties : "efron" (default, the more accurate) or "breslow" (faster on large tables with many ties).

    Returns a dict of plain objects:
    ``summary`` (DataFrame: group, customers, churned, median with interval),
    ``km`` (group → DataFrame t, at_risk, churned, survival, se, lower, upper),
    ``survival_at`` (DataFrame of survival by group at ``times``, if given),
    ``log_rank`` (DataFrame: chisq, df, p for log-rank and weighted variants),
    ``cox`` (DataFrame: coefficients, hazard ratios with 95 % intervals),
    ``cox_concordance`` and ``reference`` (the reference group).
    """
    durations = np.asarray(durations, float)
    events = np.asarray(events, float)
    labels = pd.Series(np.asarray(groups)).astype(str).reset_index(drop=True)
    levels = sorted(labels.unique())
    if len(levels) < 2:
        raise ValueError("compare_groups needs at least two groups")
    reference = str(reference) if reference is not None else levels[0]
    entry_arr = None if entry is None else np.asarray(entry, float)

    rows, curves, at = [], {}, {}
    for level in levels:
        mask = (labels == level).to_numpy()
        km = KaplanMeier().fit(durations[mask], events[mask], None if entry_arr is None else entry_arr[mask], label=level)
        low, high = km.median_ci_
        rows.append({"group": level, "customers": int(mask.sum()), "churned": int(events[mask].sum()),
                     "median": km.median_, "median_lower": low, "median_upper": high})
        curves[level] = km.table_
        if times is not None:
            at[level] = km.survival(times)
    result = {
        "summary": pd.DataFrame(rows).set_index("group"),
        "km": curves,
        "log_rank": log_rank_table(durations, events, labels.to_numpy(), entry=entry_arr),
        "reference": reference,
    }
    if times is not None:
        result["survival_at"] = pd.DataFrame(at, index=pd.Index(np.asarray(times, float), name="t"))

    design_source = pd.DataFrame({"group": labels})
    if covariates is not None:
        design_source = pd.concat([design_source, covariates.reset_index(drop=True)], axis=1)
    design, _ = encode_covariates(design_source, list(design_source.columns), reference={"group": reference})
    cox = CoxPH(ties=ties).fit(durations, events, entry=entry_arr, covariates=design)
    result["cox"] = cox.summary
    result["cox_concordance"] = float(cox.concordance_)
    return result
