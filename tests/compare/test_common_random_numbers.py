"""Common random numbers: a scenario against itself differs by exactly zero, and the default
comparison's paired differences have a much smaller variance than independent ones."""

from __future__ import annotations

import json

import numpy as np

from csim.cli import main
from csim.compare import COMPARED, metric_values, paired_statistics, run_scenarios
from csim.scenario.uncertain import at_means
from tests.compare.conftest import SCENARIOS, SEED, scenario

TINY = ["horizon_months=14", "initial_book.customers=120", "acquisition.leads_per_month=40", "cs_team.headcount=1"]


def test_a_scenario_against_itself_differs_by_exactly_zero():
    s = scenario("expansion_focus", *TINY)
    runs = run_scenarios([s, s], 3, SEED, executor="serial", progress=False)
    assert [r.label for r in runs] == ["expansion_focus", "expansion_focus#2"]
    stats = paired_statistics(runs)
    assert set(stats["metrics"]) == set(COMPARED)
    for name, metric in stats["metrics"].items():
        d = metric["paired_difference"]["expansion_focus#2"]
        if d["n"] == 0:  # metric undefined in every replication (NaN in both): nothing to difference
            continue
        assert d["mean"] == 0.0 and d["ci_low"] == 0.0 and d["ci_high"] == 0.0, name
        assert d["var_paired"] == 0.0 and not d["excludes_zero"], name
    # Equal CS cost: no extra spend to return on, so CS ROI is not defined (never a 0 or an infinity).
    assert np.isnan(stats["metrics"]["cs_roi"]["scenarios"]["expansion_focus#2"]["mean"])
    assert stats["metrics"]["cs_roi"]["scenarios"]["expansion_focus#2"]["n"] == 0
    # P(better) of a scenario against itself: every replication a tie, 0.5 by the stated rule.
    from csim.compare.outputs import add_probability_beats

    add_probability_beats(stats, runs)
    p = stats["metrics"]["ending_arr"]["paired_difference"]["expansion_focus#2"]["p_beats"]
    assert p["probability"] == 0.5 and p["all_tied"]


def test_compare_command_writes_every_output(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", str(SCENARIOS / "renewal_focus.toml"), str(SCENARIOS / "expansion_focus.toml"),
            "--reps", "3", "--seed", str(SEED), "--out", str(out), "--no-progress", "--workers", "1"]
    argv += [w for o in TINY for w in ("--set", o)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "expansion_focus − renewal_focus" in printed
    for name in ("comparison.json", "survival.json", "survival_km.csv", "monthly.csv", "cohort_revenue.csv",
                 "report.md", "survival.png", "mrr.png", "nrr.png", "cohort_revenue.png", "cs_load.png"):
        assert (out / name).stat().st_size > 0, name
    result = json.loads((out / "comparison.json").read_text())
    assert result["reference"] == "renewal_focus" and result["replications"] == 3
    assert {p["seed"] for p in result["scenarios"]} == {SEED}
    arr = result["metrics"]["ending_arr"]
    assert set(arr["scenarios"]) == {"renewal_focus", "expansion_focus"}
    assert set(arr["paired_difference"]["expansion_focus"]) >= {"mean", "ci_low", "ci_high", "variance_ratio"}
    assert "cs_roi" in result["metrics"] and "CS cost" in result["cs_roi_definition"]
    survival = json.loads((out / "survival.json").read_text())
    assert "group[expansion_focus]" in survival["cox"] and "logrank" in survival["log_rank"]
    paired = survival["paired_accounts"][0]
    assert paired["scenario"] == "expansion_focus" and paired["matched"] >= 120  # at least the initial book
    report = (out / "report.md").read_text()
    assert "![" in report and "cs_load.png" in report
    # The report opens with the answer, then the effort behind it and what it rests on.
    order = ["## The answer: expansion_focus against renewal_focus", "## Effort each strategy used", "### Saturation",
             "## Where the difference comes from", "## What this rests on", "## All metrics in words"]
    positions = [report.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert (out / "breakdown.csv").stat().st_size > 0
    effort = result["effort"]
    assert set(effort) == {"renewal_focus", "expansion_focus"}
    assert all(e["capacity_factor"] == 1.0 for e in effort.values())  # no --equalize: as configured


def test_common_random_numbers_cut_the_variance_of_the_default_comparison():
    """renewal_focus vs expansion_focus, 8 replications of 18 months, seed fixed.

    Paired differences are compared with the same differences taken against an independent run
    of expansion_focus (another root seed). For ending customers and revenue the variance falls
    at least fivefold; with 7 degrees of freedom on each side a ratio of sample variances
    beyond 0.2 would need a true ratio well above 0.05, far from what pairing gives here. Effects are
    at their prior means (with priors each replication draws its own effect sizes, and the
    spread that adds to the paired difference is the answer's uncertainty, not noise)."""
    # Effects at their prior means: the spread the priors add to a difference is real, not luck,
    # and would blur what the pairing buys.
    reference, other = at_means(scenario("renewal_focus")), at_means(scenario("expansion_focus"))
    paired = run_scenarios([reference, other], 8, SEED, progress=False)
    independent = run_scenarios([other], 8, SEED + 1, progress=False)
    values = metric_values(paired)
    independent_values = metric_values(independent)
    stats = paired_statistics(paired, values=values)
    for name in ("ending_customers", "cumulative_revenue", "ending_arr", "logo_churn_annual"):
        a, b = values[name]["renewal_focus"], values[name]["expansion_focus"]
        c = independent_values[name]["expansion_focus"]
        var_paired, var_independent = np.var(b - a, ddof=1), np.var(c - a, ddof=1)
        assert var_paired < 0.2 * var_independent, (name, var_paired, var_independent)
        assert stats["metrics"][name]["paired_difference"]["expansion_focus"]["variance_ratio"] < 0.2, name
