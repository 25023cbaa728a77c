"""Calibrating a scenario to a company's history, step by step (the library form of ``csim calibrate``).

1. Per segment of the input, direct estimates with their sources (:mod:`csim.calibrate.fit`): term,
   churn, MRR and, from a ledger, price uplift, expansion, contraction, new customers, reactivation
   and the book at the as-of date. Everything else is taken from the base segment of the same
   name (or the closest by term and median MRR), and from the base scenario, as an assumption.
2. With ``check_reps`` > 0, the simulation-based adjustment (:mod:`csim.calibrate.adjust`) for what
   the engine adds to the direct estimates (health, the base strategy's CS touches, failed
   payments, the sales pipeline).
3. The scenario as a complete mapping with a source per key (:func:`calibrate` returns it;
   :mod:`csim.calibrate.scenario_file` writes it), starting at the as-of date.
4. With ``check_reps`` > 0, the self-check (:mod:`csim.calibrate.check`), and from a ledger read
   with a holdout date the holdout check: the calibrated scenario run on from that date against
   what the ledger shows after it.

A history larger than :data:`SIMULATED_ACCOUNT_YEARS` allows is simulated at 1/k of the company's
size (:func:`simulation_divisor`); counts and money are multiplied back by k.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from csim.calibrate.adjust import HistoryParams, Targets, adjust, ledger_targets, tenure_targets
from csim.calibrate.fit import (MIN_PERIOD_CHURNS, MIN_TREND_CUSTOMERS, MIN_TREND_MONTHS, MODEL_LABELS, ChurnFit,
                                Estimate, Tenures, by_term_estimate, company_shape, churn_estimate,
                                contraction_estimates, detect_term, expansion_estimates, fit_mrr, fit_reactivation,
                                from_base, new_customer_trend, price_uplift, reactivation_data, to_periods)
from csim.calibrate.inputs import Observed
from csim.calibrate.measure import ledger_view, measure
from csim.errors import InputError
from csim.records import MONTH_DAYS, Records
from csim.scenario.model import Scenario, per_term_churn

#: Why a segment key the calibration does not fit is an assumption ("{what}" names the input).
SEGMENT_REASONS = {
    "conversion": "leads are not in {what}; new customers ÷ conversion gives the leads",
    "good_fit_share": "ICP fit is not in {what}",
    "payment_failure_rate": "{what} does not tell failed payments from other churn; the churn adjustment counts "
                            "them in",
    "sales_cycle_days": "the sales pipeline is not in {what}",
    "sales_cost_per_deal": "acquisition costs are not in {what}",
    "referral_rate": "referrals are not told apart in {what}",
}
#: Top-level keys that are settings of a run, not facts about the company.
RUN_SETTINGS = ("horizon_months", "seed", "replications", "warmup_months", "max_accounts", "normalize_lead_shares")
#: Sections whose every key is commented (the others get one comment on their header line).
COMMENTED_TABLES = ("acquisition", "initial_book", "reactivation")


@dataclass
class SegmentResult:
    """One input segment: its base segment (``base_name``, chosen for ``base_reason``), the
    estimates of its keys and the churn fit."""

    name: str
    base_name: str
    base_reason: str
    estimates: dict[str, Estimate]
    churn: ChurnFit | None = None


@dataclass
class Calibration:
    """Everything a calibration produced (see :func:`calibrate`).

    ``data``: the calibrated scenario (a complete mapping that validates); ``sources``: the comment
    of each key path; ``estimates``: every calibrated value outside the segments by key path;
    ``adjustment``: one record per simulation of the adjustment; ``check``: the self-check table
    (None without simulation); ``notes``: approximations and what was changed from the base.
    """

    observed: Observed
    base_path: str
    segments: list[SegmentResult]
    estimates: dict[tuple, Estimate]
    data: dict
    sources: dict[tuple, str]
    adjustment: list[dict]
    check: pd.DataFrame | None
    check_reps: int
    seed: int
    notes: list[str] = field(default_factory=list)
    #: The book at the as-of date (ledger only), the rows of ``initial_book.file``.
    book: pd.DataFrame | None = None
    #: Each simulated history was 1/divisor of the company's size (:func:`simulation_divisor`).
    divisor: int = 1
    #: Wall-clock seconds of each step, and the size of the simulations (the JSON's "timings").
    timings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The calibration as a JSON-ready mapping (the ``.calibration.json`` side file)."""
        def est(e: Estimate) -> dict:
            return {"value": e.value, "source": e.source, "fitted": e.fitted, "details": e.details}

        return {
            "input": self.observed.provenance, "base": self.base_path, "route": self.observed.route,
            "segments": {r.name: {"base_segment": r.base_name, "base_segment_reason": r.base_reason,
                                  "estimates": {k: est(e) for k, e in r.estimates.items()}}
                         for r in self.segments},
            "estimates": {".".join(map(str, k)): est(e) for k, e in self.estimates.items()},
            "adjustment": {"simulations": self.adjustment, "replications": self.check_reps, "seed": self.seed,
                           "size_divisor": self.divisor},
            "check": None if self.check is None else self.check.to_dict(orient="records"),
            "notes": self.notes,
            "timings": self.timings,
        }


def _round(value: float) -> float:
    """Six significant digits: more than any estimate here is worth, fewer than float noise."""
    return float(f"{value:.6g}")


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _effective_conversion(segment, base: Scenario) -> float:
    """Share of a segment's marketing leads that become customers (ICP fits convert fully, the
    others at ``poor_fit_conversion_factor``), before word of mouth."""
    return segment.conversion * (segment.good_fit_share + (1.0 - segment.good_fit_share)
                                 * base.acquisition.poor_fit_conversion_factor)


