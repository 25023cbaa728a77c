"""Mechanism decomposition: with every channel off the strategies cannot differ; a strategy that
acts through one channel only is attributed to that channel."""

from __future__ import annotations

import numpy as np
import pytest

from csim.compare import compare_scenarios, metric_values, run_scenarios
from csim.compare.decompose import CHANNELS, DECOMPOSED_METRICS, switch_off
from tests.compare.conftest import SEED, scenario

SMALL = ["horizon_months=14", "initial_book.customers=200", "acquisition.leads_per_month=60"]


def test_every_channel_off_leaves_no_difference():
    names = [c.name for c in CHANNELS]
    runs = run_scenarios([switch_off(scenario(n, *SMALL), names) for n in ("renewal_focus", "expansion_focus")],
                         3, SEED, executor="serial", progress=False)
    values = metric_values(runs)
    for metric in ("ending_arr", "ending_customers", "logo_churn_annual", "cumulative_revenue", "nrr_t12_end"):
        d = values[metric]["expansion_focus"] - values[metric]["renewal_focus"]
        assert np.all(d[np.isfinite(d)] == 0.0), (metric, d)


def test_unknown_channel_is_refused():
    with pytest.raises(ValueError, match="unknown channel 'health'"):
        switch_off(scenario("baseline", *SMALL), ["health"])


def test_a_renewal_only_strategy_is_attributed_to_the_direct_channel(tmp_path):
    # renewal_focus's calls, without their health effect, only shift the renewal decision: against no_cs the
    # whole difference is the direct channel's, and switching it off leaves nothing.
    calls_only = ["strategy.plays.1.effect.health=0", "strategy.plays.2.effect.health=0"]
    runs = [scenario("no_cs", *SMALL), scenario("renewal_focus", *SMALL, *calls_only)]
    result = compare_scenarios(runs, 3, SEED, tmp_path, executor="serial", progress=False, survival=False,
                               decompose=True)
    d = result["decomposition"]["renewal_focus"]
    assert set(d) == set(DECOMPOSED_METRICS)
    churn = d["logo_churn_annual"]
    contributions = {c["channel"]: c["mean"] for c in churn["channels"]}
    assert churn["whole"]["mean"] < 0  # renewal calls keep customers
    assert contributions["direct"] == pytest.approx(churn["whole"]["mean"], abs=1e-12)
    assert churn["no_channel"]["mean"] == 0.0
    # The terms add up to the whole: contributions + interaction.
    total = sum(contributions.values()) + churn["interaction"]["mean"]
    assert total == pytest.approx(churn["whole"]["mean"], abs=1e-12)
    assert (tmp_path / "decomposition.csv").exists()


def test_breakdown_parts_match_the_summary_of_each_parts_records():
    """The fast per-part figures equal csim.metrics.summary on the part's own records."""
    from csim.compare.breakdown import BREAKDOWN_METRICS, part_values, parts_of
    from csim.metrics import monthly, summary

    runs = run_scenarios([scenario("expansion_focus", *SMALL)], 2, SEED, executor="serial", progress=False)
    records = runs[0].records
    fast = part_values(records)
    for part, sub in parts_of(records).items():
        slow = summary(sub, monthly(sub))["metrics"]
        for metric in BREAKDOWN_METRICS:
            np.testing.assert_allclose(fast[part][metric], slow[metric]["per_replication"], rtol=1e-12,
                                       err_msg=f"{part} {metric}")
