"""Per-segment estimates of what a company's history identifies, each with the sentence of its source.

Every function here is an estimator of one group of scenario keys from observed data; the same
functions measure the simulated history in :mod:`csim.calibrate.adjust` and
:mod:`csim.calibrate.check`, so the observed and simulated figures are always computed alike.

Units: tenure and history in **months** (a ledger's calendar months, :func:`csim.ledger.ledger_records`),
rates **per account-year**, money in **currency per month**, reactivation delays in **days**.

Estimators (each stated where it is computed):

* term: the contract length whose anniversaries the churn dates fall on (:func:`detect_term`);
* churn: a contract-renewal model (sBG, BdW) on renewals survived for term contracts; a geometric
  model, an sBG on months or a per-month discrete-time hazard for monthly plans; an sBG goes to the
  engine as it is (``churn_concentration`` = α + β), any other model as the constant per-term
  probability with the same expected churn over the observed exposure (:func:`fit_churn`,
  :func:`churn_estimate`);
* churn by renewal number: odds multipliers at the first periods that hold enough churns, under
  which the written model churns what was observed there, when the two differ beyond chance
  (:func:`churn_by_term`; for an sBG solved over the accounts' propensities,
  :func:`heterogeneous_multipliers`);
* MRR: log-normal maximum likelihood on each customer's first monthly amount (:func:`fit_mrr`);
* expansion, contraction, price uplift: event counts per active account-year and mean fractional
  sizes of the ledger's MRR changes, renewal repricing told apart by its date (:func:`fit_movements`);
* new customers: a Poisson log-linear trend of monthly new customers (:func:`new_customer_trend`);
* reactivation: a mixture ("cure") model of churned customers who come back after an exponential
  wait (:func:`fit_reactivation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd

from csim.records import EVENT_KINDS, MONTH_DAYS, Records

#: Months a date may be off a term anniversary and still count as one: calendar months differ from
#: 365.25/12 days and exports round dates to days, so an anniversary lands within a few days.
TOLERANCE_MONTHS = 0.15
#: Contract terms (months) tried besides the monthly plan, shortest first.
TERM_CANDIDATES = (2, 3, 4, 6, 12, 24, 36)
#: Fewest churns whose dates can tell a term.
MIN_TERM_SIGNALS = 5
#: Share of churns that must fall on the term's anniversaries (and at least this share of those on
#: month anniversaries, so that a longer term must explain the churns as well as the months do).
TERM_SHARE, TERM_SHARE_OF_MONTHLY = 0.6, 0.8
#: Fewest customers, and churns, a churn fit needs.
MIN_CUSTOMERS, MIN_CHURNS = 5, 1
#: Fewest events a mean size needs; fewest new customers and months a growth trend needs.
MIN_SIZE_EVENTS, MIN_TREND_CUSTOMERS, MIN_TREND_MONTHS = 3, 20, 6
#: AIC advantage the model with more parameters needs to be chosen.
AIC_MARGIN = 2.0
#: churn_by_term: fewest churns a period needs for its own multiplier (a hazard of 30 churns has a
#: relative standard error of about 1/√30 ≈ 18 %), most periods shaped, and the level of the
#: likelihood-ratio test that the periods' churn differs from the model's (else nothing is written).
MIN_PERIOD_CHURNS, MAX_SHAPED_PERIODS, SHAPE_TEST_LEVEL = 30, 12, 0.01
#: churn_by_term across segments (:func:`company_shape`): a later period is a spike of its own when
#: its churns exceed the tail's rate at this one-sided binomial level, with at least this many churns;
#: periods looked at for spikes.
SPIKE_LEVEL, MIN_SPIKE_CHURNS, SPIKE_PERIODS = 1e-3, 5, 120

_START, _REACTIVATION, _EXPANSION, _CONTRACTION = (EVENT_KINDS.index(k) for k in
                                                    ("start", "reactivation", "expansion", "contraction"))


@dataclass
class Estimate:
    """One calibrated value and where it came from.

    ``source`` is the sentence written next to the key in the scenario file ("fitted: …" or
    "from base: assumption …"); ``fitted`` says which; ``details`` go to the calibration JSON.
    """

    value: Any
    source: str
    fitted: bool = True
    details: dict = field(default_factory=dict)


def from_base(value, reason: str) -> Estimate:
    """A value kept from the base scenario, with the reason a calibration could not fit it."""
    return Estimate(value, f"from base: assumption ({reason})", fitted=False)


@dataclass
class Tenures:
    """One segment's customers in survival form.

    ``months``: tenure to the first churn or to the end of observation, months; ``churned``: the
    tenure ends in a churn; ``window``: months from each customer's start to the end of the history
    (None when the input does not say, as in a customer table); ``inclusive``: a renewal date at the
    very end of observation has been passed — true of a customer table or survivor counts ("tenure
    8, still active" is 8 periods survived), not of records, whose history ends just before its
    last instant (so a customer who started on the 1st is not yet renewed on the as-of month end).
    """

    months: np.ndarray
    churned: np.ndarray
    window: np.ndarray | None = None
    inclusive: bool = False

    def __len__(self) -> int:
        return len(self.months)


def tenures_from_records(records: Records, code: int) -> Tenures:
    """Accounts of segment ``code`` (all replications pooled) as :class:`Tenures` (first churn only)."""
    acc = records.accounts
    mine = acc["segment"] == code
    start = acc["start"][mine]
    return Tenures(months=(acc["end"][mine] - start) / MONTH_DAYS, churned=acc["churned"][mine].astype(bool),
                   window=(records.horizon_days - start) / MONTH_DAYS)


# ------------------------------------------------------------------------------------------ term


def _anniversary_share(months: np.ndarray, term: int) -> float:
    """Share of ``months`` within :data:`TOLERANCE_MONTHS` of a whole positive number of terms."""
    k = np.round(months / term)
    return float(np.mean((k >= 1) & (np.abs(months - k * term) <= TOLERANCE_MONTHS)))


def detect_term(tenures: Tenures, base_term: int) -> Estimate:
    """Contract term, months: the longest of :data:`TERM_CANDIDATES` whose anniversaries the churns fall on.

    A term contract ends at a renewal date, so its churns (leaving at a term end) fall on whole
    multiples of the term after the start; a monthly plan's fall on month anniversaries only. A term
    T is taken when at least :data:`TERM_SHARE` of the churn tenures lie within
    :data:`TOLERANCE_MONTHS` of a multiple of T, at least :data:`TERM_SHARE_OF_MONTHLY` as many as
    lie on month anniversaries, and more than chance would put there (one-sided binomial z > 3
    against the month-anniversary share divided by T). No such term: a monthly plan (1). With
    fewer than :data:`MIN_TERM_SIGNALS` churns the base's term is kept.
    """
    signals = tenures.months[tenures.churned]
    n = len(signals)
    if n < MIN_TERM_SIGNALS:
        return from_base(base_term, f"only {n} churn{'s' if n != 1 else ''}: too few to tell the term")
    monthly = _anniversary_share(signals, 1)
    chosen, chosen_share = 1, monthly
    for term in TERM_CANDIDATES:
        share = _anniversary_share(signals, term)
        chance = min(max(monthly / term, 1e-9), 1 - 1e-9)
        z = (share - chance) / math.sqrt(chance * (1.0 - chance) / n)
        if share >= TERM_SHARE and share >= TERM_SHARE_OF_MONTHLY * monthly and z > 3.0:
            chosen, chosen_share = term, share
    details = {"churns": n, "share_on_month_anniversaries": monthly,
               "share_on_anniversaries": {str(t): _anniversary_share(signals, t) for t in TERM_CANDIDATES}}
    if chosen > 1:
        return Estimate(chosen, f"fitted: {chosen_share:.0%} of {n} churns fall on {chosen}-month anniversaries of "
                                "the start (renewal dates)", details=details)
    return Estimate(1, f"fitted: the {n} churns fall on no renewal date longer than a month "
                       f"({_anniversary_share(signals, 12):.0%} on 12-month anniversaries): a monthly plan",
                    details=details)


# ------------------------------------------------------------------------------------------ churn


def to_periods(tenures: Tenures, term: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tenures in renewal decisions of ``term`` months: ``(t, d, n)``.

    ``t``: the decision a churner left at (a churn up to :data:`TOLERANCE_MONTHS` before a renewal
    date counts at it, a mid-term churn at the next one; at least 1) or the renewals a customer
    still active has passed (:attr:`Tenures.inclusive` says whether one at the very end counts);
    ``d``: churned;
    ``n``: renewal decisions the customer would have faced by the end of the history had it stayed
    (from ``window``; ``t`` when the window is unknown).
    """
    x = np.asarray(tenures.months, float) / term
    d = np.asarray(tenures.churned, bool)
    churn_at = np.maximum(1.0, np.ceil(x - TOLERANCE_MONTHS / term))
    # Renewal dates passed by the end of observation (see Tenures.inclusive); 1e-9 absorbs rounding.
    passed = np.floor(x + 1e-9) if tenures.inclusive else np.maximum(0.0, np.ceil(x - 1e-9) - 1.0)
    t = np.where(d, churn_at, passed)
    if tenures.window is None:
        n = t.copy()
    else:
        n = np.maximum(np.maximum(0.0, np.ceil(np.asarray(tenures.window, float) / term - 1e-9) - 1.0), t)
    return t, d, n


def decision_counts(t: np.ndarray, d: np.ndarray, periods: int) -> tuple[np.ndarray, np.ndarray]:
    """Customers at risk at decisions 1 … ``periods`` and the churns at each, from :func:`to_periods`'
    ``t`` (decisions reached) and ``d`` (churned)."""
    reached = np.sort(np.asarray(t, float))
    ks = np.arange(1, periods + 1, dtype=float)
    at_risk = (len(reached) - np.searchsorted(reached, ks, side="left")).astype(float)
    churns = np.bincount(np.asarray(t, float)[d].astype(np.int64), minlength=periods + 1)[1:periods + 1]
    return at_risk, churns.astype(float)


def churns_by_decision(tenures: Tenures, term: int, periods: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Customers at risk at renewal decision k = 1, 2, … (to ``periods``, default the last reached)
    and the churns at each, in ``term``-month decisions."""
    t, d, _ = to_periods(tenures, term)
    top = (int(t.max()) if len(t) else 0) if periods is None else periods
    return decision_counts(t, d, top)


def _first_run(churns: np.ndarray) -> int:
    """K: the longest run of periods from period 1 with :data:`MIN_PERIOD_CHURNS` churns each, at
    most :data:`MAX_SHAPED_PERIODS`."""
    enough = np.asarray(churns[:MAX_SHAPED_PERIODS]) >= MIN_PERIOD_CHURNS
    return int(np.argmin(enough)) if not enough.all() else len(enough)


def equivalent_probability(survival, exposure: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The constant per-term churn probability q with the same expected churn as ``survival``.

    Solves Σ wᵢ·(1 − (1 − q)^nᵢ) = Σ wᵢ·(1 − S(nᵢ)) for q, nᵢ being the renewal decisions customer i
    faced over the history (``exposure``) and S the fitted survival by decisions: the engine's
    homogeneous churn (one probability per term) that loses as many customers over the observed
    exposure as the fitted model does.
    """
    from scipy.optimize import brentq

    n = np.asarray(exposure, float)
    w = np.ones_like(n) if weights is None else np.asarray(weights, float)
    keep = n > 0
    n, w = n[keep], w[keep]
    if not len(n):
        return float("nan")
    target = float(np.sum(w * (1.0 - np.asarray(survival(n), float))))
    if target <= 0:
        return 0.0
    if target >= w.sum() * (1 - 1e-12):
        return 1.0
    return float(brentq(lambda q: np.sum(w * -np.expm1(n * np.log1p(-q))) - target, 1e-15, 1 - 1e-15, xtol=1e-14))


#: Churn models the engine follows as they are: one probability per term for every account
#: (geometric) or each account its own from an sBG (``churn_concentration``). The others describe
#: churn that changes with tenure for one account, which the engine has only as odds multipliers by
#: renewal number (``churn_by_term``, :func:`churn_by_term`).
ENGINE_MODELS = ("geometric", "sbg")
#: Churn models in words.
MODEL_LABELS = {"sbg": "sBG", "bdw": "BdW", "geometric": "geometric", "discrete_hazard": "discrete-time hazard"}


@dataclass
class ChurnFit:
    """The churn fit of one segment: the candidates, the model that describes the data best and the
    model written for the engine.

    ``best``: the candidate chosen by AIC and backtest (:func:`fit_churn`); ``model`` and ``params``:
    the model written, ``best`` itself when the engine can follow it (:data:`ENGINE_MODELS`), else
    the better of those by the same rule. ``per_term``: the constant probability of not renewing one
    term of ``term`` months with the same expected churn as ``best`` over the observed exposure
    (:func:`equivalent_probability`); ``annual``: the same per year (1 − (1 − q)^(12/term)).
    """

    term: int
    model: str
    params: dict
    candidates: list[dict]
    per_term: float
    annual: float
    customers: int
    churns: int
    periods: int
    degenerate: str | None = None
    notes: list[str] = field(default_factory=list)
    #: ``best``'s churn per decision (share of those at risk) at decisions 1, 2, …, ``periods``.
    hazards: list[float] = field(default_factory=list)
    #: The model that describes the data best ("" = ``model``) and its parameters.
    best: str = ""
    best_params: dict = field(default_factory=dict)
    #: The written model's churn per decision of a cohort at decisions 1 … ``periods``, before health
    #: effects (an sBG's falls with tenure as the accounts likelier to churn leave).
    engine_hazards: list[float] = field(default_factory=list)
    #: Churn by renewal number (:func:`churn_by_term`), None when churn per period is the model's.
    shape: "TermShape | None" = None

    def __post_init__(self):
        self.best = self.best or self.model
        self.best_params = self.best_params or dict(self.params)

    @property
    def heterogeneous(self) -> bool:
        """A non-degenerate sBG: the engine can follow it with ``churn_concentration`` = α + β."""
        return self.model == "sbg" and not self.degenerate

    def sentence(self) -> str:
        """The source of ``annual_churn`` in words (α and β of a contract-renewal model included)."""
        def shown(params):
            return ", ".join(f"{k.rstrip('_')} = {v:.3g}" for k, v in params.items())

        def candidate(name):
            return next(c for c in self.candidates if c["model"] == name)

        unit = f"{self.term}-month periods" if self.term > 1 else "months"
        others = [c for c in self.candidates if c["model"] not in (self.model, self.best) and c.get("aic") is not None]
        mine = candidate(self.model)
        chosen = ""
        if others:
            how = "AIC and backtest" if mine.get("mape") is not None and others[0].get("mape") is not None else "AIC"
            chosen = f", chosen over {' and '.join(MODEL_LABELS[c['model']] for c in others)} by {how}"
        if self.best != self.model:
            best = candidate(self.best)
            backtest = (f", backtest error {best['mape']:.3g} % against {mine['mape']:.3g} %"
                        if best.get("mape") is not None and mine.get("mape") is not None else "")
            chosen += (f"; the {MODEL_LABELS[self.best]} ({shown(self.best_params)}) describes the data better (AIC "
                       f"{best['aic']:.1f} against {mine['aic']:.1f}{backtest}); the engine's churn per account is "
                       f"geometric or sBG, a shape by tenure added as churn_by_term where the data show one: the "
                       f"{MODEL_LABELS[self.model]} is the better of those")
        edge = " (at the edge of its parameter space: no heterogeneity visible)" if self.degenerate else ""
        if self.heterogeneous:
            alpha, beta = self.params["alpha_"], self.params["beta_"]
            what = (f"a new account's mean churn per {'term' if self.term > 1 else 'month'} α/(α + β) = "
                    f"{alpha / (alpha + beta):.4g}, each account its own (churn_concentration)")
        else:
            what = (f"the engine's constant churn with the same expected churn over the history: {self.per_term:.4g} "
                    f"per {'term' if self.term > 1 else 'month'}")
        return (f"fitted: {MODEL_LABELS[self.model]} {shown(self.params)}{edge} on {self.periods} {unit} of "
                f"{self.customers} customers ({self.churns} churn{'s' if self.churns != 1 else ''}){chosen}; {what}")


def _candidate(name: str, fitted, mape: float | None = None) -> dict:
    return {"model": name, "aic": float(fitted.aic_), "loglik": float(fitted.loglik_),
            "mape": None if mape is None or not np.isfinite(mape) else float(mape),
            "degenerate": getattr(fitted, "degenerate_", None)}


def _choose(candidates: list[dict]) -> str:
    """The candidate chosen: simplest first, each richer one taken when its AIC is lower by
    :data:`AIC_MARGIN` than the one chosen so far and its backtest error is no worse."""
    chosen = candidates[0]
    for c in candidates[1:]:
        better_fit = c["aic"] < chosen["aic"] - AIC_MARGIN
        no_worse = c["mape"] is None or chosen["mape"] is None or c["mape"] <= chosen["mape"]
        if better_fit and no_worse:
            chosen = c
    return chosen["model"]


def _tenure_backtest(t: np.ndarray, d: np.ndarray, fit_until: int, models: list[str]) -> dict[str, float]:
    """Backtest error (MAPE, %) of each model: fitted on tenure cut at ``fit_until`` periods, its
    survival after the cut scored against the Kaplan–Meier curve of all the data
    (:func:`csim.forecast.backtest.backtest_tenure`). The geometric model, which is not in the
    registry, is scored on the same cut, tenures and curve."""
    from csim.forecast.backtest import backtest_tenure

    registered = [m for m in models if m != "geometric"]
    summary, per_period = backtest_tenure(t, d, fit_until=fit_until, models=registered or ["sbg"])
    out = {m: float(summary.loc[m, "mape"]) for m in registered}
    if "geometric" in models:
        scored = per_period.drop_duplicates("t")
        cut_t, cut_d = np.minimum(t, fit_until), np.where(t <= fit_until, d, False)
        geometric = _geometric().fit(durations=cut_t, events=cut_d)
        actual = scored["actual"].to_numpy(float)
        predicted = np.asarray(geometric.survival(scored["t"].to_numpy(float)), float)
        with np.errstate(divide="ignore", invalid="ignore"):
            errors = np.where(actual > 0, np.abs(predicted - actual) / actual * 100.0, np.nan)
        out["geometric"] = float(np.nanmean(errors)) if np.isfinite(errors).any() else float("nan")
    return out


def _geometric():
    """The geometric model: one churn probability per period (a discrete-time hazard with a constant baseline)."""
    from csim.forecast import DiscreteTimeHazard

    return DiscreteTimeHazard(baseline="polynomial", degree=0, grid="ignore", level=0.95)


def _hazards(survival, periods: int) -> list[float]:
    """Churn per decision 1 … ``periods`` of a survival function of decisions."""
    s = np.asarray(survival(np.arange(0, max(periods, 1) + 1, dtype=float)), float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return [float(h) for h in 1.0 - s[1:] / s[:-1]]


def fit_churn(tenures: Tenures | None, term: int, cohorts: Sequence[Sequence[float]] | None = None) -> ChurnFit:
    """Fit churn of one segment: the model that describes it best, and the one the engine follows.

    Candidates, simplest first, fitted by maximum likelihood on renewal decisions survived (or on the
    survivor counts ``cohorts``, one period = one term):

    * term contracts and survivor counts: the shifted-beta-geometric (sBG: each customer's churn
      probability per renewal constant, Beta(α, β) across customers) and, with three or more
      distinct churn periods, the beta-discrete-Weibull (BdW) of :mod:`csim.forecast.cohort`;
    * monthly plans (one decision a month): the geometric model (one monthly probability for
      everyone), the sBG on months (with two or more distinct churn months) and the discrete-time
      hazard with one hazard per month (:class:`csim.forecast.DiscreteTimeHazard`).

    A richer candidate replaces the one chosen so far when its AIC is lower by :data:`AIC_MARGIN`
    and its backtest error (:mod:`csim.forecast.backtest`: fit on the first half of the periods,
    score the rest; with three or more periods) is no worse (:func:`_choose`). The engine follows a
    geometric model or an sBG (:data:`ENGINE_MODELS`); when another model is chosen, the written one
    is the better of those two by the same rule, and the chosen one is reported beside it. The
    chosen model's survival also gives the constant probability per term with the same expected
    churn over the history (:func:`equivalent_probability`), written when the model written is
    not a non-degenerate sBG.
    """
    from csim.forecast import BetaDiscreteWeibull, ShiftedBetaGeometric
    from csim.forecast.backtest import backtest_cohorts

    fits: dict[str, Any] = {}
    notes: list[str] = []
    mapes: dict[str, float] = {}
    order = ("sbg", "bdw")
    if cohorts is not None:
        cohorts = [list(map(float, c)) for c in cohorts]
        sizes = np.array([c[0] for c in cohorts])
        exposure = np.array([len(c) - 1 for c in cohorts], float)
        customers, churns = int(sizes.sum()), int(sum(c[0] - c[-1] for c in cohorts))
        periods = int(exposure.max())
        lost_at = {int(k) for c in cohorts for k in np.flatnonzero(-np.diff(c) > 0) + 1}
        fits["sbg"] = ShiftedBetaGeometric(level=0.95).fit_survivors(survivors=cohorts)
        bdw = BetaDiscreteWeibull
        if len(lost_at) >= bdw.min_churn_tenures and periods >= bdw.min_survivor_periods:
            fits["bdw"] = BetaDiscreteWeibull(level=0.95).fit_survivors(survivors=cohorts)
        if "bdw" in fits and periods >= 3:
            try:
                summary, _ = backtest_cohorts(cohorts, fit_periods=max(1, periods // 2), models=list(fits))
                mapes = {m: float(summary.loc[m, "mape"]) for m in fits}
            except ValueError as exc:
                notes.append(f"no backtest: {exc}")
        weights = sizes
    else:
        t, d, exposure = to_periods(tenures, term)
        customers, churns, periods = len(t), int(d.sum()), int(t.max()) if len(t) else 0
        weights = None
        churn_periods = len(np.unique(t[d]))
        if term > 1:
            fits["sbg"] = ShiftedBetaGeometric(level=0.95).fit(durations=t, events=d)
            if churn_periods >= BetaDiscreteWeibull.min_churn_tenures:
                fits["bdw"] = BetaDiscreteWeibull(level=0.95).fit(durations=t, events=d)
        else:
            order = ("geometric", "sbg", "discrete_hazard")
            fits["geometric"] = _geometric().fit(durations=t, events=d)
            if churn_periods >= ShiftedBetaGeometric.min_churn_tenures:
                fits["sbg"] = ShiftedBetaGeometric(level=0.95).fit(durations=t, events=d)
                fits["discrete_hazard"] = _discrete_hazard().fit(durations=t, events=d)
        if len(fits) > 1 and periods >= 3:
            try:
                mapes = _tenure_backtest(t, d, max(1, periods // 2), list(fits))
            except ValueError as exc:
                notes.append(f"no backtest: {exc}")
    candidates = [_candidate(name, fits[name], mapes.get(name)) for name in order if name in fits]
    best = _choose(candidates)
    written = best if best in ENGINE_MODELS else _choose([c for c in candidates if c["model"] in ENGINE_MODELS])
    for c in candidates:
        c["chosen"], c["written"] = c["model"] == best, c["model"] == written
    per_term = equivalent_probability(fits[best].survival, exposure, weights)
    annual = 1.0 - (1.0 - per_term) ** (12.0 / term) if per_term < 1 else 1.0
    fitted = fits[written]
    degenerate = getattr(fitted, "degenerate_", None)
    engine = _hazards(fitted.survival, periods) if written == "sbg" and not degenerate else [per_term] * max(periods, 1)
    return ChurnFit(term=term, model=written, params=_params(written, fitted), candidates=candidates,
                    per_term=per_term, annual=annual, customers=customers, churns=churns, periods=periods,
                    degenerate=degenerate, notes=notes + list(getattr(fitted, "notes_", [])),
                    hazards=_hazards(fits[best].survival, periods), best=best, best_params=_params(best, fits[best]),
                    engine_hazards=engine)


@dataclass
class TermShape:
    """Churn by renewal number of one segment (``churn_by_term``).

    ``multipliers``: the list written, odds multipliers m_k at periods 1, 2, … (1 where a period is
    not shaped); ``periods``: the shaped periods, to which ``observed``, ``base`` and ``churns``
    belong: the segment's own first periods, under whose multipliers the written model churns
    ``observed`` (odds ratios to ``base`` for a homogeneous segment), then the periods ``borrowed``
    from the company's shape (:func:`company_shape`: its hazard, the pooled model's as ``base``);
    ``tail``: the constant per-term probability of the periods after K (None when those hold fewer
    than :data:`MIN_PERIOD_CHURNS` churns or the written model is an sBG, whose own hazard is the
    base); ``statistic``, ``p_value``, ``df``: the likelihood-ratio test of the observed hazards
    against the base (the segment's own periods; the company's when the segment has none).
    """

    multipliers: list[float]
    observed: list[float]
    base: list[float]
    churns: list[int]
    tail: float | None
    statistic: float
    p_value: float
    periods: list[int] = field(default_factory=list)
    borrowed: list[int] = field(default_factory=list)
    #: The pooled model the borrowed periods' odds ratios are to (:attr:`CompanyShape.model`).
    borrowed_model: str = ""
    #: Degrees of freedom of the test (the periods it compared).
    df: int = 0


@dataclass
class CompanyShape:
    """Churn by renewal number of all segments of one term together (:func:`company_shape`).

    ``ratios``: shaped period (1-based) → odds ratio of its churn to ``base``, the pooled written
    model's hazard there (``model``: "sbg", its cohort hazard; "geometric", one probability for
    the periods not shaped); ``hazards`` and ``churns``: the shaped periods' observed churn per
    period and churn counts; ``spikes``: the shaped periods after the first run (e.g. an annual
    renewal month).
    """

    ratios: dict[int, float]
    hazards: dict[int, float]
    churns: dict[int, int]
    base: dict[int, float]
    model: str
    spikes: list[int]
    statistic: float
    p_value: float


def company_shape(tenures: Sequence[Tenures], term: int) -> CompanyShape | None:
    """Churn by renewal number of several segments' customers together, or None.

    Segments too small to shape their own early periods still show the company's (a trial ending
    in month 3, an annual renewal month): the customers of every segment of one term are pooled and
    the periods shaped are the run from period 1 with :data:`MIN_PERIOD_CHURNS` churns each (as for
    one segment, :func:`churn_by_term`) and, after it, every *spike*: a period whose churns a
    binomial at the tail's rate would reach with probability below :data:`SPIKE_LEVEL` (with at
    least :data:`MIN_SPIKE_CHURNS` churns). The base is the written model of the pooled customers
    (:func:`fit_churn`): an sBG's cohort hazard at each period (the fall of churn with tenure that
    heterogeneity alone gives is no shape), else one probability, the churn per decision faced in
    the periods after the run that are not spikes. Each shaped period's odds ratio to the base is
    what a segment borrows (proportional odds across segments: an assumption, stated in the
    written source). None when no period is shaped or a likelihood-ratio test does not reject the
    base at :data:`SHAPE_TEST_LEVEL`.
    """
    from scipy.stats import chi2

    pooled = Tenures(months=np.concatenate([np.asarray(x.months, float) for x in tenures]),
                     churned=np.concatenate([np.asarray(x.churned, bool) for x in tenures]),
                     inclusive=all(x.inclusive for x in tenures))
    t, d, _ = to_periods(pooled, term)
    top = int(min(t.max(), SPIKE_PERIODS)) if len(t) else 0
    if top < 1:
        return None
    at_risk, churns = decision_counts(t, d, top)
    K = _first_run(churns)
    fit = fit_churn(pooled, term)
    if fit.heterogeneous:  # the pooled sBG's cohort hazard at k: α / (α + β + k − 1)
        alpha, beta = fit.params["alpha_"], fit.params["beta_"]
        base = {k: alpha / (alpha + beta + k - 1) for k in range(1, top + 1)}
        spikes = _spikes(churns, at_risk, K, base)
    else:  # one probability for the periods after the run, its spikes left out
        faced = float(np.sum(np.maximum(0.0, np.minimum(t, top) - K)))
        tail_churns = float(churns[K:].sum())
        if faced <= 0 or tail_churns <= 0:
            return None
        spikes = _spikes(churns, at_risk, K, {k: tail_churns / faced for k in range(1, top + 1)})
        tail = ((tail_churns - sum(churns[k - 1] for k in spikes))
                / max(faced - sum(at_risk[k - 1] for k in spikes), 1.0))
        base = {k: tail for k in range(1, top + 1)}
    shaped = list(range(1, K + 1)) + spikes
    if not shaped or not all(0.0 < base[k] < 1.0 for k in shaped):
        return None
    hazards = {k: float(churns[k - 1] / at_risk[k - 1]) for k in shaped}
    statistic = _hazard_deviance([churns[k - 1] for k in shaped], [at_risk[k - 1] for k in shaped],
                                 [hazards[k] for k in shaped], [base[k] for k in shaped])
    p_value = float(chi2.sf(statistic, len(shaped)))
    if p_value >= SHAPE_TEST_LEVEL:
        return None
    return CompanyShape({k: _odds_ratio(hazards[k], base[k]) for k in shaped}, hazards,
                        {k: int(churns[k - 1]) for k in shaped}, {k: float(base[k]) for k in shaped},
                        "sbg" if fit.heterogeneous else "geometric", spikes, float(statistic), p_value)


def _hazard_deviance(churns, at_risk, observed, base) -> float:
    """Likelihood-ratio statistic of per-period binomial churn: ``observed`` hazards (churns over
    customers at risk) against ``base`` hazards, summed over the periods."""
    statistic = 0.0
    for e, n, h, g in zip(churns, at_risk, observed, base):
        statistic += 2.0 * (e * math.log(h / g) + ((n - e) * math.log((1.0 - h) / (1.0 - g)) if h < 1.0 else 0.0))
    return statistic


def _spikes(churns: np.ndarray, at_risk: np.ndarray, after: int, base: dict[int, float]) -> list[int]:
    """Periods after ``after`` whose churns a binomial at ``base`` reaches with probability below
    :data:`SPIKE_LEVEL` (and at least :data:`MIN_SPIKE_CHURNS` churns)."""
    from scipy.stats import binom

    return [k for k in range(after + 1, len(churns) + 1) if churns[k - 1] >= MIN_SPIKE_CHURNS
            and binom.sf(churns[k - 1] - 1, at_risk[k - 1], base[k]) < SPIKE_LEVEL]


def churn_by_term(tenures: Tenures, fit: ChurnFit, company: CompanyShape | None = None) -> TermShape | None:
    """Multipliers of the odds of not renewing by renewal number, or None.

    The segment's own first periods (:func:`_own_shape`), then every period of the company's shape
    (:func:`company_shape`, customers of all segments of the term pooled) after them, at the
    company's odds ratio to its tail; periods in between get 1. None when neither has one.
    """
    own = _own_shape(tenures, fit)
    K = len(own.multipliers) if own is not None else 0
    borrowed = sorted(k for k in (company.ratios if company is not None else {}) if k > K)
    if not borrowed:
        return own
    multipliers = (list(own.multipliers) if own is not None else []) + [1.0] * (borrowed[-1] - K)
    for k in borrowed:
        multipliers[k - 1] = company.ratios[k]
    if own is None:
        own = TermShape([], [], [], [], None, company.statistic, company.p_value, df=len(company.ratios))
    return replace(own, multipliers=multipliers, periods=own.periods + borrowed, borrowed=borrowed,
                   borrowed_model=company.model,
                   observed=own.observed + [company.hazards[k] for k in borrowed],
                   base=own.base + [company.base[k] for k in borrowed],
                   churns=own.churns + [company.churns[k] for k in borrowed])


def _own_shape(tenures: Tenures, fit: ChurnFit) -> TermShape | None:
    """The segment's own multipliers of the odds of not renewing at its first renewal decisions, or None.

    Rule: the periods shaped are 1 … K, K the longest run from period 1 of periods with at least
    :data:`MIN_PERIOD_CHURNS` churns each, at most :data:`MAX_SHAPED_PERIODS`. The observed hazard
    of period k is the Kaplan–Meier one, churns at k over customers at risk at k (survived k − 1
    decisions). The base hazard is the written model's: an sBG's cohort hazard at k, else one
    probability for every period, the churns over the decisions faced after period K (when those
    hold enough churns; else the fit's constant per-term probability). For one probability for
    every account m_k = odds(observed_k) / odds(base_k); for an sBG the m_k under which the cohort
    of Beta(α, β) propensities churns observed_k at each k (:func:`heterogeneous_multipliers`: the
    odds ratio of the cohort hazards would fall short of a hump). Written only when a
    likelihood-ratio test rejects the base at :data:`SHAPE_TEST_LEVEL`: churn that does not change
    with tenure gets no multipliers.
    """
    from scipy.stats import chi2

    t, d, _ = to_periods(tenures, fit.term)
    risk_k, churns_k = decision_counts(t, d, MAX_SHAPED_PERIODS)
    K = _first_run(churns_k)
    churns, at_risk = [int(c) for c in churns_k[:K]], [int(n) for n in risk_k[:K]]
    if K == 0:
        return None
    tail = None
    if fit.heterogeneous:
        base = [float(h) for h in fit.engine_hazards[:K]]
    else:
        tail_churns = int(np.sum(d & (t > K)))
        faced = float(np.sum(np.maximum(0.0, t - K)))
        if tail_churns >= MIN_PERIOD_CHURNS and faced > 0:
            tail = tail_churns / faced
        base = [tail if tail is not None else fit.per_term] * K
    if len(base) < K or not all(0.0 < b < 1.0 for b in base):
        return None
    observed = [e / n for e, n in zip(churns, at_risk)]
    statistic = _hazard_deviance(churns, at_risk, observed, base)
    p_value = float(chi2.sf(statistic, K))
    if p_value >= SHAPE_TEST_LEVEL:
        return None
    if fit.heterogeneous:
        multipliers = heterogeneous_multipliers(observed, fit.params["alpha_"], fit.params["beta_"])
    else:
        multipliers = [_odds_ratio(h, g) for h, g in zip(observed, base)]
    return TermShape(multipliers, observed, base, churns, tail, statistic, p_value, periods=list(range(1, K + 1)), df=K)


#: churn_by_term multipliers are kept within the scenario schema's bounds (segments[].churn_by_term).
MULTIPLIER_BOUNDS = (1e-3, 1e3)
#: Beta quantiles on which :func:`heterogeneous_multipliers` integrates over the accounts' propensities.
PROPENSITY_NODES = 4000


def _odds_ratio(h: float, g: float) -> float:
    """odds(h) / odds(g) within :data:`MULTIPLIER_BOUNDS`."""
    low, high = MULTIPLIER_BOUNDS
    return min(high, max(low, (h / (1.0 - h)) / (g / (1.0 - g)) if h < 1.0 else high))


def heterogeneous_multipliers(hazards: Sequence[float], alpha: float, beta: float) -> list[float]:
    """Odds multipliers m_1 … m_K under which a cohort of Beta(α, β) propensities churns ``hazards``.

    The engine gives account i, of per-period churn p_i ~ Beta(α, β) when new, the probability
    f(p_i, m_k) = m_k·p_i / (1 − p_i + m_k·p_i) of not renewing at decision k (its odds times m_k).
    The cohort's churn at k is the mean of f over the accounts still there, whose propensities the
    earlier decisions have thinned: density ∝ Beta(p; α, β)·Π_{j<k} (1 − f(p, m_j)). Multiplying the
    cohort hazard's odds instead (as for a homogeneous segment) misses this twice: the mean of f is
    below f of the mean where m > 1 (f is concave in p), and a hump of early churn removes the
    accounts likeliest to churn, lowering the hazard after it. So each m_k is solved in turn, given
    m_1 … m_(k−1), by root finding on the survivors' mean of f, integrated on
    :data:`PROPENSITY_NODES` Beta quantiles (equal weights). Exact for the engine at reference
    health; health effects and CS touches on top are what the simulation-based adjustment moves.
    """
    from scipy.optimize import brentq
    from scipy.stats import beta as beta_dist

    p = beta_dist.ppf((np.arange(PROPENSITY_NODES) + 0.5) / PROPENSITY_NODES, alpha, beta)
    p = np.clip(p, 1e-12, 1.0 - 1e-12)
    weight = np.full(len(p), 1.0 / len(p))  # survivors' share of the cohort, by propensity node
    low, high = MULTIPLIER_BOUNDS

    def churn(m: float) -> np.ndarray:
        return m * p / (1.0 - p + m * p)

    out = []
    for h in hazards:
        alive = weight / weight.sum()

        def gap(log_m: float) -> float:
            return float(alive @ churn(math.exp(log_m))) - h

        lo, hi = math.log(low), math.log(high)
        if gap(lo) >= 0.0:
            log_m = lo
        elif gap(hi) <= 0.0:
            log_m = hi
        else:
            log_m = brentq(gap, lo, hi, xtol=1e-12)
        m = math.exp(log_m)
        out.append(m)
        weight = weight * (1.0 - churn(m))
    return out


def _discrete_hazard():
    from csim.forecast import DiscreteTimeHazard

    return DiscreteTimeHazard(grid="ignore", level=0.95)


def _params(name: str, fitted) -> dict:
    """The parameters of a fitted churn model as reported (α, β, c; q; the number of hazards)."""
    if name in ("sbg", "bdw"):
        return {p: float(getattr(fitted, p)) for p in fitted._names}
    if name == "geometric":
        return {"q": float(1.0 - fitted.survival(np.array([1.0]))[0])}
    return {"periods": int(fitted.n_baseline_)}


def churn_estimate(tenures: Tenures | None, term: int, base_annual: float, what: str = "customers",
                   cohorts=None, company: CompanyShape | None = None
                   ) -> tuple[Estimate, Estimate | None, ChurnFit | None]:
    """``annual_churn`` and ``churn_concentration`` of one segment (the base's churn with the reason
    when the data are too few).

    A non-degenerate sBG is given to the engine as it is, for term contracts and monthly plans
    alike: ``churn_concentration`` = α + β and ``annual_churn`` from the mean α/(α + β) per term,
    1 − (1 − α/(α + β))^(12/term), so that each account draws its own per-term churn from Beta(α, β)
    (Beta(α, β + k) after k renewals) and the cohort's retention rises with tenure as fitted. Any
    other model becomes one constant per-term probability with the same expected churn over the
    history (:func:`equivalent_probability`), and no concentration.
    """
    if cohorts is None:
        n, churns = len(tenures), int(np.sum(tenures.churned))
        if n < MIN_CUSTOMERS or churns < MIN_CHURNS:
            return from_base(base_annual, f"{n} {what} with {churns} churn{'s' if churns != 1 else ''}: too few to "
                                          "fit churn"), None, None
    fit = fit_churn(tenures, term, cohorts=cohorts)
    annual, concentration = fit.annual, None
    shape = churn_by_term(tenures, fit, company) if cohorts is None else None
    fit.shape = shape
    if fit.heterogeneous:
        alpha, beta = fit.params["alpha_"], fit.params["beta_"]
        annual = 1.0 - (1.0 - alpha / (alpha + beta)) ** (12.0 / term)
        unit = "term" if term > 1 else "month"
        concentration = Estimate(alpha + beta, f"fitted: sBG α + β = {alpha + beta:.4g}; each account's per-{unit} "
                                               "churn at reference health is drawn from Beta(α, β) when new and "
                                               f"Beta(α, β + k) after k {'renewals' if term > 1 else 'months'}",
                                 details={"alpha": alpha, "beta": beta})
    details = {"model": fit.model, "params": fit.params, "best_model": fit.best, "best_params": fit.best_params,
               "candidates": fit.candidates, "per_term": fit.per_term, "term_months": fit.term,
               "customers": fit.customers, "churns": fit.churns, "periods": fit.periods,
               "equivalent_constant_annual_churn": fit.annual, "direct_annual_churn": annual, "notes": fit.notes}
    sentence = fit.sentence()
    if shape is not None and shape.tail is not None:
        # The constant probability now describes the periods after the shaped ones only.
        annual = 1.0 - (1.0 - shape.tail) ** (12.0 / term)
        details["direct_annual_churn"] = annual
        sentence += (f"; with churn_by_term on the first {len(shape.multipliers)} "
                     f"{'terms' if term > 1 else 'months'}, the churn per {'term' if term > 1 else 'month'} "
                     f"after them: {shape.tail:.4g}")
    return Estimate(annual, sentence, details=details), concentration, fit


def _periods(ks: Sequence[int], unit: str) -> str:
    """Periods 1, 2, 3, 4, 12 in ``unit``s as 'months 1–4, 12' (one: 'month 12')."""
    runs, out = [], []
    for k in ks:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    for r in runs:
        out.append(f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}")
    return f"{unit}{'s' if len(ks) > 1 else ''} {', '.join(out)}"


def by_term_estimate(fit: ChurnFit | None) -> Estimate | None:
    """``churn_by_term`` of one segment from its churn fit (:func:`churn_by_term`), or None."""
    shape = getattr(fit, "shape", None) if fit is not None else None
    if shape is None:
        return None
    unit = "term" if fit.term > 1 else "month"
    if fit.heterogeneous:
        how = ("odds multipliers under which the written sBG's accounts (each its own propensity, thinned by the "
               f"{unit}s before) churn what was observed per {unit}")
        model = "the sBG's cohort hazard"
    else:
        how = f"odds ratios of the observed churn per {unit} to one churn probability for every {unit}"
        model = "that probability"
    own = [k for k in shape.periods if k not in shape.borrowed]
    parts = []
    if own:
        parts.append(f"{how} (Kaplan–Meier hazard, ≥ {MIN_PERIOD_CHURNS} churns each) at {_periods(own, unit)}: "
                     f"observed {', '.join(f'{h:.3g}' for h in shape.observed[:len(own)])} against {model} "
                     f"{', '.join(f'{g:.3g}' for g in shape.base[:len(own)])}")
    if shape.borrowed:
        pooled = (f"their sBG's cohort hazard ({', '.join(f'{g:.3g}' for g in shape.base[len(own):])})"
                  if shape.borrowed_model == "sbg" else
                  f"their churn in the other {unit}s after the first ({shape.base[-1]:.3g})")
        parts.append(f"at {_periods(shape.borrowed, unit)} the odds ratios of the churn of all segments' customers "
                     f"of this term together to {pooled}: observed "
                     f"{', '.join(f'{h:.3g}' for h in shape.observed[len(own):])} (assumption: the segments "
                     "share the company's shape by tenure, proportional odds)")
    rest = f"; 1 at the other {unit}s" if len(shape.periods) < len(shape.multipliers) else ""
    source = (f"fitted: {'; '.join(parts)}{rest} (likelihood ratio {shape.statistic:.1f} on {shape.df} df, "
              f"p = {shape.p_value:.2g})")
    return Estimate([float(f"{m:.4g}") for m in shape.multipliers], source,
                    details={"periods": shape.periods, "borrowed": shape.borrowed, "observed": shape.observed,
                             "base": shape.base, "churns": shape.churns, "tail": shape.tail,
                             "statistic": shape.statistic, "p_value": shape.p_value})


# ------------------------------------------------------------------------------------------ MRR


def fit_mrr(amounts: np.ndarray, base_median: float, base_sigma: float) -> tuple[Estimate, Estimate]:
    """``mrr_median`` and ``mrr_sigma``: log-normal maximum likelihood on first monthly amounts.

    μ̂ = mean of log amounts, σ̂ = their standard deviation (divisor n, the MLE); the median is
    e^μ̂ with standard error σ̂/√n on the log scale. Amounts of 0 are left out (not a payment).
    """
    x = np.asarray(amounts, float)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) < 2:
        reason = f"{len(x)} positive first amount{'s' if len(x) != 1 else ''}: too few for a log-normal fit"
        return from_base(base_median, reason), from_base(base_sigma, reason)
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    se = sigma / math.sqrt(len(x))
    details = {"customers": len(x), "log_mean": mu, "log_mean_se": se, "log_sd": sigma}
    median = Estimate(math.exp(mu), f"fitted: log-normal MLE of the first monthly amount of {len(x)} customers "
                                    f"(median {math.exp(mu):,.4g}, standard error of the log-median {se:.3g})",
                      details=details)
    spread = Estimate(sigma, f"fitted: log-normal MLE, standard deviation of the log first amounts of {len(x)} "
                             "customers", details=details)
    return median, spread


# ------------------------------------------------------------------------------------------ MRR movements


@dataclass
class Movements:
    """The MRR changes of one segment's paying customers and their exposure (all replications pooled).

    Fractions are of the MRR before the change. ``at_renewal``: the change falls on a renewal date
    (a whole number of terms after the start or the return); only for terms of 2+ months.
    """

    rises: np.ndarray
    falls: np.ndarray
    rises_at_renewal: np.ndarray
    falls_at_renewal: np.ndarray
    account_years: float
    replications: int


def movements(records: Records, code: int, term: int, account_years: float) -> Movements:
    """The expansion and contraction events of segment ``code`` (see :class:`Movements`).

    ``account_years``: paying account-years of the segment (month-end customers of
    :func:`csim.metrics.monthly` summed, divided by 12).
    """
    ev = records.events
    mine = ev["segment"] == code
    frame = pd.DataFrame({"replication": ev["replication"][mine], "account": ev["account"][mine],
                          "time": ev["time"][mine], "kind": ev["kind"][mine],
                          "before": ev["mrr_before"][mine].astype(float), "after": ev["mrr_after"][mine].astype(float)})
    changes = frame[frame["kind"].isin([_EXPANSION, _CONTRACTION])].sort_values("time", kind="stable")
    anchors = frame[frame["kind"].isin([_START, _REACTIVATION])][["replication", "account", "time"]]
    anchors = anchors.rename(columns={"time": "anchor"}).sort_values("anchor", kind="stable")
    reps = int(len(np.unique(records.accounts["replication"]))) or 1
    if changes.empty:
        empty = np.empty(0)
        return Movements(empty, empty, empty, empty, account_years, reps)
    # The renewal clock restarts at the first payment and at every return.
    joined = pd.merge_asof(changes, anchors, left_on="time", right_on="anchor", by=["replication", "account"],
                           direction="backward")
    months = (joined["time"] - joined["anchor"]).to_numpy(float) / MONTH_DAYS
    if term > 1:
        k = np.round(months / term)
        at_renewal = (k >= 1) & (np.abs(months - k * term) <= TOLERANCE_MONTHS)
    else:
        at_renewal = np.zeros(len(months), bool)
    ratio = (joined["after"] / joined["before"]).to_numpy(float)
    rise = ratio > 1
    return Movements(rises=ratio[rise & ~at_renewal] - 1.0, falls=1.0 - ratio[~rise & ~at_renewal],
                     rises_at_renewal=ratio[rise & at_renewal] - 1.0, falls_at_renewal=ratio[~rise & at_renewal],
                     account_years=account_years, replications=reps)


def price_uplift(moves: Movements, term: int, base_uplift: float) -> Estimate:
    """``price_uplift``: the median rise of MRR on renewal dates (terms of 12+ months; the engine
    reprices no shorter term). No rise on any of the renewals passed: 0."""
    if term < 12:
        return from_base(base_uplift, "the engine reprices only terms of 12 months or more")
    n = len(moves.rises_at_renewal)
    renewals = moves.account_years * 12.0 / term
    if n >= MIN_SIZE_EVENTS:
        value = float(np.median(moves.rises_at_renewal))
        return Estimate(value, f"fitted: median MRR rise on {n} renewal dates", details={"events": n})
    if renewals >= 10 and n == 0:
        return Estimate(0.0, f"fitted: no MRR rise on renewal dates over about {renewals:.0f} renewals",
                        details={"events": 0})
    return from_base(base_uplift, f"{n} repricing{'s' if n != 1 else ''} on renewal dates: too few to fit")


def expansion_estimates(moves: Movements, base_rate: float, base_size: float) -> tuple[Estimate, Estimate]:
    """``expansion_rate`` (rises off renewal dates per paying account-year, the Poisson MLE) and
    ``expansion_size`` (their mean fractional size; unbiased for the engine's log-normal, whose
    mean is the size, so no correction)."""
    n, years = len(moves.rises), moves.account_years
    if years < 1.0:
        return (from_base(base_rate, f"{years:.2g} paying account-years: too little exposure"),
                from_base(base_size, f"{years:.2g} paying account-years: too little exposure"))
    rate = Estimate(n / years, f"fitted: {n} MRR rises off renewal dates in {years:,.1f} paying account-years "
                               "(Poisson MLE)", details={"events": n, "account_years": years})
    if n < MIN_SIZE_EVENTS:
        return rate, from_base(base_size, f"{n} expansion{'s' if n != 1 else ''}: too few for a mean size")
    size = Estimate(float(np.mean(moves.rises)), f"fitted: mean fractional MRR rise of {n} expansions",
                    details={"events": n})
    return rate, size


def contraction_estimates(moves: Movements, term: int, uplift: float, base_rate: float,
                          base_size: float, renewals: float | None = None) -> tuple[Estimate, Estimate]:
    """``contraction_rate`` and ``contraction_size`` from the MRR falls short of zero.

    Monthly plans contract at once: rate = falls per paying account-year (Poisson MLE), size = their
    mean fractional fall. A term contract contracts at its next renewal, where one or more
    downgrade decisions of the term show as one fall of (1 + uplift)·(1 − size): the share φ of
    the ``renewals`` passed (first subscriptions; default paying account-years × 12/term) with a
    fall gives rate = −ln(1 − φ)·12/term (Poisson decisions in a term), size = 1 − ratio/(1 + uplift).
    """
    years = moves.account_years
    if years < 1.0:
        return (from_base(base_rate, f"{years:.2g} paying account-years: too little exposure"),
                from_base(base_size, f"{years:.2g} paying account-years: too little exposure"))
    at_renewal = 1.0 - moves.falls_at_renewal / (1.0 + uplift) if len(moves.falls_at_renewal) else np.empty(0)
    sizes = np.clip(np.concatenate([moves.falls, at_renewal]), 0.0, 1.0)
    n = len(sizes)
    if term > 1:
        renewals = years * 12.0 / term if renewals is None else renewals
        share = min(len(moves.falls_at_renewal) / renewals, 0.99) if renewals > 0 else 0.0
        value = -math.log1p(-share) * 12.0 / term + len(moves.falls) / years
        rate = Estimate(value, f"fitted: {len(moves.falls_at_renewal)} downgrades on about {renewals:,.0f} renewal "
                               f"dates (share {share:.3g}; rate −ln(1 − share)·12/{term}) and {len(moves.falls)} "
                               f"falls between them, in {years:,.1f} paying account-years",
                        details={"events": n, "account_years": years, "renewals": renewals})
    else:
        rate = Estimate(n / years, f"fitted: {n} MRR falls short of zero in {years:,.1f} paying account-years "
                                   "(Poisson MLE)", details={"events": n, "account_years": years})
    if n < MIN_SIZE_EVENTS:
        return rate, from_base(base_size, f"{n} contraction{'s' if n != 1 else ''}: too few for a mean size")
    return rate, Estimate(float(np.mean(sizes)), f"fitted: mean fractional MRR fall of {n} contractions"
                                                 + (" (renewal falls net of the price uplift)" if term > 1 else ""),
                          details={"events": n})


# ------------------------------------------------------------------------------------------ new customers


@dataclass
class Trend:
    """Expected new customers per month by segment at month 0 of the history, and the growth rate.

    ``intercepts[segment]``: new customers per month at month 0 (per replication); ``slope``:
    growth per month on the log scale, fitted (``fitted``) or given; ``se``: its standard error.
    """

    intercepts: dict[str, float]
    slope: float
    se: float
    fitted: bool
    totals: dict[str, float]
    months: int


def new_customer_trend(counts: pd.DataFrame, slope: float | None = None) -> Trend:
    """Poisson log-linear trend of monthly new customers (statsmodels GLM).

    ``counts``: rows (segment, replication, month, new_customers). Model: new customers of segment
    s in month m ~ Poisson(exp(a_s + b·m)), one growth b shared by the segments (the engine has
    one ``lead_growth_annual``). With ``slope`` given, b is held at it and only the a_s are fitted.
    ``totals``: new customers per replication by segment.
    """
    import statsmodels.api as sm

    segments = sorted(counts["segment"].unique())
    reps = max(1, counts["replication"].nunique())
    design = pd.get_dummies(counts["segment"]).reindex(columns=segments, fill_value=False).to_numpy(float)
    month = counts["month"].to_numpy(float)
    y = counts["new_customers"].to_numpy(float)
    totals = {s: float(y[counts["segment"].to_numpy() == s].sum()) / reps for s in segments}
    months = int(month.max()) + 1 if len(month) else 0
    # A segment without new customers has intercept −∞; it enters with zero new customers.
    present = [i for i, s in enumerate(segments) if totals[s] > 0]
    if not present:
        return Trend({s: 0.0 for s in segments}, slope or 0.0, float("nan"), False, totals, months)
    rows = design[:, present].sum(axis=1) > 0
    X, y, month = design[rows][:, present], y[rows], month[rows]
    if slope is None:
        result = sm.GLM(y, np.column_stack([X, month]), family=sm.families.Poisson()).fit()
        a, b, se = result.params[:-1], float(result.params[-1]), float(result.bse[-1])
    else:
        result = sm.GLM(y, X, family=sm.families.Poisson(), offset=slope * month).fit()
        a, b, se = result.params, float(slope), float("nan")
    intercepts = {s: 0.0 for s in segments}
    for j, i in enumerate(present):
        intercepts[segments[i]] = float(math.exp(a[j]))
    return Trend(intercepts, b, se, slope is None, totals, months)


# ------------------------------------------------------------------------------------------ reactivation


def reactivation_data(records: Records) -> tuple[np.ndarray, np.ndarray]:
    """Days from the first churn to the return of the customers who came back, and days from the
    first churn to the end of the history of those who did not (censored)."""
    acc, ev = records.accounts, records.events
    churned = acc["churned"].astype(bool)
    keys = pd.DataFrame({"replication": acc["replication"][churned], "account": acc["account"][churned],
                         "churn": acc["end"][churned]})
    back = ev["kind"] == _REACTIVATION
    returns = pd.DataFrame({"replication": ev["replication"][back], "account": ev["account"][back],
                            "back": ev["time"][back]})
    merged = keys.merge(returns, on=["replication", "account"], how="left")
    merged = merged[merged["back"].isna() | (merged["back"] > merged["churn"])]
    first = merged.groupby(["replication", "account"], sort=False).agg(churn=("churn", "first"), back=("back", "min"))
    returned = first["back"].notna().to_numpy()
    waits = (first["back"] - first["churn"]).to_numpy(float)[returned]
    censored = (records.horizon_days - first["churn"]).to_numpy(float)[~returned]
    return waits, censored


def fit_reactivation(waits: np.ndarray, censored: np.ndarray, base_prob: tuple[float, float],
                     base_days: float) -> tuple[Estimate, Estimate, Estimate]:
    """``prob_voluntary``, ``prob_involuntary`` and ``mean_days`` of reactivation.

    Mixture ("cure") model fitted by maximum likelihood: a churned customer comes back with
    probability p, after an exponential wait of mean μ days; one who has not come back by the end of
    the history contributes 1 − p + p·e^(−w/μ), w its days since the churn. A ledger does not say
    whether a churn was voluntary, so both probabilities get p. Needs 10 churns. p and μ are fitted
    together from 3 returns on, when the fitted μ is within the longest time a churned customer was
    watched; otherwise (few returns, or a wait longer than anything observed, where only the product
    of p and the share back so far is identified and p runs to 1) μ is the base's and only p is fitted.
    """
    from scipy.optimize import minimize, minimize_scalar
    from scipy.special import expit

    n_back, n_churn = len(waits), len(waits) + len(censored)
    if n_churn < 10:
        reason = f"{n_churn} churned customer{'s' if n_churn != 1 else ''}: too few to fit reactivation"
        return from_base(base_prob[0], reason), from_base(base_prob[1], reason), from_base(base_days, reason)

    def negative_loglik(logit_p: float, log_mean: float) -> float:
        p, lam = expit(logit_p), math.exp(-log_mean)
        # log(1 − p + p·e^(−λw)) = log1p(−p·(1 − e^(−λw))), without cancellation.
        stay = np.log1p(p * np.expm1(-lam * censored)) if len(censored) else 0.0
        return -(n_back * math.log(p) + np.sum(math.log(lam) - lam * waits) + np.sum(stay))

    watched = float(max(np.max(waits, initial=0.0), np.max(censored, initial=0.0)))
    p, mean_days, why = 0.0, None, f"{n_back} returns: too few for the mean wait"
    if n_back >= 3:
        start = np.array([math.log(n_back / max(n_churn - n_back, 0.5)), math.log(max(float(np.mean(waits)), 1.0))])
        result = minimize(lambda x: negative_loglik(x[0], x[1]), start, method="Nelder-Mead",
                          options={"xatol": 1e-8, "fatol": 1e-10})
        p, mean_days = float(expit(result.x[0])), float(math.exp(result.x[1]))
        if mean_days > watched:
            why = (f"the fitted mean wait ({mean_days:,.0f} days) is longer than any churned customer was watched "
                   f"({watched:,.0f} days): not identified")
            mean_days = None
    if n_back and mean_days is None:
        fixed = math.log(base_days)
        result = minimize_scalar(lambda x: negative_loglik(x, fixed), bounds=(-20.0, 20.0), method="bounded",
                                 options={"xatol": 1e-9})
        p = float(expit(result.x))
    details = {"churned": n_churn, "returned": n_back}
    given = "" if mean_days is not None or not n_back else f", with the base's mean wait of {base_days:g} days"
    text = (f"fitted: mixture model, {n_back} of {n_churn} churned customers came back (share p = {p:.3g} allowing for "
            f"those not yet back{given}); a ledger does not tell voluntary from involuntary churn, so both get p")
    prob = Estimate(p, text, details=details)
    if mean_days is None:
        days = from_base(base_days, why if n_back else "no churned customer came back")
    else:
        days = Estimate(mean_days, f"fitted: mixture model, mean exponential wait of the {n_back} returns allowing "
                                   "for those not yet back", details=details)
    return prob, Estimate(p, text, details=details), days
