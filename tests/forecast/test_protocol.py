"""Every registered model follows the one fitter protocol, and the registry drives analysis and backtests.

One small dataset for all: whole-period tenures, geometric per customer with a churn probability
that varies between customers (Beta-distributed, lower for x = 1), censored at a random whole
period — data every kind of model can take, with churn at many tenures.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest

from csim.forecast.registry import (KINDS, MODELS, PROJECTION_KINDS, ModelSpec, SurvivalModel, in_projection_order,
                                    model_names, projection_models)

TIMES = [0.0, 1.0, 5.0]
PROFILES = pd.DataFrame({"x": [0.0, 1.0]}, index=["reference", "x=1"])


@pytest.fixture(scope="module")
def tenures():
    rng = np.random.default_rng(11)
    n = 600
    x = rng.integers(0, 2, n).astype(float)
    p = rng.beta(2.0, 5.0, n) * np.where(x > 0, 0.6, 1.0)
    tenure = rng.geometric(p).astype(float)
    censor = rng.integers(1, 13, n).astype(float)
    return np.minimum(tenure, censor), (tenure <= censor).astype(float), pd.DataFrame({"x": x})


def _fit(name, data, **constructor):
    t, d, X = data
    spec = MODELS[name]
    model = spec.make(**constructor)
    return model, model.fit(t, d, covariates=X if spec.cls.supports_covariates else None)


def _intervals(summary: pd.DataFrame) -> dict[str, np.ndarray]:
    """Width of each interval of a summary, keyed by the interval's name without its level ("lower_95" → "lower")."""
    out = {}
    for column in summary.columns:
        if "lower" in column:
            upper = column.replace("lower", "upper")
            out[re.sub(r"_\d+$", "", column)] = (summary[upper] - summary[column]).to_numpy(float)
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_survival_predict_and_summary_follow_the_protocol(name, tenures):
    model, fitted = _fit(name, tenures)
    cls = type(model)
    assert fitted is model
    assert isinstance(model, SurvivalModel)
    assert (cls.name, cls.kind) == (name, MODELS[name].kind) and cls.kind in KINDS
    assert model.level == 0.95
    assert not getattr(model, "degenerate_", None), "the shared data should give every model a proper fit"

    s = model.survival(TIMES)
    assert isinstance(s, np.ndarray) and s.shape == (3,)
    assert s[0] == 1.0 and np.all(np.diff(s) <= 0) and np.all((s >= 0) & (s <= 1)) and s[-1] < 1

    frame = model.predict(TIMES)
    assert frame.index.name == "t" and list(frame.index) == TIMES and list(frame.columns) == ["survival"]
    np.testing.assert_array_equal(frame["survival"].to_numpy(), s)

    assert isinstance(inspect.getattr_static(cls, "summary"), property)
    assert isinstance(model.summary, pd.DataFrame) and len(model.summary)
    with pytest.raises(AttributeError):
        model.summary = pd.DataFrame()


@pytest.mark.parametrize("name", list(MODELS))
def test_profiles_are_columns_for_models_with_covariates_and_refused_otherwise(name, tenures):
    model, _ = _fit(name, tenures)
    if not type(model).supports_covariates:
        with pytest.raises(ValueError):
            model.predict(TIMES, PROFILES)
        return
    frame = model.predict(TIMES, PROFILES)
    assert list(frame.columns) == list(PROFILES.index) and frame.index.name == "t"
    for label, row in PROFILES.iterrows():
        np.testing.assert_array_equal(frame[label].to_numpy(), model.survival(TIMES, row.to_dict()))
    # x lowers churn in the data: every model with covariates sees it.
    assert frame.loc[5.0, "x=1"] > frame.loc[5.0, "reference"]


@pytest.mark.parametrize("name", list(MODELS))
def test_the_constructor_level_sets_the_width_of_every_summary_interval(name, tenures):
    wide = _intervals(_fit(name, tenures)[0].summary)
    narrow = _intervals(_fit(name, tenures, level=0.5)[0].summary)
    assert wide and wide.keys() == narrow.keys()
    for key in wide:
        finite = np.isfinite(wide[key]) & np.isfinite(narrow[key])
        assert finite.any(), key
        assert np.all(narrow[key][finite] <= wide[key][finite]) and np.any(narrow[key][finite] < wide[key][finite])


@pytest.mark.parametrize("name", list(MODELS))
def test_capabilities_are_enforced_by_fit(name, tenures):
    t, d, X = tenures
    cls = MODELS[name].cls
    if not cls.supports_entry:
        with pytest.raises(ValueError, match="entry"):
            MODELS[name].make().fit(t, d, entry=np.zeros_like(t))
    if not cls.supports_covariates:
        with pytest.raises(ValueError, match="covariates"):
            MODELS[name].make().fit(t, d, covariates=X)
    if cls.needs_covariates:
        with pytest.raises(ValueError, match="covariates"):
            MODELS[name].make().fit(t, d)


def test_registry_names_kinds_and_projection_order():
    assert all(isinstance(spec, ModelSpec) and spec.name == name == spec.cls.name for name, spec in MODELS.items())
    assert set(model_names()) == set(MODELS)
    assert model_names(kind="contract_renewal") == [n for n, s in MODELS.items() if s.kind == "contract_renewal"]
    projected = projection_models()
    assert projected == [n for kind in PROJECTION_KINDS for n, s in MODELS.items() if s.kind == kind and s.projects]
    # Asked for in any order, models come back grouped by kind, in the order asked within a kind.
    asked = list(reversed(projected))
    ordered = in_projection_order(asked)
    assert [MODELS[n].kind for n in ordered] == sorted((MODELS[n].kind for n in asked), key=PROJECTION_KINDS.index)
    for kind in PROJECTION_KINDS:
        assert [n for n in ordered if MODELS[n].kind == kind] == [n for n in asked if MODELS[n].kind == kind]
    with pytest.raises(ValueError, match="not a projection model"):
        in_projection_order(["cox"])
    with pytest.raises(ValueError, match="unknown kind"):
        model_names(kind="bayesian")


def test_a_new_model_is_one_class_and_one_registry_entry(tenures, monkeypatch):
    """Registered under a new name, a model is fitted, backtested and projected with no other change."""
    from csim.forecast import registry
    from csim.forecast.analysis import ForecastOptions, analyse_tenure
    from csim.forecast.backtest import backtest_tenure
    from csim.forecast.data import SurvivalData
    from csim.forecast.parametric import WeibullFitter

    class AnotherWeibull(WeibullFitter):
        name = "another_weibull"

    spec = ModelSpec(name="another_weibull", cls=AnotherWeibull, kind="parametric", label="Another Weibull",
                     description="a second Weibull, registered under a new name", projects=True)
    monkeypatch.setitem(registry.MODELS, "another_weibull", spec)
    t, d, _ = tenures
    summary, _ = backtest_tenure(t, d, 4.0, models=["another_weibull", "weibull"])
    assert summary.loc["another_weibull", "mape"] == pytest.approx(summary.loc["weibull", "mape"], rel=1e-9)

    data = SurvivalData(t, d, None, pd.DataFrame({"t": t, "d": d}), unit="months", source="test")
    result = analyse_tenure(data, ForecastOptions(horizon=6, models=["another_weibull", "sbg"], draws=100))
    assert list(result["models"]) == ["another_weibull", "sbg"]
    assert {"another_weibull", "sbg"} <= set(result["projections"]["survival"])
    assert {row["family"] for row in result["model_choice"]["by_aic"]} == {"continuous", "contract"}