def _base_segment(name: str, term: int | None, median: float | None, base: Scenario):
    """The base segment whose assumptions an input segment takes, and why."""
    for segment in base.segments:
        if segment.name == name:
            return segment, "same name"
    if len(base.segments) == 1:
        return base.segments[0], "the base's only segment"
    pool = [s for s in base.segments if term is not None and s.term_months == term]
    by = "term and median MRR" if pool else "median MRR"
    pool = pool or list(base.segments)
    if median is not None and median > 0:
        return min(pool, key=lambda s: abs(math.log(s.mrr_median / median))), f"closest by {by}"
    return max(pool, key=lambda s: s.lead_share), "the base's largest by lead share" + (" of that term" if term else "")


# ------------------------------------------------------------------------------------------ direct estimates


def _segment_estimates(observed: Observed, base: Scenario) -> list[SegmentResult]:
    """Term, churn and MRR of every input segment, and its base segment."""
    chosen = {}
    for name in observed.segments:
        tenures = observed.tenures[name]
        amounts = observed.first_amounts.get(name, np.empty(0))
        if observed.route == "cohorts":
            segment = next(s for s in base.segments if s.name == observed.base_segment)
            reason = "named by --segment"
            term = Estimate(observed.period_months, f"given: one period of the survivor counts is "
                                                    f"{observed.period_months} months (--period-months)")
        else:
            term = detect_term(tenures, base_term=0)
            positive = amounts[amounts > 0]
            median = float(np.exp(np.mean(np.log(positive)))) if len(positive) else None
            segment, reason = _base_segment(name, term.value if term.fitted else None, median, base)
            if not term.fitted:
                term.value = segment.term_months
        chosen[name] = (term, segment, reason)
    # The company's shape by tenure, per term, for segments too small to show their own.
    companies = {}
    if observed.route != "cohorts":
        for term in {int(t.value) for t, _, _ in chosen.values()}:
            companies[term] = company_shape([observed.tenures[n] for n, (t, _, _) in chosen.items()
                                             if int(t.value) == term], term)
    results = []
    for name, (term, segment, reason) in chosen.items():
        tenures = observed.tenures[name]
        amounts = observed.first_amounts.get(name, np.empty(0))
        estimates = {"term_months": term}
        churn, concentration, fit = churn_estimate(None if observed.route == "cohorts" else tenures, int(term.value),
                                                   segment.annual_churn, cohorts=observed.cohorts,
                                                   company=companies.get(int(term.value)))
        estimates["annual_churn"] = churn
        if concentration is not None:
            estimates["churn_concentration"] = concentration
        by_term = by_term_estimate(fit)
        if by_term is not None:
            estimates["churn_by_term"] = by_term
        if len(amounts):
            estimates["mrr_median"], estimates["mrr_sigma"] = fit_mrr(amounts, segment.mrr_median, segment.mrr_sigma)
        results.append(SegmentResult(name, segment.name, reason, estimates, fit))
    return results


def _ledger_estimates(results: list[SegmentResult], observed: Observed, base: Scenario, estimates: dict
                      ) -> tuple[object, dict[str, float], pd.DataFrame]:
    """Movements, acquisition, reactivation and the book of a ledger; returns the trend of new
    customers, the marketing leads per month at the history's first month by segment, and the book
    at the as-of date (one row per paying customer: segment, MRR, tenure in months)."""
    terms = {r.name: int(r.estimates["term_months"].value) for r in results}
    measures, counts = measure(observed.records, terms)
    bases = {s.name: s for s in base.segments}
    for r in results:
        b, m, e = bases[r.base_name], measures[r.name], r.estimates
        e["price_uplift"] = price_uplift(m.moves, terms[r.name], b.price_uplift)
        uplift = e["price_uplift"].value if terms[r.name] >= 12 else 0.0
        e["expansion_rate"], e["expansion_size"] = expansion_estimates(m.moves, b.expansion_rate, b.expansion_size)
        t, d, _ = to_periods(m.tenures, terms[r.name])
        e["contraction_rate"], e["contraction_size"] = contraction_estimates(
            m.moves, terms[r.name], uplift, b.contraction_rate, b.contraction_size, renewals=float(np.sum(t - d)))

    total = float(counts["new_customers"].sum())
    months = observed.records.horizon_months
    base_slope = math.log1p(base.acquisition.lead_growth_annual) / 12.0
    enough = total >= MIN_TREND_CUSTOMERS and months >= MIN_TREND_MONTHS
    trend = new_customer_trend(counts, slope=None if enough else base_slope)
    leads = {}
    for r in results:
        b = bases[r.base_name]
        conversion = _effective_conversion(b, base)
        if conversion <= 0:
            raise InputError(observed.source, f"segment '{r.name}'",
                             f"its base segment '{b.name}' converts no lead (conversion {b.conversion:g}), so its "
                             "new customers cannot be turned into leads; give a --base whose segment converts")
        leads[r.name] = trend.intercepts[r.name] / conversion
    at_as_of = sum(leads.values()) * math.exp(trend.slope * months)
    conversions = ", ".join(f"{r.name} {_effective_conversion(bases[r.base_name], base):.3g}" for r in results)
    estimates[("acquisition", "leads_per_month")] = Estimate(
        at_as_of, f"fitted: new customers a month from a Poisson trend of {total:.0f} new customers over {months} "
                  f"months, at the as-of date, ÷ conversion from base (assumption: leads are not in a ledger; "
                  f"{conversions})", details={"new_customers": trend.totals, "month0": trend.intercepts})
    if trend.fitted:
        growth = math.expm1(12.0 * trend.slope)
        estimates[("acquisition", "lead_growth_annual")] = Estimate(
            growth, f"fitted: Poisson log-linear trend of monthly new customers (statsmodels GLM), {growth:+.1%} a "
                    f"year (standard error of the monthly log slope {trend.se:.2g})",
            details={"slope_per_month": trend.slope, "se": trend.se})
    else:
        estimates[("acquisition", "lead_growth_annual")] = from_base(
            base.acquisition.lead_growth_annual, f"{total:.0f} new customers over {months} months: too few for a trend")
    shares = _shares(leads)
    for r in results:
        r.estimates["lead_share"] = Estimate(shares[r.name], "fitted: the segment's share of leads, its new "
                                                             "customers ÷ its conversion (conversion from base: "
                                                             "assumption)")

    waits, censored = reactivation_data(observed.records)
    r = base.reactivation
    p_vol, p_inv, days = fit_reactivation(waits, censored, (r.prob_voluntary, r.prob_involuntary), r.mean_days)
    estimates[("reactivation", "prob_voluntary")] = p_vol
    estimates[("reactivation", "prob_involuntary")] = p_inv
    estimates[("reactivation", "mean_days")] = days

    acc, records = observed.records.accounts, observed.records
    active = acc["final_mrr"] > 0
    book = pd.DataFrame({"segment": np.asarray(records.segments, dtype=object)[acc["segment"][active]],
                         "mrr": acc["final_mrr"][active] / 100.0,
                         "tenure_months": np.round((records.horizon_days - acc["start"][active]) / MONTH_DAYS, 3)})
    estimates[("initial_book", "customers")] = Estimate(
        len(book), f"fitted: customers paying at the as-of date {observed.as_of.date()}, listed in initial_book.file")
    return trend, leads, book


