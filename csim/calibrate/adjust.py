"""Simulation-based adjustment: the parameters whose simulated history shows what the observed one does.

The direct estimates of :mod:`csim.calibrate.fit` read churn, expansion and new customers as if
every account sat at the reference health with no CS team. The engine moves them: churn log-odds
shift with health (``churn_effect``·(h − reference)) and with the base strategy's renewal touches,
failed payments add involuntary churn, expansion and contraction rates scale with health, and
sales cycles, referrals and lost deals stand between leads and new customers. So the history is
simulated from the calibrated parameters with the base's world and strategy (``--check-reps``
replications, the same seed every time: common random numbers), measured exactly as the observed
history is (:mod:`csim.calibrate.measure`), and the parameters are moved until the two agree:

* churn, per segment: the per-term churn log-odds x (of the mean α/(α + β) for a segment with an
  sBG; its concentration α + β stays as fitted, docs/calibration.md §2.2) is moved by Newton steps on
  f(x) = log(E(x)/D), D the observed churns and E(x) the churns the simulated hazard by renewal
  decision expects among the observed customers at risk (a standardised ratio, so how customers
  are spread over tenure does not matter). A segment whose churn changes with the renewal number
  (``churn_by_term``, multipliers m_1 … m_K) has each of those decisions' total log-odds x + log m_k
  moved the same way by its own ratio E_k/D_k when it holds ``MIN_PERIOD_CHURNS`` observed churns
  (the others keep their multiplier and move with x), and x by the ratio of all the other decisions
  together (by the total when those hold fewer than :data:`MIN_TAIL_CHURNS` churns): health effects and touches act
  on a hump unevenly (the spread of health between accounts flattens it), so the multipliers fitted
  at reference health are re-fitted on the simulated world. The slope f'(x) is measured: the second simulation
  changes the churn log-odds only (so the two simulations share every account and random number,
  and their difference is nearly free of noise). It is below 1 because failed payments add churn
  x does not move and because churn selects the healthier accounts. Until it is measured the slope
  is taken as (1 − h)·(1 − i/h), h the observed churn per decision, i the base's involuntary churn
  per decision. The standard error of the calibrated log-odds is that of the observed churn,
  1/√D, divided by the slope (``se_logit`` in the records);
* expansion and contraction rates, per segment: multiplied by observed/simulated events per paying
  account-year (the health factor multiplies a rate, so one step is exact up to noise);
* marketing leads, per segment: multiplied by observed/simulated new customers; the growth of the
  lead rate is moved by the difference of the observed and simulated Poisson trends, the leads
  at the first month rescaled so that the expected new customers over the history stay.

Each simulation proposes new values (one Newton step from the values it simulated). The
simulations are noisy (common random numbers hold only in part: a changed lead flow changes which
accounts exist), so after the first simulation, which only brings the values near, the values
simulated next are the average of the proposals so far (Polyak averaging: on the log-odds, log-rate
and growth scales), which averages the noise away instead of chasing it. :data:`SIMULATIONS`
simulations at most; it stops early when every ratio is within :data:`CONVERGED` of 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from csim.calibrate.fit import MIN_PERIOD_CHURNS, MULTIPLIER_BOUNDS, Tenures, churns_by_decision, new_customer_trend
from csim.calibrate.measure import expected_by_decision, measure
from csim.records import Records

#: Most simulations of the history the adjustment runs.
SIMULATIONS = 4
#: Relative agreement (|log ratio|) at which it stops early.
CONVERGED = 0.01
#: Per-term churn probabilities are kept within [1e-4, 1 − 1e-4] (log-odds ±9.2).
LOGIT_BOUND = math.log(1e4)
#: Largest factor one step may move a rate or a lead flow by.
MAX_STEP = 5.0
#: Fewest observed churns the decisions not moved on their own need to set the level x by themselves.
MIN_TAIL_CHURNS = 30


@dataclass
class HistoryParams:
    """The adjusted parameters: per segment, the per-term churn log-odds at reference health, the
    log multipliers of ``churn_by_term`` (segments that have it), expansion and contraction rates
    (per account-year) and marketing leads per month at month 0 of the history; ``slope``: log
    growth of the lead rate per month."""

    logit: dict[str, float]
    shape: dict[str, list[float]] = field(default_factory=dict)
    expansion: dict[str, float] = field(default_factory=dict)
    contraction: dict[str, float] = field(default_factory=dict)
    leads: dict[str, float] = field(default_factory=dict)
    slope: float = 0.0

    def copy(self) -> "HistoryParams":
        return replace(self, logit=dict(self.logit), shape={s: list(v) for s, v in self.shape.items()},
                       expansion=dict(self.expansion),
                       contraction=dict(self.contraction), leads=dict(self.leads))


@dataclass
class Targets:
    """What a history shows that the adjustment matches (replications pooled, counts per replication)."""

    tenures: dict[str, Tenures]
    expansion: dict[str, float] = field(default_factory=dict)
    contraction: dict[str, float] = field(default_factory=dict)
    new: dict[str, float] = field(default_factory=dict)
    slope: float | None = None


def ledger_targets(records: Records, terms: dict[str, int]) -> Targets:
    """:class:`Targets` of a ledger's history (observed, or simulated seen as a ledger)."""
    measures, counts = measure(records, terms)
    out = Targets(tenures={s: m.tenures for s, m in measures.items()})
    for name, m in measures.items():
        years = m.account_years or float("nan")
        out.expansion[name] = len(m.moves.rises) / years
        out.contraction[name] = (len(m.moves.falls) + len(m.moves.falls_at_renewal)) / years
    trend = new_customer_trend(counts)
    out.new = trend.totals
    out.slope = trend.slope if trend.fitted else None
    return out


