"""CS capacity that follows the book: hires at monthly reviews, a hiring delay, a ramp; cost and
capacity month by month. Expected team sizes are rebuilt from the accounts table independently."""

from __future__ import annotations

import math

import numpy as np
import pytest

from csim.cli import main
from csim.engine.runner import simulate
from csim.metrics import monthly, summary
from csim.records import MONTH_DAYS
from tests.engine.scenarios import TINY_TOML, scenario

RATIO, DELAY, RAMP_MONTHS, START = 40.0, 45.0, 2.0, 2


def _coverage():
    return scenario({"conversion": 1.0}, horizon_months=10, seed=8,
                    acquisition={"leads_per_month": 30.0, "lead_growth_annual": 0.0},
                    initial_book={"customers": 150, "max_tenure_months": 6.0},
                    cs_team={"headcount": START, "accounts_per_csm": {"solo": RATIO}, "hiring_delay_days": DELAY,
                             "ramp_months": RAMP_MONTHS, "hours_per_week": 30.0, "cost_per_csm_year": 100_000.0})


def test_a_fixed_team_is_recorded_as_it_is():
    s = scenario(horizon_months=4, cs_team={"headcount": 3, "hours_per_week": 35.0})
    staff = simulate(s, 1, executor="serial", progress=False).staffing
    assert staff["headcount"].tolist() == [3] * 4
    np.testing.assert_allclose(staff["capacity_hours"], 3 * 35.0 * MONTH_DAYS / 7)
    np.testing.assert_allclose(staff["csm_days"], 3 * MONTH_DAYS)


def test_the_team_follows_the_book_with_delay_and_ramp():
    s = _coverage()
    rec = simulate(s, 1, executor="serial", progress=False)
    acc = rec.accounts
    assert not acc["churned"].any()  # no churn in this world: an account pays from its start on
    # Rebuild the reviews: at each month start, required = ceil(paying accounts / ratio); open the
    # gap to the team plus the hires under way; a hire joins DELAY days later.
    pending_until = []
    team = [-math.inf] * START
    expected_head, expected_fte = [], []
    for m in range(s.horizon_months):
        t = m * MONTH_DAYS
        paying = int((acc["start"] <= t).sum())
        required = math.ceil(paying / RATIO)
        waiting = [j for j in pending_until if j > t]
        arrived = [j for j in pending_until if j <= t]
        team += arrived
        pending_until = waiting
        gap = required - len(team) - len(pending_until)
        pending_until += [t + DELAY] * max(0, gap)
        end = (m + 1) * MONTH_DAYS
        members = team + [j for j in pending_until if j <= end]
        expected_head.append(len(members))
        expected_fte.append(sum(1.0 if end - j >= RAMP_MONTHS * MONTH_DAYS else 0.5 for j in members))
    staff = rec.staffing
    assert staff["headcount"].tolist() == expected_head
    np.testing.assert_allclose(staff["productive_fte"], expected_fte)
    assert staff["headcount"][-1] > START  # the book grew and the team with it
    # Cost follows the CSM-days paid month by month.
    result = summary(rec)
    assert result["metrics"]["cs_cost"]["mean"] == pytest.approx(staff["csm_days"].sum() / 365.25 * 100_000.0)
    # Utilisation is over the capacity actually there (ramping hires at half).
    table = monthly(rec)
    np.testing.assert_allclose(table["cs_utilisation"], table["cs_hours"] / staff["capacity_hours"])


def test_capacity_grows_only_with_productive_hours():
    s = _coverage()
    staff = simulate(s, 1, executor="serial", progress=False).staffing
    # Capacity in a month never exceeds the productive FTE at its end (the team only grows).
    assert (staff["capacity_hours"] <= staff["productive_fte"] * 30.0 * MONTH_DAYS / 7 + 1e-6).all()


def test_an_unknown_segment_in_the_coverage_rule_is_one_line(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(TINY_TOML + "\n[cs_team]\naccounts_per_csm = { smb = 100, enterprize = 10 }\n", encoding="utf-8")
    status = main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "cs_team.accounts_per_csm" in err and "enterprize" in err