def _shares(weights: dict[str, float]) -> dict[str, float]:
    """Shares summing to exactly 1 after rounding to 6 decimals (the scenario checks the sum)."""
    total = sum(weights.values())
    if total <= 0:
        return {k: _round(1.0 / len(weights)) for k in weights}
    shares = {k: round(v / total, 6) for k, v in weights.items()}
    largest = max(shares, key=shares.get)
    shares[largest] = round(1.0 - sum(v for k, v in shares.items() if k != largest), 6)
    return shares


# ------------------------------------------------------------------------------------------ scenarios


def _remap_segments(data: dict, mapping: dict[str, list[str]], notes: list[str]) -> None:
    """Point the strategy's plays and the coverage rule at the calibrated segments (in place).

    ``mapping``: base segment name → the calibrated segments that took its assumptions. A play for
    base segments none of which is kept is dropped (with a note); a play for all segments stays.
    """
    plays = []
    for i, play in enumerate(data.get("strategy", {}).get("plays", [])):
        names = play.get("segments") or []
        if names:
            kept = [new for old in names for new in mapping.get(old, [])]
            if not kept:
                notes.append(f"strategy.plays[{i}] ({play.get('touch')}, {play.get('trigger')}) was for base "
                             f"segment(s) {', '.join(names)}, which no input segment takes its assumptions from: "
                             "left out")
                continue
            play = {**play, "segments": list(dict.fromkeys(kept))}
        plays.append(play)
    if "strategy" in data:
        data["strategy"]["plays"] = plays
    coverage = data.get("cs_team", {}).get("accounts_per_csm")
    if coverage:
        data["cs_team"]["accounts_per_csm"] = {new: coverage[old] for old, news in mapping.items()
                                               for new in news if old in coverage} or None
        if data["cs_team"]["accounts_per_csm"] is None:
            del data["cs_team"]["accounts_per_csm"]


def _segment_data(result: SegmentResult, base_data: dict, overrides: dict) -> dict:
    """The segment mapping: its base segment's values, the estimates, then ``overrides``."""
    segment = copy.deepcopy(next(s for s in base_data["segments"] if s["name"] == result.base_name))
    segment["name"] = result.name
    for key, estimate in result.estimates.items():
        if key == "term_months":
            segment[key] = int(estimate.value)
        elif isinstance(estimate.value, list):
            segment[key] = [_round(v) for v in estimate.value]
        else:
            segment[key] = _round(estimate.value)
    if result.estimates["annual_churn"].fitted:
        # Fitted as one probability for every account / every renewal: a base's spread between
        # accounts or shape by tenure would distort it.
        for key in ("churn_concentration", "churn_by_term"):
            if key not in result.estimates:
                segment.pop(key, None)
    segment.update(overrides)
    return segment


