"""The forecasting models by name: the protocol every fitter follows and the one registry of them.

:class:`SurvivalModel` is the shape of a fitter (see the :mod:`csim.forecast` module docstring for
the rules in words). :data:`MODELS` maps each name the command line, ``forecast.json`` and the
reports use to a :class:`ModelSpec`; :mod:`csim.forecast.analysis`, :mod:`csim.forecast.backtest`
and ``csim forecast`` read the models from here only, and decide what data a model can take from
the capability attributes of its class (``supports_entry``, ``needs_whole_periods`` …), never from
its name. A new model is one class following the protocol and one entry in :data:`MODELS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from csim.forecast.cohort import BetaDiscreteWeibull, ShiftedBetaGeometric
from csim.forecast.cox import CoxPH
from csim.forecast.discrete import DiscreteTimeHazard
from csim.forecast.nonparametric import KaplanMeier
from csim.forecast.parametric import ExponentialFitter, LogLogisticFitter, LogNormalFitter, WeibullFitter

#: The kinds of model, in the order reports and the command line list them.
KINDS = ("nonparametric", "semiparametric", "parametric", "contract_renewal", "discrete_time")

#: Kinds whose models are fitted, backtested and projected by default, in this order.
PROJECTION_KINDS = ("parametric", "contract_renewal", "discrete_time")


@runtime_checkable
class SurvivalModel(Protocol):
    """What every fitter offers (tenure in periods; survival is a share in [0, 1]).

    Construction: ``Model(level=0.95, …)``; ``level`` is the confidence level of every interval
    the fitter reports. Capability attributes (class attributes, read by analysis and backtests):

    * ``supports_entry``: accepts ``entry`` (left truncation);
    * ``supports_covariates`` / ``needs_covariates``: accepts / requires ``covariates``;
    * ``needs_whole_periods``: every tenure a whole number of periods and churn at tenure ≥ 1
      (contract renewals);
    * ``needs_period_grid``: reads tenures as whole-period intervals, so at least 95 % of them
      should be whole periods;
    * ``has_density``: a continuous-time density, so a churn at tenure 0 has zero likelihood;
    * ``whole_period_steps``: survival changes only at whole periods;
    * ``min_churn_tenures``: distinct positive churn tenures a fit needs (its free parameters
      without covariates).

    Contract-renewal models also fit survivor counts (``fit_survivors(survivors)``, needing
    ``min_survivor_periods`` observed periods after period 0) and give expected customers
    (``expected_active(periods, initial)``).
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    supports_entry: ClassVar[bool]
    supports_covariates: ClassVar[bool]
    needs_covariates: ClassVar[bool]
    needs_whole_periods: ClassVar[bool]
    needs_period_grid: ClassVar[bool]
    has_density: ClassVar[bool]
    whole_period_steps: ClassVar[bool]
    min_churn_tenures: ClassVar[int]
    level: float

    def fit(self, durations, events, entry=None, covariates=None, **model_specific) -> SurvivalModel:
        """Fit to tenures (periods), 0/1 churn flags, optional entry tenures and covariates; return ``self``."""

    def survival(self, times, profile=None) -> np.ndarray:
        """Share still active at tenure ``times`` for one covariate profile (name → value; None = reference)."""

    def predict(self, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Survival at ``times`` (index "t"): one column per row of ``profiles``, or one "survival" column."""

    @property
    def summary(self) -> pd.DataFrame:
        """The fitted estimates with their ``level`` intervals."""


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    ``name``: the key in :data:`MODELS`, also the class's ``name``; ``cls``: the fitter class;
    ``kind``: one of :data:`KINDS` (the class's ``kind``); ``label``: the name for people in
    reports; ``description``: one line for ``csim forecast --help``; ``projects``: whether
    ``csim forecast`` fits, backtests and projects it on request (``--models``); ``options``:
    constructor keywords the command line and reports use.
    """

    name: str
    cls: type
    kind: str
    label: str
    description: str
    projects: bool
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def make(self, **kwargs) -> SurvivalModel:
        """A fresh, unfitted fitter with this entry's options (``kwargs`` override them)."""
        return self.cls(**{**self.options, **kwargs})


def _spec(cls: type, label: str, description: str, projects: bool, **options) -> ModelSpec:
    # Name and kind are read from the class, so they are written in one place only.
    return ModelSpec(name=cls.name, cls=cls, kind=cls.kind, label=label, description=description,
                     projects=projects, options=options)


#: Every model by name, kinds in the order of :data:`KINDS`.
MODELS: dict[str, ModelSpec] = {entry.name: entry for entry in (
    _spec(KaplanMeier, "Kaplan–Meier", "survival curve of the data with its interval; always fitted", False),
    _spec(CoxPH, "Cox proportional hazards", "hazard ratios of the covariates; fitted when --covariates is given",
          False),
    _spec(ExponentialFitter, "Exponential", "constant churn hazard (1 parameter)", True),
    _spec(WeibullFitter, "Weibull", "churn hazard falling or rising with tenure (2 parameters)", True),
    _spec(LogNormalFitter, "Log-normal", "log tenure normal: churn hazard rising then falling (2 parameters)",
          True),
    _spec(LogLogisticFitter, "Log-logistic", "churn hazard rising then falling, or falling (2 parameters)", True),
    _spec(ShiftedBetaGeometric, "Shifted beta-geometric (sBG)",
          "contract renewals: churn probability constant per customer, varying between customers", True),
    _spec(BetaDiscreteWeibull, "Beta-discrete-Weibull (BdW)",
          "contract renewals: sBG with each customer's churn probability changing with tenure", True),
    # Analysis checks the whole-period grid (needs_period_grid) before fitting: no warning needed here.
    _spec(DiscreteTimeHazard, "Discrete-time hazard (cloglog, hazard per period)",
          "churn probability per whole period (cloglog GLM), for tenures in whole periods", True,
          grid="ignore"),
)}


def _check_kinds(models: dict[str, ModelSpec]) -> None:
    # A misspelt kind would silently drop a model from every default list.
    for name, entry in models.items():
        if entry.kind not in KINDS or (entry.projects and entry.kind not in PROJECTION_KINDS):
            raise ValueError(f"model {name!r} has kind {entry.kind!r}; kinds are {', '.join(KINDS)} "
                             f"(projected: {', '.join(PROJECTION_KINDS)})")


_check_kinds(MODELS)


def spec(name: str) -> ModelSpec:
    """The registry entry of ``name``; ValueError naming the known models otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None


def model_names(kind: str | None = None) -> list[str]:
    """Registered names (of one ``kind`` when given), in registry order."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
    return [name for name, entry in MODELS.items() if kind is None or entry.kind == kind]


def projection_models() -> list[str]:
    """The models ``csim forecast`` fits, backtests and projects by default.

    Ordered by kind as :data:`PROJECTION_KINDS` (parametric, contract-renewal, discrete-time),
    then in registry order, so reports list them the same way whatever order they were asked in.
    """
    return in_projection_order(name for name, entry in MODELS.items() if entry.projects)


def in_projection_order(names) -> list[str]:
    """``names`` sorted by :data:`PROJECTION_KINDS`, keeping their order within a kind.

    ValueError for a name that is not a projection model (unknown, or e.g. ``cox``).
    """
    names = list(names)
    for name in names:
        if name not in MODELS or not MODELS[name].projects:
            raise ValueError(f"{name!r} is not a projection model; choose from "
                             f"{', '.join(n for n, e in MODELS.items() if e.projects)}")
    return sorted(names, key=lambda n: PROJECTION_KINDS.index(MODELS[n].kind))
