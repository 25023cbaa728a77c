"""Forecasting customer retention: survival curves, drivers, contract-renewal models, projections.

Stands alone (it reads tables, not the simulation engine). Tenure is in periods (months for
customer tables; the contract period for cohort tables). See ``docs/forecasting.md``.

Every fitter follows one protocol (:class:`csim.forecast.registry.SurvivalModel`):

* ``Model(level=0.95, …)``: ``level`` is the confidence level of every interval the fitter
  reports; other constructor keywords are the model's options (``ties``, ``link`` …).
* ``fit(durations, events, entry=None, covariates=None, **model_specific)`` returns ``self``:
  tenures, 0/1 churn flags, entry tenures (left truncation) and a DataFrame of covariates, in
  that order. A model that cannot take entry or covariates raises ValueError when given them;
  :class:`CoxPH` requires covariates. Survivor counts go to the contract-renewal models'
  ``fit_survivors(survivors)``.
* ``survival(times, profile=None)``: ndarray of the share still active at ``times`` for one
  covariate profile (mapping name → value; None = the reference profile).
* ``predict(times, profiles=None)``: DataFrame indexed by ``times`` (named "t"), one column
  per row of ``profiles``, or a single "survival" column.
* ``summary``: read-only property, a DataFrame of the estimates with their ``level`` intervals.
* class attributes ``name`` (the key in :data:`csim.forecast.registry.MODELS`), ``kind``
  ("nonparametric", "semiparametric", "parametric", "contract_renewal", "discrete_time") and the
  capabilities ``supports_entry``, ``supports_covariates``, ``needs_covariates``,
  ``needs_whole_periods``, ``needs_period_grid``, ``has_density``, ``whole_period_steps``,
  ``min_churn_tenures``, which analysis and backtests read instead of model names.

Fitted attributes end in ``_``. The registry (:mod:`csim.forecast.registry`) names every model
for the command line, ``forecast.json`` and the reports.

Fitters
    :class:`KaplanMeier`, :class:`CoxPH`, :class:`ExponentialFitter`, :class:`WeibullFitter`,
    :class:`LogNormalFitter`, :class:`LogLogisticFitter`, :class:`ShiftedBetaGeometric`,
    :class:`BetaDiscreteWeibull`, :class:`DiscreteTimeHazard`.
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
from csim.forecast.discrete import DiscreteTimeHazard
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
from csim.forecast.registry import MODELS, ModelSpec, SurvivalModel

__all__ = [
    "BetaDiscreteWeibull", "CoxPH", "DiscreteTimeHazard", "ExponentialFitter", "KaplanMeier", "LogLogisticFitter",
    "LogNormalFitter", "MODELS", "ModelSpec", "ShiftedBetaGeometric", "SurvivalModel", "WeibullFitter",
    "backtest_cohorts", "backtest_tenure", "cohort_nrr", "compare_groups", "concordance_index", "expected_alive",
    "lifetime_value", "log_rank", "log_rank_table", "residual_lifetime", "revenue_projection", "survival_band",
    "survival_data_from_accounts",
]
