"""Uncertain parameters: drawn once per replication from the declared distribution, shared by name
across strategies, simulated as the plain scenario with the drawn numbers; bad priors are one line."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from csim.cli import main
from csim.engine.parameters import parameter_draws, resolve, uniform_for
from csim.engine.runner import simulate
from csim.engine.world import World
from csim.records import TABLES
from csim.scenario import Scenario, load_scenario
from csim.scenario.uncertain import Distribution, uncertain_parameters
from tests.engine.scenarios import CS_WORLD, TINY_TOML, scenario

PRIOR = {"dist": "normal", "mean": 1.0, "sd": 0.5}


def _with_prior(renewal_logodds, churn_effect=4.0, **extra):
    world = {**CS_WORLD, "horizon_months": 12}
    plays = [dict(p) for p in world["strategy"]["plays"]]
    plays[1] = {**plays[1], "effect": {"renewal_logodds": renewal_logodds}}
    return scenario(None, **{**world, "strategy": {"name": "cs", "plays": plays},
                             "health": {**world["health"], "churn_effect": churn_effect}, **extra})


def test_a_scenario_without_distributions_is_simulated_as_it_is():
    plain = _with_prior(1.0)
    assert resolve(plain, 5, 0) is plain
    assert uncertain_parameters(plain) == []


def test_the_engine_simulates_the_drawn_numbers():
    uncertain = _with_prior(PRIOR, churn_effect={"dist": "uniform", "low": 2.0, "high": 6.0})
    for replication in (0, 3):
        drawn = resolve(uncertain, 5, replication)
        value = drawn.strategy.plays[1].effect.renewal_logodds
        assert value == pytest.approx(stats.norm(1.0, 0.5).ppf(
            uniform_for(5, replication, "strategy.plays[1].effect.renewal_logodds")), rel=1e-12)
        assert 2.0 <= drawn.health.churn_effect <= 6.0
        plain = _with_prior(value, churn_effect=drawn.health.churn_effect)
        a = simulate(uncertain, [replication], 5, executor="serial", progress=False)
        b = simulate(plain, [replication], 5, executor="serial", progress=False)
        for table, columns in TABLES.items():
            for column in columns:
                np.testing.assert_array_equal(getattr(a, table)[column], getattr(b, table)[column],
                                              err_msg=f"{table}.{column}")


def test_a_named_parameter_draws_the_same_quantile_in_every_scenario():
    one = _with_prior({**PRIOR, "name": "renewal_call"})
    # Another strategy: the same named prior elsewhere, with another scale, and more parameters.
    other = _with_prior({"dist": "normal", "mean": 3.0, "sd": 1.0, "name": "renewal_call"},
                        churn_effect={"dist": "normal", "mean": 4.0, "sd": 1.0})
    a = parameter_draws(one, 9, range(20))["renewal_call"]
    b = parameter_draws(other, 9, range(20))["renewal_call"]
    np.testing.assert_allclose((a - 1.0) / 0.5, (b - 3.0) / 1.0, rtol=0, atol=1e-12)
    unnamed = parameter_draws(other, 9, range(20))["health.churn_effect"]
    assert abs(stats.spearmanr(a, unnamed).statistic) < 0.7  # another key, another stream


@pytest.mark.parametrize("prior, frozen", [
    ({"dist": "normal", "mean": 0.4, "sd": 0.2}, stats.norm(0.4, 0.2)),
    ({"dist": "lognormal", "median": 2.0, "sigma": 0.5}, stats.lognorm(s=0.5, scale=2.0)),
    ({"dist": "beta", "a": 6.0, "b": 14.0}, stats.beta(6.0, 14.0)),
    ({"dist": "uniform", "low": -0.1, "high": 0.3}, stats.uniform(-0.1, 0.4)),
    ({"dist": "triangular", "low": 0.0, "mode": 0.1, "high": 0.4}, stats.triang(0.25, loc=0.0, scale=0.4)),
], ids=["normal", "lognormal", "beta", "uniform", "triangular"])
def test_draws_over_replications_follow_the_declared_distribution(prior, frozen):
    draws = parameter_draws(_with_prior(0.0, churn_effect=prior), 2026, range(2000))["health.churn_effect"]
    # Kolmogorov–Smirnov at n = 2000: the 0.1 % critical value of D is 1.95 / sqrt(n) = 0.044.
    assert stats.kstest(draws, frozen.cdf).statistic < 1.95 / math.sqrt(len(draws))
    # Reproducible and independent of the order in which replications are asked for.
    again = parameter_draws(_with_prior(0.0, churn_effect=prior), 2026, [1999, 0])["health.churn_effect"]
    assert again.tolist() == [draws[1999], draws[0]]


@pytest.mark.parametrize("spec, words", [
    ('{ dist = "normal", mean = 0.3, sd = 0.1 }', "reaches outside [0, 1]"),
    ('{ dist = "normal", mean = 0.3 }', "needs 'sd'"),
    ('{ dist = "beta", a = 2.0, b = 3.0, sd = 0.1 }', "'sd' is not a key of a beta distribution"),
    ('{ dist = "gamma", a = 2.0 }', "dist"),
    ('{ dist = "uniform", low = 0.5, high = 0.2 }', "low must be below high"),
], ids=["normal-for-a-probability", "missing-key", "foreign-key", "unknown-family", "empty-range"])
def test_bad_priors_are_one_line_naming_the_key(capsys, tmp_path, spec, words):
    text = TINY_TOML + f"""