def _history_data(results: list[SegmentResult], observed: Observed, base: Scenario, base_data: dict,
                  params: HistoryParams, estimates: dict, reps: int, seed: int, k: int = 1) -> dict:
    """The history scenario: the calibrated world over the input's history (see :mod:`csim.calibrate.check`).

    A ledger: from its first month, no initial book, marketing leads and growth of ``params``. A
    customer table or cohorts: every customer at tenure 0 at day 0 (an initial book with
    ``max_tenure_months`` = 0), no leads and no referrals, for the longest tenure observed plus a
    month (so that a renewal on the last observed date is inside the run). ``k``: the company at
    1/k of its size (leads or book and the CS team divided by k; :func:`simulation_divisor`).
    """
    data = copy.deepcopy(base_data)
    mapping: dict[str, list[str]] = {}
    segments = []
    for r in results:
        term = int(r.estimates["term_months"].value)
        over = {}
        if r.name in params.logit:
            q = _expit(params.logit[r.name])
            over["annual_churn"] = 1.0 - (1.0 - q) ** (12.0 / term)
        if r.name in params.shape:
            over["churn_by_term"] = [math.exp(v) for v in params.shape[r.name]]
        for key, source in (("expansion_rate", params.expansion), ("contraction_rate", params.contraction)):
            if r.name in source:
                over[key] = min(source[r.name], 365.0)
        segments.append(_segment_data(r, base_data, over))
        mapping.setdefault(r.base_name, []).append(r.name)
    data["segments"] = segments
    data["warmup_months"] = 0
    data["replications"], data["seed"] = reps, seed
    if observed.route == "ledger":
        shares = _shares(params.leads)
        for s in segments:
            s["lead_share"] = shares[s["name"]]
        data["acquisition"]["leads_per_month"] = sum(params.leads.values()) / k
        data["acquisition"]["lead_growth_annual"] = min(max(math.expm1(12.0 * params.slope), -0.99), 10.0)
        data["initial_book"] = {"customers": 0, "max_tenure_months": 0.0}
        data["acquisition"]["deals_in_flight"] = False  # the history starts with the ledger's first customer
        data["horizon_months"] = observed.records.horizon_months
        for key in ("prob_voluntary", "prob_involuntary", "mean_days"):
            data["reactivation"][key] = estimates[("reactivation", key)].value
    else:
        bases = {s.name: s for s in base.segments}
        sizes = {r.name: len(observed.tenures[r.name]) for r in results}
        # The initial book mixes segments by lead share × conversion: give each its customers' share.
        shares = _shares({r.name: sizes[r.name] / max(bases[r.base_name].conversion, 1e-9) for r in results})
        for s in segments:
            s["lead_share"] = shares[s["name"]]
            s["referral_rate"] = 0.0
        data["acquisition"]["leads_per_month"] = 0.0
        data["initial_book"] = {"customers": max(1, round(sum(sizes.values()) / k)), "max_tenure_months": 0.0}
        top = max(float(np.max(t.months)) for t in observed.tenures.values())
        data["horizon_months"] = int(math.ceil(top)) + 1
    notes: list[str] = []
    _remap_segments(data, mapping, notes)
    _scale_team(data, k)
    return data


#: Expected accounts (over all replications) below which a history is simulated in this process:
#: starting worker processes would take longer than the simulation.
SERIAL_ACCOUNTS = 2_000
#: Paying account-years one simulation of the history may hold, replications together. The engine
#: runs about 5,000 account-years a second on one core (docs/benchmarks.md), so this keeps each
#: simulation to seconds; a larger history is simulated at 1/k of its size (:func:`simulation_divisor`).
SIMULATED_ACCOUNT_YEARS = 60_000


def history_account_years(observed: Observed) -> float:
    """Paying account-years of the observed history: from a ledger, each customer's months from its
    first payment to its first churn or the as-of date; from a table or cohorts, the observed
    tenures (the simulated history follows each customer somewhat longer, to the longest tenure)."""
    if observed.route == "ledger":
        acc = observed.records.accounts
        return float(np.sum(acc["end"] - acc["start"])) / (12.0 * MONTH_DAYS)
    return sum(float(np.sum(t.months)) for t in observed.tenures.values()) / 12.0


def simulation_divisor(observed: Observed, reps: int) -> int:
    """k such that ``reps`` histories at 1/k of the company's size hold at most
    :data:`SIMULATED_ACCOUNT_YEARS` paying account-years (1 for all but large histories)."""
    return max(1, math.ceil(reps * history_account_years(observed) / SIMULATED_ACCOUNT_YEARS))


def _scale_team(data: dict, k: int) -> None:
    """The CS team of a company 1/``k`` the size (in place): CSMs ÷ k, at least one, with the hours
    a week set so that the team's hours are exactly ÷ k (coverage rules follow the book by themselves)."""
    team = data.get("cs_team", {})
    headcount = int(team.get("headcount", 0))
    if k == 1 or headcount == 0:
        return
    smaller = max(1, round(headcount / k))
    team["hours_per_week"] = float(team.get("hours_per_week", 30.0)) * headcount / k / smaller
    team["headcount"] = smaller


def _book_sample(book: pd.DataFrame, k: int) -> pd.DataFrame:
    """Every k-th account of the book sorted by segment and MRR: a 1/k sample with each segment's
    customers and MRR in proportion to within one account."""
    if k == 1:
        return book
    ordered = book.sort_values(["segment", "mrr"], kind="stable").reset_index(drop=True)
    return ordered.iloc[k // 2::k].reset_index(drop=True)


def _simulate(data: dict, reps: int, seed: int, source: str) -> Records:
    return _simulate_replications(data, list(range(reps)), seed, source)


def _simulate_replications(data: dict, replications: list[int], seed: int, source: str) -> Records:
    from csim.engine.runner import simulate
    from csim.scenario.load import validate_scenario

    scenario = validate_scenario(data, source)
    small = scenario.expected_intake()[1] * len(replications) < SERIAL_ACCOUNTS
    return simulate(scenario, replications, seed, executor="serial" if small else "auto", progress=False)


def _observe(records: Records, observed: Observed, seed: int) -> Records:
    """Simulated records as the input shows them: a ledger view for a ledger, the accounts followed
    as long as the table's customers were for a customer table (:func:`censor_like`), the accounts
    as they are for cohorts (followed whole periods, as survivor counts are)."""
    if observed.route == "ledger":
        return ledger_view(records, observed.origin, observed.as_of, observed.records.segments, observed.has_channel)
    if observed.route == "table":
        return censor_like(records, observed.tenures, seed)
    return records


#: Purpose code of the random stream that draws a simulated customer's observation window.
CENSORING_STREAM = 0xCE5


def censor_like(records: Records, tenures: dict[str, Tenures], seed: int) -> Records:
    """``records`` with every account followed for a window drawn from its segment's observation
    windows in the customer table ``tenures``.

    A customer table follows each customer until it churned or the export was made: its late
    tenures rest on few customers (the real table of docs/calibration.md has 21 at risk at month
    12 of 2,000). A simulated history that followed every account to the end would hold far more,
    and its intervals at late tenures would be too narrow to compare with. So each simulated
    account gets a window W from the table's own distribution of windows (the reverse
    Kaplan–Meier curve: a still-active customer's tenure is a window, a churned one's says only
    that its window was at least that long; mass beyond the last window: followed to the end)
    and is seen churned when it churned by W, else active at W — one day past its W-th monthly
    renewal date, which it has passed, as a table's "tenure W, active" has. Windows come from
    their own stream per replication (``SeedSequence([seed, CENSORING_STREAM, replication])``),
    so the same seed gives the same histories.
    """
    from csim.forecast import KaplanMeier

    acc = dict(records.accounts)
    months = (acc["end"] - acc["start"]) / MONTH_DAYS
    window = np.full(len(months), np.inf)
    for code, name in enumerate(records.segments):
        seen = tenures.get(name)
        mine = acc["segment"] == code
        if seen is None or not mine.any() or seen.churned.all():
            continue
        censoring = KaplanMeier().fit(seen.months, ~np.asarray(seen.churned, bool))
        times = np.unique(np.asarray(seen.months, float)[~np.asarray(seen.churned, bool)])
        g = np.asarray(censoring.survival(np.concatenate([[0.0], times])), float)
        mass = np.append(-np.diff(g), g[-1])  # each window's probability; the last: beyond every window
        values = np.append(times, np.inf)
        for rep in np.unique(acc["replication"][mine]):
            rows = np.flatnonzero(mine & (acc["replication"] == rep))
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), CENSORING_STREAM, int(rep)]))
            window[rows] = rng.choice(values, size=len(rows), p=mass / mass.sum())
    cut = months > window + 1e-9
    acc["end"] = np.where(cut, acc["start"] + window * MONTH_DAYS + 1.0, acc["end"])
    acc["churned"] = np.where(cut, False, acc["churned"]).astype(acc["churned"].dtype)
    return replace(records, accounts=acc)


