"""Forecasting customer retention: survival curves, drivers, contract-renewal models, projections.

Stands alone (it reads tables, not the simulation engine). Fitters follow one shape, as in
lifelines: ``fit(...)`` returns ``self``, fitted attributes end in ``_``, ``summary`` is a
DataFrame, ``survival(t)`` and ``predict(...)`` project. Tenure is in periods (months for
customer tables; the contract period for cohort tables). See ``docs/forecasting.md``.

Fitters
    :class:`KaplanMeier`, :class:`CoxPH`, :class:`ExponentialFitter`, :class:`WeibullFitter`,
    :class:`LogNormalFitter`, :class:`LogLogisticFitter`, :class:`ShiftedBetaGeometric`,
    :class:`BetaDiscreteWeibull`.
Functions
    :func:`log_rank`, :func:`compare_groups`, :func:`survival_data_from_accounts`,
    :func:`concordance_index`, projections (:func:`survival_band`, :func:`expected_alive`,
    :func:`residual_lifetime`, :func:`revenue_projection`, :func:`cohort_nrr`,
    :func:`lifetime_value`) and backtests (:func:`backtest_cohorts`, :func:`backtest_tenure`).
"""

from csim.forecast.accounts import survival_data_from_accounts
from csim.forecast.backtest import backtest_cohorts, backtest_tenure
from csim.forecast.cohort import BetaDiscreteWeibull, ShiftedBetaGeometric
from csim.forecast.compare import compare_groups
from csim.forecast.concordance import concordance_index
from csim.forecast.cox import CoxPH
from csim.forecast.nonparametric import KaplanMeier, log_rank, log_rank_table
from csim.forecast.parametric import (
    ExponentialFitter,
    LogLogisticFitter,
    LogNormalFitter,
    WeibullFitter,
)
from csim.forecast.projection import (
    cohort_nrr,
    expected_alive,
    lifetime_value,
    residual_lifetime,
    revenue_projection,
    survival_band,
)

__all__ = [
    "BetaDiscreteWeibull", "CoxPH", "ExponentialFitter", "KaplanMeier", "LogLogisticFitter", "LogNormalFitter",
    "ShiftedBetaGeometric", "WeibullFitter", "backtest_cohorts", "backtest_tenure", "cohort_nrr", "compare_groups",
    "concordance_index", "expected_alive", "lifetime_value", "log_rank", "log_rank_table", "residual_lifetime",
    "revenue_projection", "survival_band", "survival_data_from_accounts",
]
