"""Competing churn causes: Aalen–Johansen cumulative incidence, its IJ standard errors, cause-specific Cox,
and churn causes read from the simulator's records.

References: R ``survival`` 3.5.3 values stored in ``tests/forecast/reference/cr_*`` (made by
``cr_reference.R``; R is not needed here), a direct port of R's influence recursion, closed forms
(binomial variance without censoring, the two-cause exponential world) and simulated worlds whose
cause-specific hazards are known from the scenario.
"""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csim.engine.world import simulate_replication
from csim.forecast import CoxPH, KaplanMeier
from csim.forecast.accounts import CHURN_CAUSES, churn_causes, survival_data_from_accounts
from csim.errors import InputError
from csim.forecast.competing import (MAX_CAUSES, MIN_CHURNS_PER_COVARIATE, CumulativeIncidence, cause_codes,
                                     cause_specific_cox, competing_risks_analysis, cumulative_incidence)
from csim.records import EVENT_KINDS, MONTH_DAYS
from csim.tables import to_frame
from tests.engine.scenarios import scenario

REFERENCE = Path(__file__).parent / "reference"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, comment="#")


# ---------------------------------------------------------------- against R survival


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
@pytest.mark.parametrize("form", ["counting", "right"])
def test_matches_r_survfit_multistate(form, conf_type):
    """pstate, std.err and intervals of survfit(Surv(entry, exit, factor(cause)) ~ 1, id = id) at every R time.

    The data have whole-month exits (many ties), three causes and 40 % left-truncated rows whose
    entries coincide with event times; "right" is the same data without entry. Tolerances: 1e-12
    on probabilities, 1e-10 relative on standard errors and interval ends (R agrees to 1e-15).
    """
    data = _read("cr_data.csv")
    ref = _read("cr_aj.csv")
    ref = ref[(ref.form == form) & (ref.conf_type == conf_type)]
    fit = cumulative_incidence(data.exit, data.cause, entry=data.entry if form == "counting" else None,
                               conf_type=conf_type)
    assert fit.causes == (1, 2, 3)
    for cause in fit.causes:
        r = ref[ref.state == str(cause)]
        ours = fit.at(r.time.to_numpy())
        ours = ours[ours.cause == cause]
        np.testing.assert_allclose(ours.cif, r.pstate, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ours.se, r.std_err, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(ours.lower, r.lower, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(ours.upper, r.upper, rtol=1e-10, atol=1e-14)
    # No churn yet (state "(s0)"): Kaplan–Meier with the IJ standard error, and R's risk sets.
    r = ref[ref.state == "(s0)"].set_index("time")
    surv = fit.survival.set_index("t")
    np.testing.assert_allclose(surv.survival, r.pstate.loc[surv.index], rtol=0, atol=1e-12)
    np.testing.assert_allclose(surv.se, r.std_err.loc[surv.index], rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(surv.at_risk, r.n_risk.loc[surv.index])


@pytest.mark.parametrize("cause", [1, 2])
def test_cause_specific_cox_matches_r(cause):
    """coxph(Surv(entry, exit, cause == k) ~ x1 + x2), Efron ties: coefficients to 1e-7, se and loglik to 1e-8 relative.

    Entries are 0 or half-integers and exits whole numbers: no entry equals an event time, so the
    comparison does not depend on how PHReg breaks such ties.
    """
    data = _read("cr_cox_data.csv")
    ref = _read("cr_cox.csv")
    ref = ref[ref.cause == cause].set_index("covariate")
    model = cause_specific_cox(data.exit, data.cause, data[["x1", "x2"]], cause, entry=data.entry)
    np.testing.assert_allclose(model.params_.loc[ref.index], ref.coef, rtol=0, atol=1e-7)
    np.testing.assert_allclose(model.summary["se"].loc[ref.index], ref.se, rtol=1e-8)
    assert model.loglik_ == pytest.approx(ref.loglik.iloc[0], rel=1e-10)
    assert model.n_events_ == ref.events.iloc[0]
    assert model.cause_ == cause and model.competing_events_ == int(((data.cause > 0) & (data.cause != cause)).sum())


# ---------------------------------------------------------------- independent implementations, closed forms


def _r_recursion(x, code, entry):
    """Direct port of R survival's survfitci influence recursion (unit weights, one row per customer).

    O(customers × times): the n × states influence matrix U is updated at every event time,
    U ← U·H, then for everyone at risk U_j −= H[0]·p0/n and U_j[new state] += p0/n.
    Returns the unique exit times, the state probabilities and their standard errors there.
    """
    K = int(code.max())
    if entry is None:
        entry = np.full(len(x), min(0.0, x.min()) - 1.0)
    U = np.zeros((len(x), K + 1))
    p = np.eye(K + 1)[0]
    in_start = np.ones(len(x), bool)
    times = np.unique(x)
    probs, ses = [], []
    for s in times:
        risk = (entry < s) & (x >= s) & in_start
        moved = risk & (x == s) & (code > 0)
        if moved.any():
            n = risk.sum()
            H = np.eye(K + 1)
            H[0, 1:] = np.bincount(code[moved], minlength=K + 1)[1:] / n
            H[0, 0] = 1.0 - H[0, 1:].sum()
            U = U @ H
            U[risk] -= H[0] * p[0] / n
            U[np.flatnonzero(risk), np.where(moved, code, 0)[risk]] += p[0] / n
            p = p @ H
            in_start &= ~moved
        probs.append(p.copy())
        ses.append(np.sqrt((U ** 2).sum(axis=0)))
    return times, np.array(probs), np.array(ses)


def test_matches_direct_influence_recursion_with_thin_tail_and_truncation():
    """The closed-form O(n log n) variance equals R's O(n × times) recursion, also where risk sets thin out.

    Weibull causes with long tails, half the rows left-truncated at continuous entries, and a
    second small data set in which every customer at risk churns at once (survival 0) before
    late entrants arrive. Tolerance 1e-9 relative on standard errors, 1e-12 on probabilities.
    """
    rng = np.random.default_rng(3)
    n = 1500
    t1, t2, censor = 10 * rng.weibull(0.6, n), 30 * rng.weibull(0.8, n), rng.uniform(0, 400, n)
    entry = np.where(rng.uniform(size=n) < 0.5, rng.uniform(0, 50, n), 0.0)
    first = np.minimum(t1, t2)
    x = entry + np.minimum(first, censor)
    code = np.where(censor < first, 0, np.where(t1 < t2, 1, 2))
    wiped = (np.array([1, 2, 3, 5, 5, 5, 8, 9, 12, 4.0]), np.array([1, 0, 2, 1, 2, 1, 1, 2, 0, 0]),
             np.array([0, 0, 0, 0, 0, 1, 6, 6, 7, 0.5]))
    for x_, code_, entry_ in ((x, code, entry), (x, code, None), wiped):
        times, probs, ses = _r_recursion(x_, code_, entry_)
        fit = cumulative_incidence(x_, code_, entry=entry_)
        for cause in (1, 2):
            ours = fit.at(times)
            ours = ours[ours.cause == cause]
            np.testing.assert_allclose(ours.cif, probs[:, cause], rtol=0, atol=1e-12)
            np.testing.assert_allclose(ours.se, ses[:, cause], rtol=1e-9, atol=1e-15)
    assert any("survival is 0" in note for note in fit.notes)          # the wiped-out data say so


def test_without_censoring_is_the_empirical_share_with_binomial_variance():
    """No censoring, no truncation: CIF_k(t) is the share churned for k by t and its IJ variance CIF(1 − CIF)/n exactly."""
    rng = np.random.default_rng(5)
    n = 500
    x = rng.integers(1, 25, n).astype(float)
    code = rng.integers(1, 4, n)
    fit = cumulative_incidence(x, code)
    for cause in (1, 2, 3):
        table = fit[cause]
        share = np.array([np.mean((x <= t) & (code == cause)) for t in table.t])
        np.testing.assert_allclose(table.cif, share, rtol=0, atol=1e-13)
        np.testing.assert_allclose(table.se, np.sqrt(share * (1 - share) / n), rtol=1e-10)
    last = fit[1].t.iloc[-1]
    assert sum(fit.cif(x.max(), c)[0] for c in (1, 2, 3)) == pytest.approx(1.0, abs=1e-13)
    assert fit.cif(last, 1)[0] == pytest.approx(np.mean(code == 1), abs=1e-13)


def test_two_cause_exponential_world_known_answer():
    """CIF_k(t) = λk/(λ1+λ2)·(1 − exp(−(λ1+λ2)t)) within 4 standard errors at t = 3 … 48 months.

    Truncation is memoryless here, so entries do not change the answer. The naive 1 − KM of one
    cause (others censored) instead estimates 1 − exp(−λk t), the share lost to k were it the only
    cause: it is checked against that (4 Greenwood SEs) and found above the CIF by more than 4 SEs.
    """
    rng = np.random.default_rng(11)
    n = 20000
    lam = np.array([0.03, 0.015])
    t1, t2, censor = rng.exponential(1 / lam[0], n), rng.exponential(1 / lam[1], n), rng.uniform(0, 80, n)
    entry = np.where(rng.uniform(size=n) < 0.3, rng.uniform(0, 12, n), 0.0)
    first = np.minimum(t1, t2)
    x = entry + np.minimum(first, censor)
    code = np.where(censor < first, 0, np.where(t1 < t2, 1, 2))
    fit = cumulative_incidence(x, code, entry=entry)
    times = np.array([3.0, 6.0, 12.0, 24.0, 48.0])
    at = fit.at(times)
    for k in (1, 2):
        rows = at[at.cause == k]
        truth = lam[k - 1] / lam.sum() * (1 - np.exp(-lam.sum() * times))
        assert np.all(np.abs(rows.cif.to_numpy() - truth) <= 4 * rows.se.to_numpy()), (k, rows.cif.to_numpy(), truth)
        assert np.all((rows.lower.to_numpy() < rows.cif.to_numpy()) & (rows.cif.to_numpy() < rows.upper.to_numpy()))
        naive = KaplanMeier().fit(x, code == k, entry=entry)
        one_minus_km = 1 - naive.survival(times)
        km_se = naive.table_.se.to_numpy()[np.searchsorted(naive.table_.t, times, side="right") - 1]
        assert np.all(np.abs(one_minus_km - (1 - np.exp(-lam[k - 1] * times))) <= 4 * km_se)
        assert one_minus_km[-1] - rows.cif.iloc[-1] > 4 * rows.se.iloc[-1]


def test_ij_standard_error_matches_monte_carlo_spread():
    """Across 300 independent samples (n = 1000, ties, censoring, truncation) the SD of CIF(t) equals the mean IJ SE.

    The tolerance is 4 standard errors of a sample SD, 4/sqrt(2·299) = 16 % relative.
    """
    rng = np.random.default_rng(99)
    reps, n, times = 300, 1000, np.array([6.0, 18.0, 36.0])
    est = np.empty((reps, 2, len(times)))
    se = np.empty_like(est)
    for r in range(reps):
        t1, t2, censor = rng.exponential(1 / 0.04, n), rng.weibull(1.5, n) * 40, rng.uniform(10, 60, n)
        entry = np.where(rng.uniform(size=n) < 0.3, np.floor(rng.uniform(0, 10, n)), 0.0)
        first = np.minimum(t1, t2)
        x = entry + np.ceil(np.minimum(first, censor))
        code = np.where(censor < first, 0, np.where(t1 < t2, 1, 2))
        at = cumulative_incidence(x, code, entry=entry).at(times)
        for k in (1, 2):
            rows = at[at.cause == k]
            est[r, k - 1], se[r, k - 1] = rows.cif, rows.se
    ratio = est.std(axis=0, ddof=1) / se.mean(axis=0)
    tolerance = 4 / np.sqrt(2 * (reps - 1))
    assert np.all(np.abs(ratio - 1) < tolerance), ratio


def test_cause_specific_cox_recovers_log_hazard_ratio():
    """x multiplies cause 1's hazard by 1.8 and leaves cause 2's alone: both log-HRs recovered within 4 SEs.

    Exponential causes (0.03 and 0.03 per month at x = 0), independent censoring, 30 % left-truncated.
    Counting the other cause as churn too (all-cause Cox) blurs the effect towards 0: its log-HR,
    log((1.8 + 1)/2) = 0.34 in theory, is more than 4 SEs below log 1.8 = 0.59.
    """
    rng = np.random.default_rng(2024)
    n = 6000
    x = rng.integers(0, 2, n).astype(float)
    log_hr = np.log(1.8)
    t1 = rng.exponential(1.0 / (0.03 * np.exp(log_hr * x)))
    t2 = rng.exponential(1.0 / 0.03, n)
    censor = rng.uniform(0, 60, n)
    entry = np.where(rng.uniform(size=n) < 0.3, rng.uniform(0, 12, n), 0.0)
    first = np.minimum(t1, t2)
    duration = entry + np.minimum(first, censor)
    cause = np.where(censor < first, 0, np.where(t1 < t2, 1, 2))
    X = pd.DataFrame({"x": x})
    for k, truth in ((1, log_hr), (2, 0.0)):
        row = cause_specific_cox(duration, cause, X, k, entry=entry).summary.loc["x"]
        assert abs(row["coef"] - truth) <= 4 * row["se"], (k, row["coef"], row["se"])
    pooled = CoxPH().fit(duration, cause > 0, covariates=X, entry=entry).summary.loc["x"]
    assert log_hr - pooled["coef"] > 4 * pooled["se"]


# ---------------------------------------------------------------- input handling


def test_inputs_and_reporting_choices():
    x = np.array([1.0, 2, 2, 3, 4, 5, 6])
    code = np.array([1, 2, 0, 1, 3, 2, 0])
    full = cumulative_incidence(x, code)
    only_two = cumulative_incidence(x, code, causes_order=[2, 4], labels={2: "involuntary"})
    assert only_two.causes == (2, 4) and only_two.labels[2] == "involuntary"
    pd.testing.assert_frame_equal(only_two[2], full[2])                  # causes left out still compete
    assert only_two[4].empty and any("cause 4: no churns" in note for note in only_two.notes)
    assert np.all(np.isnan(only_two.at([3.0]).query("cause == 4")[["lower", "upper"]].to_numpy()))
    with pytest.raises(ValueError, match="entry after exit"):
        cumulative_incidence(x, code, entry=x + 1)
    with pytest.raises(ValueError, match="churns at the entry tenure"):
        cumulative_incidence(x, code, entry=np.where(code > 0, x, 0.0))
    with pytest.raises(ValueError, match="integer codes"):
        cumulative_incidence(x, code + 0.5)
    with pytest.raises(ValueError, match="no churns of cause 5"):
        cause_specific_cox(x, code, pd.DataFrame({"z": x}), 5)
    # A censored row that ends at its entry is never at risk: ignored, with a note.
    e = np.zeros(len(x))
    e[2] = x[2]
    assert any("never at risk" in note for note in cumulative_incidence(x, code, entry=e).notes)
    # Everyone churns for one cause: the incidence reaches 1 with no sampling variation; no zero-width interval.
    flat = cumulative_incidence([1.0, 2.0, 3.0], [1, 1, 1])
    assert flat[1].cif.iloc[-1] == 1.0 and np.isnan(flat[1].lower.iloc[-1]) and flat.notes
    # Nobody churned: empty tables, survival 1, said in a note.
    none = cumulative_incidence([1.0, 2.0, 3.0], [0, 0, 0], causes_order=[1])
    assert none[1].empty and none.survival.empty and none.cif([5.0], 1)[0] == 0.0 and none.notes
    # The JSON summary is plain (NaN where an interval does not exist, for the caller's strict writer).
    summary = json.loads(json.dumps(full.to_dict(times=[0.5, 3.0])))
    assert summary["causes"]["1"]["events"] == 2 and len(summary["at"]) == 2 * len(full.causes)


# ---------------------------------------------------------------- the simulator as a test bed

RATE, RECOVERY = 0.6, 0.3            # failed payments per account-year, share dunning recovers
MU = RATE * (1 - RECOVERY) * MONTH_DAYS / 365.25   # involuntary churn hazard per month (no dunning delay)


def _world(annual_churn: float, seed: int):
    """One segment on monthly terms, 6000 initial-book accounts with tenures up to 24 months (left-truncated).

    Dunning is immediate (0 days), so an unrecovered payment failure is churn at once and the
    involuntary cause-specific hazard is exactly payment_failure_rate × (1 − recovery_prob) at
    every tenure. Reactivation is on, so some accounts churn twice.
    """
    sc = scenario({"annual_churn": annual_churn, "payment_failure_rate": RATE, "term_months": 1},
                  initial_book={"customers": 6000, "max_tenure_months": 24.0}, horizon_months=36,
                  payments={"dunning_days": 0.0, "recovery_prob": RECOVERY},
                  reactivation={"prob_voluntary": 0.2, "prob_involuntary": 0.3})
    return simulate_replication(sc, 0, seed)


@pytest.fixture(scope="module")
def two_cause_records():
    return _world(0.4, 2024)


def test_churn_causes_are_the_first_churn_event(two_cause_records):
    """Each account's cause is the kind of its earliest churn event (checked by a plain loop), from codes or names."""
    rec = two_cause_records
    causes = churn_causes(rec)
    ev = rec.events
    churn_kinds = {EVENT_KINDS.index("churn"): 1, EVENT_KINDS.index("churn_involuntary"): 2}
    first: dict[int, tuple[float, int]] = {}
    for i in range(len(ev["time"])):
        kind = int(ev["kind"][i])
        if kind in churn_kinds:
            acct, t = int(ev["account"][i]), float(ev["time"][i])
            if acct not in first or t < first[acct][0]:
                first[acct] = (t, churn_kinds[kind])
    expected = np.array([first.get(int(a), (np.nan, 0))[1] for a in rec.accounts["account"]])
    np.testing.assert_array_equal(causes, expected)
    np.testing.assert_array_equal(causes > 0, rec.accounts["churned"])
    assert set(np.unique(causes)) == set(CHURN_CAUSES)
    # Accounts that came back and churned again for the other cause keep their first cause.
    n_churn_events = {a: 0 for a in first}
    for i in np.flatnonzero(np.isin(ev["kind"], list(churn_kinds))):
        n_churn_events[int(ev["account"][i])] += 1
    assert sum(v > 1 for v in n_churn_events.values()) > 0
    # Decoded tables (kind names, currency) read back from files give the same causes.
    decoded = {"accounts": to_frame(rec, "accounts"), "events": to_frame(rec, "events")}
    np.testing.assert_array_equal(churn_causes(decoded), causes)
    table = survival_data_from_accounts(rec.accounts, events=rec.events)
    np.testing.assert_array_equal(table["cause"], causes)


def test_churn_causes_refuse_tables_that_disagree(two_cause_records):
    rec = two_cause_records
    events = to_frame(rec, "events", decode=False)
    churned = np.flatnonzero(rec.accounts["churned"])[0]
    acct = rec.accounts["account"][churned]
    is_churn = events.kind.isin([EVENT_KINDS.index("churn"), EVENT_KINDS.index("churn_involuntary")])
    with pytest.raises(ValueError, match="no churn event"):
        churn_causes({"accounts": rec.accounts, "events": events[~(is_churn & (events.account == acct))]})
    shifted = dict(rec.accounts, end=rec.accounts["end"] + np.where(np.arange(len(rec.accounts["end"])) == churned, 1.0, 0.0))
    with pytest.raises(ValueError, match="another day"):
        churn_causes({"accounts": shifted, "events": events})


def test_simulated_causes_add_up_to_one_minus_kaplan_meier(two_cause_records):
    """Σ_k CIF_k(t) = 1 − KM(t) of any churn at every churn tenure (an exact identity; 1e-12)."""
    table = survival_data_from_accounts(two_cause_records.accounts, events=two_cause_records.events)
    assert (table.entry > 0).mean() > 0.9                                     # truly left-truncated
    fit = cumulative_incidence(table.duration, table.cause, entry=table.entry, labels=CHURN_CAUSES)
    km = KaplanMeier().fit(table.duration, table.event, entry=table.entry)
    t = np.concatenate([fit.survival.t.to_numpy(), [0.5, 7.25, 40.0]])
    np.testing.assert_allclose(fit.cif(t, 1) + fit.cif(t, 2), 1 - km.survival(t), rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit.survival.survival, km.survival(fit.survival.t), rtol=0, atol=1e-12)


def test_simulated_involuntary_incidence_matches_the_payment_parameters(two_cause_records):
    """The involuntary hazard is payment_failure_rate × (1 − recovery_prob); what the CIF should then be.

    * With involuntary churn the only cause (annual_churn = 0): CIF(t) = 1 − exp(−μt), within 4 SEs.
    * With voluntary churn competing: CIF(t) = ∫ S(u−) μ du with S the any-churn KM, within 4 SEs of
      the CIF (conservative: the plug-in shares S's noise), and clearly below 1 − exp(−μt).
    """
    times = np.array([3.0, 6.0, 12.0, 24.0, 36.0])
    only_involuntary = _world(0.0, 7)
    alone = survival_data_from_accounts(only_involuntary.accounts, events=only_involuntary.events)
    assert set(np.unique(alone.cause)) == {0, 2}
    fit = cumulative_incidence(alone.duration, alone.cause, entry=alone.entry, causes_order=[2])
    rows = fit.at(times)
    assert np.all(np.abs(rows.cif - (1 - np.exp(-MU * times))) <= 4 * rows.se), rows

    table = survival_data_from_accounts(two_cause_records.accounts, events=two_cause_records.events)
    fit = cumulative_incidence(table.duration, table.cause, entry=table.entry)
    rows = fit.at(times).query("cause == 2")
    km = KaplanMeier().fit(table.duration, table.event, entry=table.entry)
    grid = np.linspace(0.0, times.max(), 200001)
    step = np.diff(grid)
    plug_in = np.concatenate([[0.0], np.cumsum(km.survival(grid[:-1]) * MU * step)])
    expected = np.interp(times, grid, plug_in)
    assert np.all(np.abs(rows.cif.to_numpy() - expected) <= 4 * rows.se.to_numpy()), (rows.cif.to_numpy(), expected)
    single = 1 - np.exp(-MU * times)
    assert np.all(single[3:] - rows.cif.to_numpy()[3:] > 4 * rows.se.to_numpy()[3:])     # 24 and 36 months


# ---------------------------------------------------------------- customer tables with a cause column


def _public_json(result: dict) -> dict:
    """The result as forecast.json would hold it: private keys dropped, strict JSON (no NaN)."""
    return json.loads(json.dumps({k: v for k, v in result.items() if not k.startswith("_")}, allow_nan=False))


def test_cause_codes_number_causes_by_churns_then_label_and_ignore_causes_of_active_rows():
    """Largest cause first; equal counts by label; labels on non-churned rows neither count nor get a code."""
    events = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    labels = ["price", "payment", " price", "payment", "support", "price", "payment", "support", "support", "support",
              None]
    notes = []
    codes, names = cause_codes(events, labels, notes=notes)
    # payment and price have 3 churns each (the stripped " price" is price): alphabetical. The
    # three "support" labels on active rows would make support the largest cause if counted.
    assert names == {1: "payment", 2: "price", 3: "support"}
    np.testing.assert_array_equal(codes, [2, 1, 2, 1, 3, 2, 1, 0, 0, 0, 0])
    assert len(notes) == 1 and notes[0].startswith("3 rows that did not churn")
    # The order depends on counts and labels only, not on the row order.
    perm = np.random.default_rng(0).permutation(len(events))
    codes_perm, names_perm = cause_codes(np.asarray(events)[perm], np.asarray(labels, dtype=object)[perm])
    assert names_perm == names
    np.testing.assert_array_equal(codes_perm, codes[perm])


def test_cause_codes_from_a_numeric_csv_column():
    """A number column with blanks reads as floats: 2.0 is cause "2"; equal counts sort numerically (9 before 10)."""
    text = "duration,event,cause\n3,1,10\n4,1,9\n5,0,\n6,1,2\n7,1,2\n8,1,2\n9,1,10\n2,1,9\n"
    frame = pd.read_csv(io.StringIO(text))
    assert frame.cause.dtype == float
    notes = []
    codes, names = cause_codes(frame.event, frame.cause, notes=notes)
    assert names == {1: "2", 2: "9", 3: "10"}
    np.testing.assert_array_equal(codes, [3, 2, 0, 1, 1, 1, 3, 2])
    assert notes == []                                       # the blank on the active row is no cause


def test_cause_codes_refuse_a_churned_row_without_cause():
    """The message names the file, the column and the 1-based data row (row 1 = first line under the header)."""
    with pytest.raises(InputError, match=r"^customers\.csv: column 'reason', row 3: churned but no cause") as info:
        cause_codes([0, 1, 1, 1], ["", "price", "  ", "price"], source="customers.csv", column="reason")
    assert info.value.where == "column 'reason', row 3"
    with pytest.raises(InputError, match="column 'cause', row 2: churned but no cause"):
        cause_codes([1, 1], [2.0, np.nan])
    with pytest.raises(InputError, match="column 'cause', row 1: churned but the cause is 0"):
        cause_codes([1, 1], [0, 2])


def test_cause_codes_refuse_more_than_the_most_causes():
    """MAX_CAUSES distinct causes are accepted; one more is an error at the row where it first appears."""
    labels = [f"reason {i}" for i in range(MAX_CAUSES)]
    codes, names = cause_codes(np.ones(MAX_CAUSES), labels)
    assert len(names) == MAX_CAUSES and sorted(codes) == list(range(1, MAX_CAUSES + 1))
    events = np.r_[np.ones(MAX_CAUSES), 0, 1]                 # an extra label on an active row is no cause
    with pytest.raises(InputError, match=rf"row {MAX_CAUSES + 2}: cause 'extra' is distinct cause number "
                                         rf"{MAX_CAUSES + 1}"):
        cause_codes(events, labels + ["ignored", "extra"])


def _two_cause_world(seed: int, n: int, lam1: float, lam2: float, censor_max: float, x=None, log_hr: float = 0.0):
    """Exponential causes (cause 1's rate multiplied by exp(log_hr·x)), uniform censoring, 30 % left-truncated.

    Truncation is memoryless here, so entries do not change the incidence. Returns (duration,
    entry, cause label: "voluntary" for cause 1, "involuntary" for cause 2, "" if censored).
    """
    rng = np.random.default_rng(seed)
    x = np.zeros(n) if x is None else x
    t1, t2 = rng.exponential(1.0 / (lam1 * np.exp(log_hr * x))), rng.exponential(1.0 / lam2, n)
    censor = rng.uniform(0, censor_max, n)
    entry = np.where(rng.uniform(size=n) < 0.3, rng.uniform(0, 12, n), 0.0)
    first = np.minimum(t1, t2)
    label = np.where(censor < first, "", np.where(t1 < t2, "voluntary", "involuntary"))
    return entry + np.minimum(first, censor), entry, label


def test_competing_risks_analysis_two_cause_exponential_world():
    """CIF_k(t) = λk/(λ1+λ2)·(1 − e^{−(λ1+λ2)t}) and S(t) = e^{−(λ1+λ2)t} within 4 reported SEs at 3 … 24 months.

    n = 20,000 makes the check decisive: the wrong answer 1 − e^{−λ1·t} (1 − KM of voluntary churn
    alone) is 0.024 above the truth at 12 months and 0.073 at 24, i.e. about 7 and 18 SEs, and is
    found outside the same 4-SE tolerance there. Tenure 60 is after the last follow-up (≤ 52):
    null, with a note. Σ CIF = 1 − S holds exactly (1e-12).
    """
    lam1, lam2, n = 0.03, 0.015, 20000
    duration, entry, label = _two_cause_world(11, n, lam1, lam2, censor_max=40.0)
    codes, names = cause_codes(label != "", label)
    assert names == {1: "voluntary", 2: "involuntary"}          # voluntary is the larger cause
    result = competing_risks_analysis(duration, codes, names, entry=entry, at=(3, 6, 12, 24, 60))
    assert result["causes"] == [{"code": k, "label": names[k], "churned": int(np.sum(codes == k))} for k in (1, 2)]
    horizons = np.array([3.0, 6.0, 12.0, 24.0])
    rows = pd.DataFrame(result["cumulative_incidence"])
    for k, lam in ((1, lam1), (2, lam2)):
        mine = rows[(rows.cause == k) & rows.t.isin(horizons)]
        truth = lam / (lam1 + lam2) * (1 - np.exp(-(lam1 + lam2) * horizons))
        assert np.all(np.abs(mine.cif.to_numpy() - truth) <= 4 * mine.se.to_numpy()), (k, mine.cif.to_numpy(), truth)
        assert np.all((mine.lower < mine.cif) & (mine.cif < mine.upper))
        at_risk = [int(np.sum((entry < t) & (duration >= t))) for t in horizons]
        assert mine.at_risk.tolist() == at_risk
    voluntary = rows[(rows.cause == 1) & rows.t.isin([12.0, 24.0])]
    wrong = 1 - np.exp(-lam1 * voluntary.t.to_numpy())
    assert np.all(np.abs(wrong - voluntary.cif.to_numpy()) > 4 * voluntary.se.to_numpy())
    overall = pd.DataFrame(result["all_causes"]).set_index("t")
    within = overall.loc[horizons]
    assert np.all(np.abs(within.survival - np.exp(-(lam1 + lam2) * horizons)) <= 4 * within.se)
    np.testing.assert_allclose(within.churned, 1 - within.survival, rtol=0, atol=1e-15)
    # The causes add up to all-cause churn.
    assert result["sum_check"]["max_abs_difference"] < 1e-12
    by_t = rows[rows.t.isin(horizons)].groupby("t").cif.sum()
    np.testing.assert_allclose(by_t.to_numpy(), within.churned.to_numpy(), rtol=0, atol=1e-12)
    # After the last follow-up: null, not extrapolated, and said so.
    assert duration.max() < 60
    assert all(v is None for r in result["cumulative_incidence"] if r["t"] == 60 for k, v in r.items()
               if k not in ("cause", "label", "t"))
    assert all(v is None for r in result["all_causes"] if r["t"] == 60 for k, v in r.items() if k != "t")
    assert any("60" in note and "last follow-up" in note for note in result["notes"])
    # The headline reads the largest horizon within the data.
    at24 = rows[rows.t == 24.0].set_index("cause")
    share = at24.cif[1] / at24.cif.sum()
    assert result["headline"].startswith(f"By month 24, {100 * at24.cif[1]:.1f} % of customers (95 % interval "
                                         f"{100 * at24.lower[1]:.1f} to {100 * at24.upper[1]:.1f} %) had churned "
                                         "as 'voluntary'")
    assert f"{100 * at24.cif[2]:.1f} %" in result["headline"]
    assert f"'voluntary' is {100 * share:.0f} % of all churn" in result["headline"]
    assert isinstance(result["_cif"], CumulativeIncidence)
    assert _public_json(result)["cumulative_incidence"] == result["cumulative_incidence"]


def test_competing_risks_analysis_cause_specific_cox():
    """x multiplies cause 1's hazard by 1.8 and leaves cause 2's alone: log-HRs within 4 SEs (SE from the interval).

    n = 6000 gives an SE of about 0.04 on cause 1's log-HR of 0.59, which is also checked to be
    more than 4 SEs from 0 (the test tells an effect from none). A third cause with fewer than
    MIN_CHURNS_PER_COVARIATE churns is not fitted: a note, no crash.
    """
    rng = np.random.default_rng(2024)
    n = 6000
    x = rng.integers(0, 2, n).astype(float)
    log_hr = np.log(1.8)
    duration, entry, label = _two_cause_world(7, n, 0.03, 0.03, censor_max=60.0, x=x, log_hr=log_hr)
    codes, names = cause_codes(label != "", label)
    rare = np.flatnonzero(codes == 2)[: MIN_CHURNS_PER_COVARIATE - 1]
    codes[rare] = 3
    names[3] = "fraud"
    result = competing_risks_analysis(duration, codes, names, entry=entry, covariates=pd.DataFrame({"x": x}))
    z = 1.959963984540054
    fitted = {m["label"]: m for m in result["cause_specific_cox"]["by_cause"]}
    for name, truth in (("voluntary", log_hr), ("involuntary", 0.0)):
        row, = fitted[name]["hazard_ratios"]
        coef = np.log(row["hazard_ratio"])
        se = (np.log(row["upper"]) - np.log(row["lower"])) / (2 * z)
        assert row["covariate"] == "x" and abs(coef - truth) <= 4 * se, (name, coef, se)
        assert row["p"] == pytest.approx(10 ** row["log10_p"], rel=1e-9)
        if truth:
            assert coef > 4 * se
    assert fitted["fraud"]["hazard_ratios"] is None and fitted["fraud"]["churned"] == MIN_CHURNS_PER_COVARIATE - 1
    assert any("'fraud': not fitted" in note for note in result["notes"])
    assert set(result["_cause_models"]) == {1, 2}
    _public_json(result)


def test_competing_risks_analysis_degenerate_inputs_say_so():
    """A singular design, no sampling variation and no churn are notes and nulls, never a crash or a 0-width interval."""
    duration = np.arange(1.0, 81.0)
    codes = np.tile([1, 2, 0, 1], 20)                        # 40 and 20 churns: enough for 2 covariates
    result = competing_risks_analysis(duration, codes, {1: "a", 2: "b"}, at=(0.5, 12),
                                      covariates=pd.DataFrame({"z": np.sin(duration), "constant": 1.0}))
    assert all(m["hazard_ratios"] is None and "constant" in m["skipped"]
               for m in result["cause_specific_cox"]["by_cause"])
    assert sum("constant" in note for note in result["notes"]) == 2
    before = [r for r in result["cumulative_incidence"] if r["t"] == 0.5]
    assert all(r["cif"] == 0.0 and r["lower"] is None and r["upper"] is None for r in before)
    _public_json(result)
    # Everyone churns for one cause: the incidence reaches 1 with no sampling variation.
    flat = competing_risks_analysis([1.0, 2.0, 3.0], [1, 1, 1], {1: "a"}, at=(3,))
    row, = flat["cumulative_incidence"]
    assert row["cif"] == 1.0 and row["lower"] is None and row["upper"] is None
    assert "no interval" in flat["headline"] and _public_json(flat)
    # Nobody churned.
    none = competing_risks_analysis([1.0, 2.0, 3.0], [0, 0, 0], {}, at=(2,))
    assert none["causes"] == [] and none["headline"].startswith("No customer churned")
    assert none["all_causes"][0]["survival"] == 1.0 and none["all_causes"][0]["lower"] is None


def test_plot_cumulative_incidence_draws_causes_and_all_cause_churn():
    """One line per cause plus the all-cause line, y from 0, every band within [0, 1]."""
    from matplotlib.figure import Figure

    from csim.forecast.plots import plot_cumulative_incidence

    duration, entry, label = _two_cause_world(5, 300, 0.05, 0.02, censor_max=40.0)
    codes, names = cause_codes(label != "", label)
    fit = cumulative_incidence(duration, codes, entry=entry, labels=names, conf_type="plain")
    ax = plot_cumulative_incidence(fit, ax=Figure().add_subplot())
    lines = ax.get_lines()
    assert len(lines) == len(fit.causes) + 1
    assert ax.get_ylim()[0] == 0.0 and ax.get_xlim()[0] == 0.0
    np.testing.assert_allclose(lines[-1].get_ydata()[1:], 1 - fit.survival.survival, rtol=0, atol=1e-15)
    assert len(ax.collections) == len(fit.causes)
    for band in ax.collections:
        y = np.concatenate([path.vertices[:, 1] for path in band.get_paths()])
        assert len(y) and np.all((y >= 0) & (y <= 1))
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend[0].startswith("voluntary") and any(t.startswith("all causes") for t in legend)