# ------------------------------------------------------------------------------------------ the steps


def calibrate(observed: Observed, base: Scenario, base_path: str, name: str, check_reps: int = 10,
              seed: int | None = None) -> Calibration:
    """Calibrate ``base`` to ``observed`` (see the module doc); ``name``: the scenario's name.

    ``check_reps``: replications of each simulation of the history (adjustment and self-check, and
    the holdout check of a ledger read with a holdout date); 0 skips them all. ``seed``: root seed
    of those simulations (default the base's). Writes nothing (:func:`write_calibration` does).
    """
    clock = time.perf_counter()
    timings: dict = {}

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[f"{phase}_seconds"] = round(now - clock, 3)
        clock = now

    seed = base.seed if seed is None else int(seed)
    k = simulation_divisor(observed, check_reps) if check_reps > 0 else 1
    base_data = base.model_dump(mode="json", exclude_none=True)
    notes: list[str] = []
    results = _segment_estimates(observed, base)
    estimates: dict[tuple, Estimate] = {}
    trend, leads, book = None, {}, None
    bases = {s.name: s for s in base.segments}
    if observed.route == "ledger":
        trend, leads, book = _ledger_estimates(results, observed, base, estimates)
    elif observed.route == "table":
        sizes = {r.name: len(observed.tenures[r.name]) for r in results}
        weights = {r.name: sizes[r.name] / max(_effective_conversion(bases[r.base_name], base), 1e-9) for r in results}
        for r, share in zip(results, _shares(weights).values()):
            r.estimates["lead_share"] = Estimate(share, f"fitted: the segment's share of the table's customers "
                                                        f"({sizes[r.name]}) ÷ its conversion (conversion from base: "
                                                        "assumption; the table taken as a sample of acquisitions)")

    terms = {r.name: int(r.estimates["term_months"].value) for r in results}
    params = HistoryParams(logit={})
    for r in results:
        churn = r.estimates["annual_churn"]
        q = per_term_churn(churn.value, terms[r.name])
        if churn.fitted and 0.0 < q < 1.0:
            params.logit[r.name] = _logit(q)
            if "churn_by_term" in r.estimates:
                params.shape[r.name] = [math.log(m) for m in r.estimates["churn_by_term"].value]
        for key, target in (("expansion_rate", params.expansion), ("contraction_rate", params.contraction)):
            if key in r.estimates and r.estimates[key].fitted:
                target[r.name] = r.estimates[key].value
    params.leads = dict(leads)
    params.slope = trend.slope if trend is not None else 0.0
    direct = params.copy()
    lap("direct_estimates")

    adjustment: list[dict] = []
    if check_reps > 0 and (params.logit or observed.route == "ledger"):
        ledger = observed.route == "ledger"
        observed_targets = ledger_targets(observed.records, terms) if ledger else Targets(tenures=observed.tenures)

        def run(p: HistoryParams) -> Targets:
            data = _history_data(results, observed, base, base_data, p, estimates, check_reps, seed, k)
            records = _observe(_simulate(data, check_reps, seed, f"history of {observed.source}"), observed, seed)
            targets = ledger_targets(records, terms) if ledger else tenure_targets(records)
            targets.new = {s: v * k for s, v in targets.new.items()}  # new customers of the whole company
            return targets

        # Failed payments not recovered churn an account whatever its churn log-odds: the part of the
        # observed churn the adjustment cannot move (per renewal decision, Poisson failures in a term).
        involuntary = {r.name: -math.expm1(-bases[r.base_name].payment_failure_rate * terms[r.name] / 12.0)
                       * (1.0 - base.payments.recovery_prob) for r in results}
        params, adjustment = adjust(params, observed_targets, terms, run, growth=bool(trend and trend.fitted),
                                    involuntary=involuntary,
                                    months=observed.records.horizon_months if ledger else 0)
        _record_adjustment(results, estimates, direct, params, observed, adjustment)
        notes += _rigid_churn(adjustment)
        lap("adjustment")
    elif check_reps == 0:
        notes.append("not adjusted by simulation (--check-reps 0): the churn, expansion and contraction rates are the "
                     "direct estimates, which read the history as if every account sat at the base's reference health "
                     "with no CS team")

    data, sources = _scenario_data(results, observed, base, base_data, estimates, name, notes, book)
    check = None
    if check_reps > 0:
        check = _self_check(results, observed, base, base_data, params, estimates, check_reps, seed, k)
        lap("self_check")
        if observed.continuation is not None:
            g = estimates.get(("acquisition", "lead_growth_annual"))
            growth = g.details.get("se") if g is not None and g.fitted else None
            check = pd.concat([check, _holdout_check(data, observed, book, check_reps, seed, k, growth)],
                              ignore_index=True)
            lap("holdout_check")
        timings["simulation_size"] = {"replications": check_reps, "divisor": k,
                                      "account_years": round(history_account_years(observed), 1),
                                      "simulations": len(adjustment) + 1 + (observed.continuation is not None)}
    if k > 1:
        notes.append(f"the history was simulated at 1/{k} of the company's size ({check_reps} replications; leads "
                     "or book and CS team divided by that, counts and money multiplied back): the check's intervals "
                     "are those of that smaller company, wider than the company's own")
    notes += _approximations(results, observed)
    return Calibration(observed=observed, base_path=base_path, segments=results, estimates=estimates, data=data,
                       sources=sources, adjustment=adjustment, check=check, check_reps=check_reps, seed=seed,
                       notes=notes, book=book, divisor=k, timings=timings)