def tenure_targets(records: Records) -> Targets:
    """:class:`Targets` of a simulated history of a customer table or cohorts: tenures only."""
    from csim.calibrate.fit import tenures_from_records

    return Targets(tenures={name: tenures_from_records(records, code) for code, name in enumerate(records.segments)})


def _ratio(observed: float, simulated: float) -> float | None:
    """observed/simulated within [1/MAX_STEP, MAX_STEP]; None when nothing can be learnt."""
    if not (np.isfinite(observed) and np.isfinite(simulated)) or observed <= 0:
        return None
    if simulated <= 0:
        return MAX_STEP
    return float(min(max(observed / simulated, 1.0 / MAX_STEP), MAX_STEP))


def _months_weight(slope: float, months: int) -> float:
    """Σ_{m < months} e^(slope·m): new customers over the history per new customer a month at month 0."""
    return float(np.exp(slope * np.arange(months)).sum())


def _average(proposals: list[HistoryParams]) -> HistoryParams:
    """The mean of ``proposals``: log-odds and growth averaged, rates and leads geometrically."""
    def mean(values, log):
        values = np.asarray(values, float)
        if log:
            return float(np.exp(np.mean(np.log(np.maximum(values, 1e-300)))))
        return float(np.mean(values))

    first = proposals[0]
    return HistoryParams(
        logit={s: mean([p.logit[s] for p in proposals], False) for s in first.logit},
        shape={s: [mean([p.shape[s][j] for p in proposals], False) for j in range(len(v))]
               for s, v in first.shape.items()},
        expansion={s: mean([p.expansion[s] for p in proposals], True) for s in first.expansion},
        contraction={s: mean([p.contraction[s] for p in proposals], True) for s in first.contraction},
        leads={s: mean([p.leads[s] for p in proposals], True) for s in first.leads},
        slope=mean([p.slope for p in proposals], False))


def _reshape(x: float, shape: list[float], nxt: HistoryParams, s: str, observed: np.ndarray,
             expected: np.ndarray, slope: float) -> tuple[list[float], list[float]]:
    """One step for a segment with ``churn_by_term`` (see the module doc): sets ``nxt.logit[s]`` from
    the decisions not moved on their own (when they hold :data:`MIN_TAIL_CHURNS` churns; else it
    keeps the step on the total) and returns the new log multipliers and the log(expected/observed)
    of each decision moved on its own."""
    # Decisions with enough churns of their own are moved one by one; the others together move x.
    own = np.zeros(len(observed), bool)
    own[:len(shape)] = observed[:len(shape)] >= MIN_PERIOD_CHURNS
    tail_observed, tail_expected = float(observed[~own].sum()), float(expected[~own].sum())
    if tail_observed >= MIN_TAIL_CHURNS and tail_expected > 0:
        f_tail = math.log(tail_expected / tail_observed)
        nxt.logit[s] = min(max(x - f_tail / slope, -LOGIT_BOUND), LOGIT_BOUND)
    ratios, out = [], []
    low, high = math.log(MULTIPLIER_BOUNDS[0]), math.log(MULTIPLIER_BOUNDS[1])
    for j, log_m in enumerate(shape):
        d = float(observed[j]) if j < len(observed) else 0.0
        e = float(expected[j]) if j < len(expected) else 0.0
        if d < MIN_PERIOD_CHURNS:  # too few churns of its own to move it: it moves with x
            out.append(log_m)
            continue
        f = math.log(max(e, 1e-9) / d)
        f = min(max(f, -math.log(MAX_STEP)), math.log(MAX_STEP))
        ratios.append(f)
        out.append(min(max(x + log_m - f / slope - nxt.logit[s], low), high))
    return out, ratios