[cs_team]
headcount = 1

[strategy]
name = "s"

[[strategy.plays]]
touch = "save_attempt"
trigger = "churn_intent"
effect = {{ save_prob = {spec} }}
"""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    status = main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "strategy.plays[0].effect.save_prob" in err and words in err, err


def test_a_prior_inside_the_bounds_is_accepted_for_a_probability():
    s = _with_prior(1.0)
    data = s.model_dump(mode="json")
    data["strategy"]["plays"][2]["effect"]["save_prob"] = {"dist": "beta", "a": 6.0, "b": 14.0}
    assert isinstance(Scenario.model_validate(data).strategy.plays[2].effect.save_prob, Distribution)


def test_lasting_effects_approach_the_ceiling_and_never_pass_it():
    world = World(scenario(None, health={"reviews_per_year": 0.0, "churn_effect": 0.0, "initial_sd": 0.0,
                                         "target_ceiling": 0.8}), 0)
    world._initial_book()
    account = world.accounts[0]
    targets = []
    for _ in range(1000):
        account.shift_target_health(0.05)
        targets.append(account.target)
    assert max(targets) <= 0.8
    assert targets[-1] == pytest.approx(0.8, abs=1e-6)  # approached, geometrically
    assert all(b >= a for a, b in zip(targets, targets[1:]))
    # Below the reference a rise acts in full; a fall always does.
    account.target = 0.3
    account.shift_target_health(0.05)
    assert account.target == pytest.approx(0.35)
    account.shift_target_health(-0.2)
    assert account.target == pytest.approx(0.15)


def test_a_renewal_play_can_move_health_as_well_as_the_decision():
    plays = [{"touch": "renewal_call", "trigger": "renewal_window", "csm_hours": 0.0,
              "effect": {"renewal_logodds": 0.5, "health": 0.2, "target_health": 0.1}}]
    s = scenario(None, horizon_months=12, initial_book={"customers": 1, "max_tenure_months": 6.0},
                 strategy={"name": "renewal", "plays": plays})
    records = simulate(s, 1, 3, executor="serial", progress=False)
    ev = records.events
    from csim.records import EVENT_KINDS

    window = np.flatnonzero(ev["kind"] == EVENT_KINDS.index("renewal_window"))
    assert window.size == 1
    assert records.touches["play"].size == 1  # the call happened, tech-touch at once
    after = ev["health"][window[0] + 1:]
    assert after.size and after[0] == pytest.approx(ev["health"][window[0]] + 0.2, abs=1e-6)


def test_scenario_files_resolve_with_their_priors():
    s = load_scenario("scenarios/expansion_focus.toml")
    drawn = resolve(s, s.seed, 0)
    assert uncertain_parameters(drawn) == []


def test_draws_and_records_are_the_same_whatever_the_executor():
    """Priors are keyed by (seed, replication, key) through SHA-256: local processes draw what one
    process draws, and the records agree column by column."""
    from tests.engine.test_reproducible import assert_same_records

    uncertain = _with_prior(PRIOR, churn_effect={"dist": "uniform", "low": 2.0, "high": 6.0})
    serial = simulate(uncertain, 3, 5, executor="serial", progress=False)
    parallel = simulate(uncertain, 3, 5, executor="joblib", workers=2, progress=False)
    assert_same_records(serial, parallel)