#: A measured slope of simulated churn on the churn log-odds below this says that most of the
#: simulated churn comes from what the log-odds do not move (see :func:`_rigid_churn`).
RIGID_SLOPE = 0.5


def _rigid_churn(adjustment: list[dict]) -> list[str]:
    """Notes for segments where most simulated churn does not answer to the churn log-odds.

    The slope d log(expected churns)/d(log-odds) is about the share of the simulated churn the
    log-odds move, times 1 − h. Below :data:`RIGID_SLOPE` the base's failed payments (involuntary
    churn), missed first value and health make most of it: the adjustment can match the number of
    churns only by pushing voluntary churn down, and churn then falls less with tenure than the
    sBG fitted. A ledger cannot tell voluntary from involuntary churn, so this is said, not fixed:
    a 20,000-customer ledger made as the calibration benchmark's (benchmarks/bench_calibrate.py),
    whose churn is all voluntary, flags 9 of 24 figures with the baseline's failed payments and
    none with them set to 0.
    """
    notes = []
    if len(adjustment) < 2:
        return notes
    for name, row in adjustment[-1]["segments"].items():
        measured = "slope_measured" in adjustment[1]["segments"].get(name, {})
        slope = row.get("slope")
        if measured and slope is not None and slope < RIGID_SLOPE:
            notes.append(f"segment {name}: only about {slope:.0%} of its simulated churn answers to the churn "
                         "log-odds (the measured slope): the rest comes from the base's failed payments, missed first "
                         "value and health (assumptions), so voluntary churn was pushed down to match the number of "
                         "churns; if the self-check flags its retention, a base with less involuntary churn for it "
                         "may fit (a ledger cannot tell voluntary from involuntary churn)")
    return notes


def _record_adjustment(results, estimates, direct: HistoryParams, params: HistoryParams, observed: Observed,
                       adjustment: list[dict]) -> None:
    """Put the adjusted values into the estimates and say by how much each moved."""
    for r in results:
        term = int(r.estimates["term_months"].value)
        if r.name in params.logit:
            q = _expit(params.logit[r.name])
            annual = 1.0 - (1.0 - q) ** (12.0 / term)
            e = r.estimates["annual_churn"]
            change = annual / e.value - 1.0 if e.value > 0 else float("nan")
            e.details["direct_annual_churn"] = e.value
            e.value = annual
            last = adjustment[-1]["segments"].get(r.name, {})
            precision = ""
            if "se_logit" in last:
                e.details.update(se_logit=last["se_logit"], slope=last["slope"],
                                 slope_measured="slope_measured" in adjustment[min(1, len(adjustment) - 1)][
                                     "segments"].get(r.name, {}))
                precision = (f"; standard error of the per-term log-odds {last['se_logit']:.2g} (1/√churns over the "
                             f"simulated slope {last['slope']:.2g})")
            e.source += (f"; adjusted by simulation for the base's health effects, CS touches and failed payments "
                         f"({change:+.0%}){precision}")
        if r.name in params.shape:
            e = r.estimates["churn_by_term"]
            e.details["direct"] = list(e.value)
            e.value = [float(f"{math.exp(v):.4g}") for v in params.shape[r.name]]
            e.source += (f"; adjusted by simulation, the odds of each renewal decision with {MIN_PERIOD_CHURNS} of the "
                         "segment's own churns by its observed against simulated churns (the base's health spread "
                         "and touches flatten a hump)")
        for key, ours, before in (("expansion_rate", params.expansion, direct.expansion),
                                  ("contraction_rate", params.contraction, direct.contraction)):
            if r.name in ours and before.get(r.name, 0) > 0:
                e = r.estimates[key]
                e.details["direct"] = e.value
                e.value = min(ours[r.name], 365.0)
                e.source += f"; ×{ours[r.name] / before[r.name]:.3g} by simulation for the base's health effects"
    if observed.route != "ledger":
        return
    months = observed.records.horizon_months
    shares = _shares(params.leads)
    for r in results:
        r.estimates["lead_share"].value = shares[r.name]
        if direct.leads.get(r.name, 0) > 0:
            r.estimates["lead_share"].source += (f"; leads ×{params.leads[r.name] / direct.leads[r.name]:.3g} by "
                                                 "simulation for sales cycles, referrals and lost deals")
    e = estimates[("acquisition", "leads_per_month")]
    e.details["direct"] = e.value
    e.value = sum(params.leads.values()) * math.exp(params.slope * months)
    e.source += "; adjusted by simulation for sales cycles, referrals and lost deals"
    g = estimates[("acquisition", "lead_growth_annual")]
    if g.fitted:
        g.details["direct"] = g.value
        g.value = min(max(math.expm1(12.0 * params.slope), -0.99), 10.0)
        g.source += f"; {g.value:+.1%} after adjusting by simulation for the sales pipeline's start"


