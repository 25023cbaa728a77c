"""Counting-process (start, stop] tables and the Cox model with time-varying covariates.

References: R ``survival`` 3.5.3 values stored in ``tests/forecast/reference/tv_cox_*`` (made by
``tv_cox_reference.R``; R is not needed here), a world whose hazard is known and switches with the
covariate (event times drawn by inverting the piecewise-linear cumulative hazard), the exact
invariance of the partial likelihood to splitting a row where nothing changes, and a plain loop
over the simulator's event log.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csim.engine.world import simulate_replication
from csim.errors import InputError
from csim.forecast import CoxPH
from csim.forecast.accounts import survival_data_from_accounts
from csim.forecast.counting import counting_process, health_intervals
from csim.records import MONTH_DAYS, Records
from csim.tables import to_frame
from tests.engine.scenarios import scenario

REFERENCE = Path(__file__).parent / "reference"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, comment="#")


def _fit(table, ties: str = "efron") -> CoxPH:
    return CoxPH(ties=ties).fit(table.stop, table.event, entry=table.start, covariates=table.covariates)


# ---------------------------------------------------------------- against R survival


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_matches_r_coxph_on_start_stop_rows(ties):
    """coxph(Surv(start, stop, event) ~ x1 + x2): coef to 1e-7, se to 1e-8 and loglik to 1e-10, relative.

    The brief for this comparison was 1e-6; the fits agree to 2e-9 (coef), 2e-10 (se) and 1e-15
    (loglik), and the tolerances keep a margin over that for other BLAS builds. The stored data
    have whole-month churn times (ties), rows starting at other customers' churn months (where the
    (start, stop] convention decides who is at risk: statsmodels' closed [start, stop] would move
    the coefficients by 3 %), left truncation, gaps and shuffled rows.
    """
    data = _read("tv_cox_data.csv")
    ref = _read("tv_cox_values.csv")
    ref = ref[ref.ties == ties].set_index("covariate")
    table = counting_process(data, id="id", start="start", stop="stop", event="event", covariates=["x1", "x2"],
                             source="tv_cox_data.csv")
    # The data exercise what they are meant to (else the comparison could not fail for those reasons).
    churn_times = table.stop[table.event == 1]
    assert np.isin(table.start, churn_times).sum() > 100
    starts_after_gap = (table.id[1:] == table.id[:-1]) & (table.start[1:] > table.stop[:-1])
    assert starts_after_gap.sum() > 5
    assert (len(table), table.n_subjects, int(table.event.sum())) == (ref.rows.iloc[0], ref.customers.iloc[0],
                                                                       ref.events.iloc[0])
    model = _fit(table, ties)
    np.testing.assert_allclose(model.params_.loc[ref.index], ref.coef, rtol=1e-7)
    np.testing.assert_allclose(model.summary["se"].loc[ref.index], ref.se, rtol=1e-8)
    assert model.loglik_ == pytest.approx(ref.loglik.iloc[0], rel=1e-10)
    assert model.n_obs_ == len(data)


# ---------------------------------------------------------------- known answer


BETA, LAMBDA, SWITCH_BY, HORIZON = 1.0, 0.04, 24.0, 36.0


def _switching_world(n: int, seed: int):
    """Hazard λ0·exp(β·x(t)) per month: half the customers have x = 1 throughout, the other half
    start at x = 0 and switch to 1 at S ~ U(0, 24); censored at 36 months.

    With E ~ Exp(1), T solves H(T) = E for the cumulative hazard H(t) = λ0·t up to S and
    λ0·S + λ0·e^β·(t − S) after it: T = E/λ0 if E ≤ λ0·S, else S + (E − λ0·S)/(λ0·e^β).
    Returns the counting-process rows (shuffled) and the one-row-per-customer table with x(0).
    """
    rng = np.random.default_rng(seed)
    always = rng.random(n) < 0.5
    switch = np.where(always, 0.0, rng.uniform(0.0, SWITCH_BY, n))
    budget = rng.exponential(size=n)
    before = LAMBDA * switch
    t = np.where(budget <= before, budget / LAMBDA, switch + (budget - before) / (LAMBDA * np.exp(BETA)))
    stop = np.minimum(t, HORIZON)
    event = (t <= HORIZON).astype(int)
    ids = np.arange(n)
    two = ~always & (stop > switch)        # lived past the switch: a row at x = 0, then one at x = 1
    one = ~two
    rows = pd.concat([
        pd.DataFrame({"id": ids[one], "start": 0.0, "stop": stop[one], "event": event[one],
                      "x": always[one].astype(float)}),
        pd.DataFrame({"id": ids[two], "start": 0.0, "stop": switch[two], "event": 0, "x": 0.0}),
        pd.DataFrame({"id": ids[two], "start": switch[two], "stop": stop[two], "event": event[two], "x": 1.0}),
    ]).sample(frac=1.0, random_state=seed)
    baseline = pd.DataFrame({"stop": stop, "event": event, "x": always.astype(float)})
    return rows, baseline


def test_time_varying_fit_recovers_beta_and_the_baseline_only_fit_does_not():
    """β̂ within 4 fitted SEs of β = 1; the fit on x(0) alone is attenuated by more than 4 of its SEs.

    3000 customers give SE ≈ 0.05 (about 2300 churns). Using x(0) compares "always exposed" with
    "exposed from S on", so its coefficient is pulled towards 0 (0.54 at this seed and size,
    twelve of its SEs away from β; the time-varying fit gives 0.95, one SE away); the
    time-varying fit's error must be the smaller one. Churn times are continuous (no ties), where
    Breslow's and Efron's likelihoods are the same function; Breslow is the faster in statsmodels.
    """
    rows, baseline = _switching_world(3000, 11)
    table = counting_process(rows, id="id", start="start", stop="stop", event="event", covariates=["x"])
    assert table.n_subjects == 3000 and len(table) > 3500           # many customers do switch
    assert len(np.unique(table.stop[table.event == 1])) == table.event.sum()       # no ties
    model = _fit(table, "breslow")
    beta, se = model.params_["x"], model.summary.loc["x", "se"]
    assert abs(beta - BETA) <= 4 * se, (beta, se)
    naive = CoxPH(ties="breslow").fit(baseline.stop, baseline.event, covariates=baseline[["x"]])
    naive_beta, naive_se = naive.params_["x"], naive.summary.loc["x", "se"]
    assert BETA - naive_beta > 4 * naive_se, (naive_beta, naive_se)
    assert abs(beta - BETA) < abs(naive_beta - BETA)
    # Churns and exposure add up the same way in both layouts.
    assert table.event.sum() == baseline.event.sum()
    np.testing.assert_allclose((table.stop - table.start).sum(), baseline.stop.sum(), rtol=1e-12)


# ---------------------------------------------------------------- splitting invariance


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_splitting_rows_where_nothing_changes_leaves_the_fit_unchanged(ties):
    """Each customer's (entry, T] cut into 1–5 rows with the same covariates: coef, se and loglik to 1e-10.

    Whole-month churn times (ties) and cut points on whole months (other customers' churn
    months) as well as in between, with left truncation: the split rows' risk sets are those of
    the single rows only under the (start, stop] convention.
    """
    rng = np.random.default_rng(7)
    n = 500
    x1, x2 = rng.normal(size=n), (rng.random(n) < 0.4).astype(float)
    entry = np.where(rng.random(n) < 0.3, rng.integers(1, 8, n), 0).astype(float)
    t = entry + np.ceil(rng.exponential(1.0 / (0.06 * np.exp(0.5 * x1 - 0.7 * x2))))
    censor = entry + rng.integers(3, 40, n)
    stop, event = np.minimum(t, censor), (t <= censor).astype(int)
    single = pd.DataFrame({"id": np.arange(n), "start": entry, "stop": stop, "event": event, "x1": x1, "x2": x2})
    pieces = []
    for i in range(n):
        grid = np.arange(entry[i] + 0.5, stop[i], 0.5)              # whole and half months inside
        cuts = np.sort(rng.choice(grid, size=min(len(grid), rng.integers(0, 5)), replace=False))
        bounds = np.concatenate([[entry[i]], cuts, [stop[i]]])
        k = len(bounds) - 1
        pieces.append(pd.DataFrame({"id": i, "start": bounds[:-1], "stop": bounds[1:],
                                    "event": np.r_[np.zeros(k - 1, int), event[i]], "x1": x1[i], "x2": x2[i]}))
    split = pd.concat(pieces).sample(frac=1.0, random_state=3)
    assert len(split) > 2 * n
    args = dict(id="id", start="start", stop="stop", event="event", covariates=["x1", "x2"])
    one, many = _fit(counting_process(single, **args), ties), _fit(counting_process(split, **args), ties)
    np.testing.assert_allclose(many.params_, one.params_, rtol=1e-10)
    np.testing.assert_allclose(many.summary["se"], one.summary["se"], rtol=1e-10)
    assert many.loglik_ == pytest.approx(one.loglik_, rel=1e-10)


# ---------------------------------------------------------------- the table and its checks


GOOD = pd.DataFrame({"id": ["a", "b", "a", "c", "b", "a"], "start": [0.0, 0.0, 2.0, 1.0, 4.0, 5.0],
                     "stop": [2.0, 3.0, 5.0, 6.0, 7.0, 8.0], "event": [0, 0, 0, 1, 1, 0],
                     "x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})


def test_rows_are_sorted_by_subject_and_start_with_gaps_kept():
    table = counting_process(GOOD, id="id", start="start", stop="stop", event="event", covariates=["x"])
    assert list(table.id) == ["a", "a", "a", "b", "b", "c"]
    np.testing.assert_array_equal(table.row, [1, 3, 6, 2, 5, 4])
    np.testing.assert_array_equal(table.start, GOOD.start.to_numpy()[table.row - 1])
    np.testing.assert_array_equal(table.stop, GOOD.stop.to_numpy()[table.row - 1])
    np.testing.assert_array_equal(table.event, [0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(table.covariates["x"], GOOD.x.to_numpy()[table.row - 1])
    assert table.n_subjects == 3 and len(table) == 6
    assert set(table.cox_arguments()) == {"durations", "events", "entry", "covariates"}
    # Several id columns, boolean churn flags and no covariates.
    frame = GOOD.assign(rep=[0, 0, 0, 0, 0, 1], event=GOOD.event.astype(bool), id=["a", "b", "a", "c", "b", "a"])
    table = counting_process(frame, id=["rep", "id"], start="start", stop="stop", event="event")
    assert table.n_subjects == 4 and table.covariates.shape == (6, 0)
    assert list(table.id) == [(0, "a"), (0, "a"), (0, "b"), (0, "b"), (0, "c"), (1, "a")]


def _bad(changes: dict) -> pd.DataFrame:
    """GOOD with cells changed: {(column, 1-based row): value}."""
    frame = GOOD.copy().astype({"start": object, "stop": object, "event": object, "x": object, "id": object})
    for (column, row), value in changes.items():
        frame.loc[row - 1, column] = value
    return frame


@pytest.mark.parametrize("frame, covariates, column, row, problem", [
    (GOOD, ["x", "usage"], "usage", None, "missing"),
    (_bad({("start", 3): "two"}), ["x"], "start", 3, "not a number"),
    (_bad({("stop", 4): np.nan}), ["x"], "stop", 4, "empty value"),
    (_bad({("x", 5): "high"}), ["x"], "x", 5, "not a number"),
    (_bad({("id", 2): None}), ["x"], "id", 2, "empty id"),
    (_bad({("start", 6): -1.0, ("stop", 6): 1.0}), ["x"], "start", 6, "negative start time"),
    (_bad({("stop", 5): 4.0}), ["x"], "stop", 5, r"stop time must be greater than start time \(start 4, stop 4\)"),
    (_bad({("stop", 2): -3.0}), ["x"], "stop", 2, "stop time must be greater"),
    (_bad({("start", 6): 4.5}), ["x"], "start", 6, r"interval \(4.5, 8\] of id 'a' overlaps its interval "
                                                     r"\(2, 5\] on row 3"),
    (_bad({("start", 3): 0.0, ("stop", 3): 2.0}), ["x"], "start", 3, "overlaps its interval \\(0, 2\\] on row 1"),
    (_bad({("event", 3): 1}), ["x"], "event", 3, r"not its last interval \(row 6 starts at 5\)"),
    (_bad({("event", 2): 2}), ["x"], "event", 2, "event must be 0 or 1"),
])
def test_each_bad_table_is_one_input_error_naming_column_and_row(frame, covariates, column, row, problem):
    """The message is ``SOURCE: column 'C', row N: problem`` with 1-based data rows (as data.py)."""
    with pytest.raises(InputError) as caught:
        counting_process(frame, id="id", start="start", stop="stop", event="event", covariates=covariates,
                         source="usage.csv")
    where = f"column '{column}'" + (f", row {row}" if row else "")
    assert str(caught.value).startswith(f"usage.csv: {where}: "), str(caught.value)
    assert re.search(problem, str(caught.value)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_empty_table_is_refused():
    with pytest.raises(InputError, match="no rows"):
        counting_process(GOOD.iloc[:0], id="id", start="start", stop="stop", event="event")


# ---------------------------------------------------------------- from simulated records


def _world(seed: int, replication: int = 0) -> Records:
    """One monthly segment, 2500 initial-book accounts (left-truncated) and new accounts from leads,
    health moving 4 times a year and driving renewal (churn_effect 4), expansions, contractions,
    failed payments and reactivation (events after a first churn that must not be used)."""
    sc = scenario({"annual_churn": 0.4, "term_months": 1, "expansion_rate": 1.0, "contraction_rate": 0.5,
                   "payment_failure_rate": 0.5, "conversion": 1.0},
                  initial_book={"customers": 2500, "max_tenure_months": 24.0}, horizon_months=24,
                  acquisition={"leads_per_month": 20.0},
                  health={"reviews_per_year": 4.0, "churn_effect": 4.0, "initial_sd": 0.1},
                  payments={"dunning_days": 0.0, "recovery_prob": 0.5},
                  reactivation={"prob_voluntary": 0.2, "prob_involuntary": 0.3})
    return simulate_replication(sc, replication, seed)


@pytest.fixture(scope="module")
def records() -> Records:
    return _world(2024)


def test_health_intervals_tile_each_life_at_its_logged_events(records):
    """Rows tile (entry, end] of every account, cut at every logged event day inside it; churn only on the
    last row and equal to the account's flag; covariates are those of the last event at or before the
    row's start (found by a plain loop over the event log)."""
    rows = health_intervals(records, covariates=("health", "mrr"))
    accounts = survival_data_from_accounts(records.accounts).assign(account=records.accounts["account"])
    assert (accounts.entry > 0).sum() > 1000 and (accounts.entry == 0).sum() > 100   # old book and new accounts
    assert rows.account.nunique() == len(accounts)
    table = counting_process(rows, id=["replication", "account"], start="start", stop="stop", event="event",
                             covariates=["health", "mrr"])
    assert len(table) == len(rows) > 2 * len(accounts)
    groups = rows.groupby("account", sort=False)
    first, last = groups.head(1).set_index("account"), groups.tail(1).set_index("account")
    by_account = accounts.set_index("account")
    np.testing.assert_allclose(first.start, by_account.entry.loc[first.index], rtol=0, atol=1e-12)
    np.testing.assert_allclose(last.stop, by_account.duration.loc[last.index], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(last.event, by_account.event.loc[last.index])
    inner = rows.account.to_numpy()[1:] == rows.account.to_numpy()[:-1]
    np.testing.assert_array_equal(rows.start.to_numpy()[1:][inner], rows.stop.to_numpy()[:-1][inner])  # contiguous
    assert rows.event.sum() == accounts.event.sum()

    ev = to_frame(records, "events", decode=False)
    start_day = dict(zip(records.accounts["account"], records.accounts["start"]))
    entry_day = dict(zip(records.accounts["account"], records.accounts["entry"]))
    end_day = dict(zip(records.accounts["account"], records.accounts["end"]))
    logged = {}
    for account, time, health, mrr in zip(ev.account, ev.time, ev.health, ev.mrr_after):
        logged.setdefault(int(account), []).append((float(time), float(health), mrr / 100_000))
    expected_health, expected_mrr, expected_starts = [], [], {}
    for account, start in zip(rows.account, rows.start):
        day = start * MONTH_DAYS + start_day[account]
        # Events of one account are logged in time order; the last at or before the day wins.
        state = [e for e in logged[account] if e[0] <= day + 1e-6][-1]
        expected_health.append(state[1])
        expected_mrr.append(state[2])
    for account, events in logged.items():
        expected_starts[account] = sorted({t for t, _, _ in events if entry_day[account] < t < end_day[account]})
    np.testing.assert_array_equal(rows.health, expected_health)
    np.testing.assert_allclose(rows.mrr, expected_mrr, rtol=1e-15)
    cut_days = rows.start * MONTH_DAYS + rows.account.map(start_day)
    for account, days in cut_days.groupby(rows.account):
        np.testing.assert_allclose(days.to_numpy()[1:], expected_starts[account], rtol=0, atol=1e-9)
    # Decoded tables (currency units) and days give the same rows.
    decoded = {"accounts": to_frame(records, "accounts"), "events": to_frame(records, "events")}
    pd.testing.assert_frame_equal(health_intervals(decoded, covariates=("health", "mrr")), rows)
    days = health_intervals(records, unit="days")
    np.testing.assert_allclose(days.stop, rows.stop * MONTH_DAYS, rtol=1e-12)


def test_of_several_events_on_one_day_the_last_logged_sets_the_covariates(records):
    """A second event logged later on the day that opens a row (cut or entry day) with another health:
    the row takes the later one's health, no row is added, and every other row is unchanged."""
    events = to_frame(records, "events", decode=False)
    rows = health_intervals(records)
    start_day = rows.start * MONTH_DAYS + rows.account.map(dict(zip(records.accounts["account"],
                                                                      records.accounts["start"])))
    opening = rows.groupby("account").cumcount() == 0
    rng = np.random.default_rng(5)
    chosen = np.concatenate([rng.choice(np.flatnonzero(opening), 30, replace=False),
                             rng.choice(np.flatnonzero(~opening), 30, replace=False)])
    extra = []
    for i in chosen:
        mine = events[(events.account == rows.account[i]) & (np.abs(events.time - start_day[i]) < 1e-6)]
        extra.append(mine.iloc[[-1]].assign(health=np.float32(1.0) - mine.health.iloc[-1]))
    extra = pd.concat(extra)
    assert (extra.health.to_numpy() != rows.health.to_numpy()[chosen]).all()
    moved = health_intervals({"accounts": records.accounts, "events": pd.concat([events, extra], ignore_index=True)})
    pd.testing.assert_frame_equal(moved.drop(columns="health"), rows.drop(columns="health"))
    expected = rows.health.to_numpy().copy()
    expected[chosen] = extra.health.to_numpy()
    np.testing.assert_array_equal(moved.health, expected)


def test_health_intervals_of_several_replications_are_those_of_each(records):
    other = _world(2024, replication=1)
    both = health_intervals(Records.concat([records, other]))
    pd.testing.assert_frame_equal(both, pd.concat([health_intervals(records), health_intervals(other)],
                                                  ignore_index=True))
    assert set(both.replication) == {0, 1}


def test_healthier_accounts_churn_less_in_the_fitted_model(records):
    """The health coefficient is negative with z well beyond −3 (measured ≈ −24 at this size)."""
    rows = health_intervals(records)
    table = counting_process(rows, id=["replication", "account"], start="start", stop="stop", event="event",
                             covariates=["health"])
    model = _fit(table)
    assert model.params_["health"] < 0
    assert model.summary.loc["health", "z"] < -3


def test_health_intervals_refuse_inconsistent_tables(records):
    events = to_frame(records, "events", decode=False)
    with pytest.raises(ValueError, match="unknown covariate 'usage'"):
        health_intervals(records, covariates=("health", "usage"))
    first_account = records.accounts["account"][0]
    with pytest.raises(ValueError, match=f"account {first_account} .* no event at or before its entry"):
        health_intervals({"accounts": records.accounts, "events": events[events.account != first_account]})
    stray = pd.concat([events, events.iloc[:1].assign(account=-5)])
    with pytest.raises(ValueError, match="account -5 .* not in the accounts table"):
        health_intervals({"accounts": records.accounts, "events": stray})
