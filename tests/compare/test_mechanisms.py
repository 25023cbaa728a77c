"""Mechanism sanity of the strategy library, with fixed seeds and 95 % intervals over 8 paired
replications: customer success keeps customers, and only as far as the team can serve it."""

from __future__ import annotations

import numpy as np

from csim.compare import metric_values
from csim.metrics import t_interval

ACTIVE = ("renewal_focus", "expansion_focus")


def _values(runs, name):
    return metric_values(runs)[name]


def test_no_cs_loses_more_customers_than_either_active_strategy(team_sizes):
    churn = _values(team_sizes[8], "logo_churn_annual")
    customers = _values(team_sizes[8], "ending_customers")
    for strategy in ACTIVE:
        extra_churn = t_interval(churn["no_cs"] - churn[strategy])
        assert extra_churn.low > 0, (strategy, extra_churn)
        fewer_customers = t_interval(customers[strategy] - customers["no_cs"])
        assert fewer_customers.low > 0, (strategy, fewer_customers)


def test_an_eighth_of_the_team_makes_touches_wait(team_sizes):
    full, small = (_values(team_sizes[h], "mean_touch_wait_days") for h in (8, 1))
    expired = _values(team_sizes[1], "touches_expired_share")
    for strategy in ("no_cs", *ACTIVE):
        assert t_interval(small[strategy] - full[strategy]).low > 0.5, strategy  # days
    for strategy in ACTIVE:
        assert np.mean(expired[strategy]) > 0.05, strategy  # touches dropped at their deadline


def test_an_eighth_of_the_team_shrinks_the_active_strategies_advantage(team_sizes):
    """Advantage = no_cs's logo churn minus the strategy's (and customers kept); every run
    shares the seed, so the change in advantage is itself a paired difference."""
    for metric, sign in (("logo_churn_annual", 1), ("ending_customers", -1)):
        full, small = (_values(team_sizes[h], metric) for h in (8, 1))
        for strategy in ACTIVE:
            advantage_full = sign * (full["no_cs"] - full[strategy])
            advantage_small = sign * (small["no_cs"] - small[strategy])
            shrink = t_interval(advantage_full - advantage_small)
            assert shrink.low > 0, (metric, strategy, shrink)