def book_file(name: str) -> str:
    """File name of the initial book written next to the scenario ``name``.toml."""
    return f"{name}.book.csv"


def _scenario_data(results, observed: Observed, base: Scenario, base_data: dict, estimates: dict, name: str,
                   notes: list[str], book: pd.DataFrame | None) -> tuple[dict, dict]:
    """The calibrated scenario mapping and the source comment of each key path."""
    what = observed.not_in
    data = copy.deepcopy(base_data)
    sources: dict[tuple, str] = {}
    data["name"] = name
    data["description"] = f"Calibrated by csim calibrate to {observed.provenance.get('kind')} {observed.source}."
    sources[("name",)] = "the file's name"
    sources[("description",)] = "written by csim calibrate"
    for key in RUN_SETTINGS:
        sources[(key,)] = "from base: run setting"
    mapping: dict[str, list[str]] = {}
    if observed.route == "cohorts":
        # The other segments of the base stay as they are; only the cohorts' segment is calibrated.
        r = results[0]
        for i, segment in enumerate(data["segments"]):
            if segment["name"] == r.base_name:
                data["segments"][i] = _segment_data(r, base_data, {})
            mapping[segment["name"]] = [segment["name"]]
    else:
        data["segments"] = [_segment_data(r, base_data, {}) for r in results]
        for r in results:
            mapping.setdefault(r.base_name, []).append(r.name)
        _remap_segments(data, mapping, notes)
    for r in results:
        sources[("segments", r.name, "name")] = (f"the input's segment; assumptions from base segment "
                                                  f"'{r.base_name}' ({r.base_reason})")
        for key, estimate in r.estimates.items():
            sources[("segments", r.name, key)] = estimate.source
        for key, reason in SEGMENT_REASONS.items():
            sources.setdefault(("segments", r.name, key), f"from base: assumption ({reason.format(what=what)})")
    for (section, key), estimate in estimates.items():
        data[section][key] = _round(estimate.value) if not isinstance(estimate.value, (int, np.integer)) \
            else int(estimate.value)
        sources[(section, key)] = estimate.source
    if book is not None:
        # The actual book replaces the random one: segment, MRR and tenure of every paying customer.
        data["initial_book"] = {"customers": len(book), "file": book_file(name)}
        sources[("initial_book", "file")] = (f"fitted: the {len(book)} customers paying at the as-of date with their "
                                             "MRR then and their tenure; ICP fit, health and the rest are drawn as for "
                                             "any account")
        # The company's sales were running at the as-of date: its deals in flight close in the run.
        data["acquisition"]["deals_in_flight"] = True
        sources[("acquisition", "deals_in_flight")] = (
            "set by csim calibrate: the world starts from a running company, so the deals its lead flow had in "
            "flight at the as-of date close in the run (the lead rate and growth extended back: assumption)")
    data["acquisition"]["lead_growth_annual"] = min(max(data["acquisition"]["lead_growth_annual"], -0.99), 10.0)
    return data, sources


def _self_check(results, observed: Observed, base: Scenario, base_data: dict, params: HistoryParams,
                estimates: dict, reps: int, seed: int, k: int = 1) -> pd.DataFrame:
    """Simulate the history from the calibrated parameters and compare (see :mod:`csim.calibrate.check`)."""
    from csim.calibrate.check import (check_table, ledger_figures, retention_figures, retention_points,
                                      scale_figures, segment_retention)

    data = _history_data(results, observed, base, base_data, params, estimates, reps, seed, k)
    simulated = _observe(_simulate(data, reps, seed, f"history of {observed.source}"), observed, seed)
    by_segment = {name: retention_points(t.months) for name, t in observed.tenures.items()}
    if observed.route == "ledger":
        acc = observed.records.accounts
        points = retention_points((acc["end"] - acc["start"]) / MONTH_DAYS)
        observed_figures = ledger_figures(observed.records, points, by_segment)
        simulated_figures = ledger_figures(simulated, points, by_segment)
    else:
        months = np.concatenate([t.months for t in observed.tenures.values()])
        churned = np.concatenate([t.churned for t in observed.tenures.values()])
        segment = np.concatenate([np.full(len(t), code) for code, t in enumerate(observed.tenures.values())])
        if observed.route == "cohorts":
            periods = max(len(c) for c in observed.cohorts) - 1
            points = [j * observed.period_months for j in range(1, min(periods, 8) + 1)]
        else:
            points = retention_points(months)
        zeros = np.zeros(len(months), int)
        observed_figures = retention_figures(months, churned, zeros, points)
        observed_figures.update(segment_retention(months, churned, zeros, segment, observed.segments, by_segment, [0]))
        acc = simulated.accounts
        tenure, gone = (acc["end"] - acc["start"]) / MONTH_DAYS, acc["churned"].astype(bool)
        reps_seen = np.unique(acc["replication"])
        # The simulated segments are the calibrated ones (cohorts: the base's, of which one is the input's).
        codes = np.array([observed.segments.index(n) if n in observed.segments else -1 for n in simulated.segments])
        simulated_figures = retention_figures(tenure, gone, acc["replication"], points, reps_seen)
        simulated_figures.update(segment_retention(tenure, gone, acc["replication"], codes[acc["segment"]],
                                                   observed.segments, by_segment, reps_seen))
    return check_table({name: float(v[0]) for name, v in observed_figures.items()},
                       scale_figures(simulated_figures, k), "history", 1.0 / k)