def adjust(params: HistoryParams, observed: Targets, terms: dict[str, int],
           run: Callable[[HistoryParams], Targets], growth: bool, involuntary: dict[str, float] | None = None,
           months: int = 0, simulations: int = SIMULATIONS) -> tuple[HistoryParams, list[dict]]:
    """Move ``params`` until the simulated history matches ``observed`` (see the module doc).

    ``run(params)`` simulates the history and returns its :class:`Targets`; ``growth``: the observed
    trend of new customers was fitted (else the growth is left alone); ``involuntary``: the base's
    probability per renewal decision of a failed payment ending in churn, per segment; ``months``:
    length of the history. Returns the adjusted parameters and one record per simulation (the
    values used and the observed/simulated ratios).
    """
    involuntary = involuntary or {}
    risk = {s: churns_by_decision(observed.tenures[s], terms[s]) for s in params.logit}
    slopes: dict[str, float] = {}
    for s, (at, by_decision) in risk.items():
        churns = float(by_decision.sum())
        h = churns / max(float(at.sum()), 1.0)
        slopes[s] = (1.0 - h) * (1.0 - min(involuntary.get(s, 0.0) / h, 0.8)) if churns > 0 else 1.0
    first: dict[str, tuple[float, float]] = {}
    history, proposals = [], []
    for i in range(simulations):
        simulated = run(params)
        step = {"simulation": i + 1, "segments": {}}
        nxt = params.copy()
        worst = 0.0
        probe = i == 0  # the next simulation moves the churn log-odds only, to measure the slope
        for s in params.logit:
            row = {"annual_churn_logit": params.logit[s]}
            at, by_decision = risk[s]
            churns = float(by_decision.sum())
            if churns > 0 and s in simulated.tenures:
                expected_k = expected_by_decision(at, simulated.tenures[s], terms[s])
                expected = float(expected_k.sum())
                row.update(observed_churns=churns, simulated_expected_churns=expected)
                f = math.log(max(expected, 1e-9) / churns)
                worst = max(worst, abs(f))
                if i == 0:
                    first[s] = (params.logit[s], f)
                elif i == 1 and abs(params.logit[s] - first[s][0]) > 0.02:
                    measured = (f - first[s][1]) / (params.logit[s] - first[s][0])
                    row["slope_measured"] = measured
                    slopes[s] = min(max(measured, 0.25), 1.5)
                row["slope"] = slopes[s]
                row["se_logit"] = 1.0 / (math.sqrt(churns) * slopes[s])
                nxt.logit[s] = min(max(params.logit[s] - f / slopes[s], -LOGIT_BOUND), LOGIT_BOUND)
                if s in params.shape and not probe:
                    nxt.shape[s], f_shape = _reshape(params.logit[s], params.shape[s], nxt, s, by_decision,
                                                     expected_k, slopes[s])
                    row.update(churn_by_term_log=params.shape[s], decision_log_ratios=f_shape)
                    worst = max([worst] + [abs(x) for x in f_shape])
            if probe:
                step["segments"][s] = row
                continue
            for key, ours in (("expansion", nxt.expansion), ("contraction", nxt.contraction)):
                if s not in ours:
                    continue
                factor = _ratio(getattr(observed, key).get(s, 0.0), getattr(simulated, key).get(s, 0.0))
                row[f"{key}_observed"] = getattr(observed, key).get(s)
                row[f"{key}_simulated"] = getattr(simulated, key).get(s)
                if factor is not None:
                    worst = max(worst, abs(math.log(factor)))
                    ours[s] = ours[s] * factor
            if s in nxt.leads:
                factor = _ratio(observed.new.get(s, 0.0), simulated.new.get(s, 0.0))
                row.update(new_observed=observed.new.get(s), new_simulated=simulated.new.get(s))
                if factor is not None:
                    worst = max(worst, abs(math.log(factor)))
                    nxt.leads[s] = nxt.leads[s] * factor
            step["segments"][s] = row
        if growth and not probe and observed.slope is not None and simulated.slope is not None:
            step.update(slope_observed=observed.slope, slope_simulated=simulated.slope)
            nxt.slope = params.slope + (observed.slope - simulated.slope)
            worst = max(worst, 12.0 * abs(observed.slope - simulated.slope))
            keep = _months_weight(params.slope, months) / _months_weight(nxt.slope, months)
            nxt.leads = {s: v * keep for s, v in nxt.leads.items()}
        step["largest_log_ratio"] = worst
        history.append(step)
        if i > 0:  # the first proposal comes from the direct estimates, often far: not averaged
            proposals.append(nxt)
        params = _average(proposals) if proposals else nxt
        if worst < CONVERGED and not probe:
            break
    return params, history