#: Purpose code of the random stream that draws each holdout replication's growth (:func:`_holdout_check`).
GROWTH_STREAM = 0x6207


def _holdout_check(data: dict, observed: Observed, book: pd.DataFrame, reps: int, seed: int, k: int,
                   growth: float | None = None) -> pd.DataFrame:
    """The calibrated scenario run on from the holdout's first day against what the ledger shows after it.

    ``data``: the calibrated scenario (its day 0 is the holdout's first day, the as-of date of the
    fit); its book, the customers paying then, is given as accounts (1/k of them with ``k`` > 1,
    :func:`_book_sample`, and leads and CS team divided by k); it runs ``reps`` replications for the
    holdout's months. Each replication is exported and read back as a ledger up to the ledger's
    last date and rebased to the holdout's first day, as the observed continuation was, and both
    are measured by :func:`csim.calibrate.check.holdout_figures`.

    The growth of new customers is the least precise value a fit on a short history gives, and it
    is extrapolated over the whole holdout; so when it was fitted (``growth``: its monthly log
    slope's standard error), each replication runs with its own growth, the fitted one moved by z
    standard errors (z ~ N(0, 1) from its own stream, ``SeedSequence([seed, GROWTH_STREAM, r])``),
    and its lead rate at the holdout start moved by z standard errors over half the fitted history
    (the fitted trend is pinned near the middle of its data). The interval then carries that
    uncertainty, not the simulation's spread alone.
    """
    from csim.calibrate.check import check_table, holdout_figures, rebase, scale_figures

    months = observed.continuation.horizon_months
    data = copy.deepcopy(data)
    data.update(horizon_months=months, replications=reps, seed=seed, warmup_months=0)
    sample = _book_sample(book, k)
    data["initial_book"] = {"accounts": [{"segment": str(r.segment), "mrr": float(r.mrr),
                                          "tenure_months": float(r.tenure_months)} for r in sample.itertuples()]}
    data["acquisition"]["leads_per_month"] = data["acquisition"]["leads_per_month"] / k
    _scale_team(data, k)
    if growth is None:
        simulated = _simulate(data, reps, seed, f"holdout of {observed.source}")
    else:
        parts = []
        rate, g = data["acquisition"]["leads_per_month"], data["acquisition"]["lead_growth_annual"]
        half = observed.records.horizon_months / 2.0
        for r in range(reps):
            z = float(np.random.default_rng(np.random.SeedSequence([int(seed), GROWTH_STREAM, r])).standard_normal())
            mine = copy.deepcopy(data)
            moved = (1.0 + g) * math.exp(12.0 * growth * z) - 1.0
            mine["acquisition"]["lead_growth_annual"] = min(max(moved, -0.99), 10.0)
            mine["acquisition"]["leads_per_month"] = rate * math.exp(growth * z * half)
            parts.append(_simulate_replications(mine, [r], seed, f"holdout of {observed.source}"))
        simulated = Records.concat(parts)
    view = ledger_view(simulated, observed.as_of, observed.end, observed.records.segments, observed.has_channel)
    view = rebase(view, view.horizon_months - months)
    observed_figures = holdout_figures(observed.continuation)
    return check_table({name: float(v[0]) for name, v in observed_figures.items()},
                       scale_figures(holdout_figures(view), k), "holdout", 1.0 / k)


def _approximations(results, observed: Observed) -> list[str]:
    """What the written scenario approximates, in words (file header, report, JSON)."""
    notes = []
    for r in results:
        fit = r.churn
        if fit is None or fit.degenerate or fit.shape is not None:
            continue  # a shape by tenure is written as churn_by_term: the self-check shows how well it holds
        best, engine = np.asarray(fit.hazards, float), np.asarray(fit.engine_hazards, float)
        if len(best) < 2 or len(engine) != len(best) or not (np.all(np.isfinite(best)) and np.all(np.isfinite(engine))):
            continue
        third = max(1, len(best) // 3)
        early, late = float(best[:third].mean()), float(best[-third:].mean())
        e_early, e_late = float(engine[:third].mean()), float(engine[-third:].mean())
        if max(abs(math.log(max(a, 1e-12) / max(b, 1e-12))) for a, b in ((early, e_early), (late, e_late))) < 0.1:
            continue  # within 10 % of the data at both ends: nothing worth saying
        unit = "renewal" if fit.term > 1 else "month"
        shown = ", ".join(f"{k.rstrip('_')} = {v:.3g}" for k, v in fit.best_params.items())
        written = ("an sBG (each account its own churn, churn_concentration)" if fit.heterogeneous
                   else "one constant probability with the same expected churn over the history")
        notes.append(f"segment {r.name}: the fitted churn ({MODEL_LABELS[fit.best]}: {shown}) is {early:.3g} per "
                     f"{unit} over the first {third} {unit}s of tenure and {late:.3g} over the last {third}; the "
                     f"written churn, {written}, gives a cohort {e_early:.3g} and {e_late:.3g} at reference health "
                     "(before the adjustment for health); the data show no shape by tenure strong enough for "
                     "churn_by_term")
    if observed.route == "ledger":
        notes.append("reactivation: a ledger does not tell voluntary from involuntary churn; both probabilities are "
                     "the fitted share")
        notes.append("leads: new customers ÷ conversion, conversion from base (an assumption): only the product "
                     "leads × conversion is identified by billing data")
    return notes
