"""One replication: the SimPy environment, the accounts, the pipeline, the CS team, the records."""

from __future__ import annotations

import contextlib
import gc
import math
from typing import Callable, Iterator

import numpy as np
import simpy
from scipy.special import betaincinv

from csim.engine import streams as S
from csim.engine.account import T_CONTRACTION, T_EXPANSION, T_REFERRAL, Account
from csim.engine.cs_team import CSTeam
from csim.engine.parameters import resolve
from csim.engine.pipeline import draw_marketing_leads
from csim.engine.policy import Policy
from csim.engine.staffing import Staffing
from csim.engine.recorder import EventLog, TouchLog
from csim.errors import LimitError
from csim.records import ACCOUNT_COLUMNS, CHANNELS, EVENT_COLUMNS, LEAD_COLUMNS, LEAD_OUTCOMES, MONTH_DAYS, \
    STAFFING_COLUMNS, TOUCH_COLUMNS, Records
from csim.scenario.model import Play, Scenario, Segment, per_term_churn
from csim.strategy import logit

INITIAL, MARKETING, REFERRAL = (CHANNELS.index(c) for c in ("initial", "marketing", "referral"))
WON, NOT_CONVERTED, WORD_OF_MOUTH, OPEN = (LEAD_OUTCOMES.index(c) for c in ("won", "not_converted", "word_of_mouth", "open"))
#: Account ids: the source in the high bits, the index within the source below, so that an
#: account keeps its id across strategies (initial book and marketing leads are CS-independent).
ID_STRIDE = 1 << 40


class SegmentParams:
    """A segment's parameters in the units the hot path wants (per day, log-odds, days)."""

    __slots__ = ("mrr_median", "mrr_sigma", "term_days", "notice_days", "has_renewal_events", "uplift",
                 "churn_logit", "churn_shift", "churn_beta_law", "expansion_per_day", "expansion_size", "contraction_per_day", "contraction_size",
                 "payment_failure_per_day", "referral_per_day", "health_clocks")

    def __init__(self, seg: Segment, scenario: Scenario):
        self.mrr_median, self.mrr_sigma = seg.mrr_median, seg.mrr_sigma
        self.term_days = seg.term_months * MONTH_DAYS
        self.notice_days = min(scenario.renewal.notice_days, 0.25 * self.term_days)
        # Monthly plans renew silently every month; longer terms emit renewal events.
        self.has_renewal_events = seg.term_months > 1
        self.uplift = seg.price_uplift if seg.term_months >= 12 else 0.0
        mean = per_term_churn(seg.annual_churn, seg.term_months)
        self.churn_logit = logit(mean)
        # Log-odds added at the k-th renewal decision of a life (churn_by_term, log of the odds
        # multipliers); empty when churn does not depend on the renewal number.
        self.churn_shift = tuple(math.log(m) for m in seg.churn_by_term or ())
        # Heterogeneous churn propensity (sBG): per-term probability ~ Beta(alpha, beta) with the
        # segment's mean; None when every account has the segment's probability.
        self.churn_beta_law = None
        if seg.churn_concentration is not None and 0.0 < mean < 1.0:
            self.churn_beta_law = (mean * seg.churn_concentration, (1.0 - mean) * seg.churn_concentration)
        self.expansion_per_day = seg.expansion_rate / 365.25
        self.expansion_size = seg.expansion_size
        self.contraction_per_day = seg.contraction_rate / 365.25
        self.contraction_size = seg.contraction_size
        self.payment_failure_per_day = seg.payment_failure_rate / 365.25
        self.referral_per_day = seg.referral_rate / 365.25
        # (clock slot, base rate per day, log-rate per unit of health above reference) of the
        # clocks health drives; clocks with a zero base rate never fire and are left out.
        h = scenario.health
        self.health_clocks = tuple((slot, base, beta) for slot, base, beta in (
            (T_EXPANSION, self.expansion_per_day, h.expansion_effect),
            (T_CONTRACTION, self.contraction_per_day, -h.contraction_effect),
            (T_REFERRAL, self.referral_per_day, h.referral_effect)) if base > 0.0)


class World:
    """Everything one replication needs; :meth:`run` returns its :class:`Records`."""

    #: Log-normal sigma of one expansion's size (fixed; the mean is the segment's expansion_size).
    expansion_sigma = 0.5

    def __init__(self, scenario: Scenario, replication: int, seed: int | None = None):
        self.replication = replication
        self.seed = scenario.seed if seed is None else seed
        # Uncertain parameters take this replication's draw; the rest of the engine sees numbers.
        self.scenario = scenario = resolve(scenario, self.seed, replication)
        self.env = simpy.Environment()
        self.horizon_days = scenario.horizon_days
        self.segments = [SegmentParams(s, scenario) for s in scenario.segments]
        self.onboarding_days = scenario.onboarding.window_days
        self.renewal_window_days = scenario.renewal.window_days
        self.reviews_per_day = scenario.health.reviews_per_year / 365.25
        # Health parameters as plain floats: the hot path reads them at every health move.
        h = scenario.health
        self.health_reference, self.churn_effect = h.reference, h.churn_effect
        self.reversion, self.shock_sd = h.reversion, h.shock_sd
        self.target_ceiling = h.target_ceiling
        plays = scenario.strategy.plays
        self.request_plays: list[tuple[int, Play]] = [(i, p) for i, p in enumerate(plays) if p.trigger == "request"]
        self.has_window_plays = any(p.trigger == "renewal_window" for p in plays)
        self._segment_codes = {s.name: i for i, s in enumerate(scenario.segments)}
        self._play_segments = [frozenset(self._segment_codes[n] for n in p.segments) for p in plays]
        self.events = EventLog()
        self.touches = TouchLog()
        self.accounts: list[Account] = []
        self.policy = Policy(self)
        self.staffing = Staffing(self)
        self.cs_team = CSTeam(self)
        self._detractors = 0.0
        self._detractors_at = 0.0
        self._dice = {src: S.DiceSource(self.seed, replication, src) for src in (INITIAL, MARKETING, REFERRAL)}
        self._referral_rng = S.stream(self.seed, replication, S.REFERRAL_LEADS)
        self._referrals = {name: [] for name in ("segment", "icp_fit", "arrived", "closed", "outcome", "account", "cost")}
        self.marketing = draw_marketing_leads(scenario, S.stream(self.seed, replication, S.MARKETING_LEADS))
        self._marketing_outcome = np.where(self.marketing.converts, WON, NOT_CONVERTED).astype(np.int8)
        self._marketing_outcome[self.marketing.closed >= self.horizon_days] = OPEN
        self._marketing_account = np.full(len(self.marketing), -1, dtype=np.int64)

    # ------------------------------------------------------------------ shared helpers
    def play_applies(self, play_index: int, segment: int) -> bool:
        """Whether play ``play_index`` is for accounts of this segment (no segments listed = all)."""
        allowed = self._play_segments[play_index]
        return not allowed or segment in allowed

    def add_detractor(self, now: float) -> None:
        """An unhappy account churned: bad word of mouth, decaying with detractor_memory_days."""
        self._detractors = self._detractor_level(now) + 1.0
        self._detractors_at = now

    def _detractor_level(self, now: float) -> float:
        tau = self.scenario.referral.detractor_memory_days
        return self._detractors * math.exp(-(now - self._detractors_at) / tau)

    def _open_account(self, account_id: int, segment: int, channel: int, icp_fit: bool, start: float,
                      dice: S.Dice, opening: bool, mrr_cents: int | None = None,
                      terms_survived: int | None = None) -> Account:
        if len(self.accounts) >= self.scenario.max_accounts:
            raise LimitError("max_accounts", f"replication {self.replication} passed {self.scenario.max_accounts:,} accounts "
                             f"at day {self.env.now:.0f}; if referrals drive the growth, lower segments[].referral_rate "
                             "or referral.conversion, or raise max_accounts")
        acct = Account(self, len(self.accounts), account_id, segment, channel, icp_fit, start, dice, mrr_cents)
        law = acct.seg.churn_beta_law
        if law is not None:
            acct.churn_logit = self._propensity_logit(law, dice, start, acct.seg.term_days, terms_survived)
        self.accounts.append(acct)
        acct.activate(self.env.now, opening)
        return acct

    def _propensity_logit(self, law: tuple[float, float], dice: S.Dice, start: float, term_days: float,
                          terms_survived: int | None) -> float:
        """Log-odds of the account's own per-term churn probability at reference health.

        Drawn from Beta(alpha, beta + k) by inversion of the account's propensity uniform, k being
        the renewals it has already made (0 for a new account): the survivors of k terms of an sBG
        population have exactly that law, so an initial book keeps the shape of retention by tenure.
        """
        if terms_survived is None:
            terms_survived = max(0, math.floor(-start / term_days)) if start < 0 else 0
        u = dice.propensity()
        alpha, beta = law
        p = float(betaincinv(alpha, beta + terms_survived, u))
        p = min(max(p, 1e-12), 1.0 - 1e-12)  # a probability of exactly 0 or 1 has no log-odds
        return math.log(p / (1.0 - p))

    # ------------------------------------------------------------------ sources of accounts
    def _initial_book(self) -> None:
        book = self.scenario.initial_book
        n = book.customers
        if n == 0:
            return
        rng = S.stream(self.seed, self.replication, S.INITIAL_BOOK)
        u_segment, u_fit, u_tenure = rng.random(n), rng.random(n), rng.random(n)
        segments = self.scenario.segments
        dice = self._dice[INITIAL]
        good_share = np.array([s.good_fit_share for s in segments])
        if book.accounts is not None:
            # The actual book: segment, MRR and tenure as given; ICP fit and the rest drawn.
            codes = {s.name: i for i, s in enumerate(segments)}
            for i, acct in enumerate(book.accounts):
                segment = codes[acct.segment]
                self._open_account(i, segment, INITIAL, bool(u_fit[i] < good_share[segment]),
                                   -acct.tenure_months * MONTH_DAYS, dice.dice(i), True,
                                   mrr_cents=max(1, int(round(acct.mrr * 100.0))), terms_survived=acct.terms_survived)
            return
        # The installed base mixes segments as won deals do: lead share × conversion.
        weights = np.array([s.lead_share * s.conversion for s in segments])
        if weights.sum() <= 0:
            weights = np.array([s.lead_share for s in segments])
        cum = np.cumsum(weights / weights.sum())
        segment = np.minimum(np.searchsorted(cum, u_segment, side="right"), len(weights) - 1)
        good = good_share[segment]
        start = -u_tenure * book.max_tenure_months * MONTH_DAYS
        for i in range(n):
            self._open_account(i, int(segment[i]), INITIAL, bool(u_fit[i] < good[i]), float(start[i]), dice.dice(i), True)

    def _marketing_closings(self):
        """Process: walk the won marketing deals in close order; bad word of mouth may lose one."""
        m = self.marketing
        env = self.env
        k = self.scenario.referral.detractor_loss
        won = np.flatnonzero(self._marketing_outcome == WON)
        won = won[np.argsort(m.closed[won], kind="stable")]
        dice = self._dice[MARKETING]
        for i in won.tolist():
            closed = float(m.closed[i])
            yield env.timeout(closed - env.now)
            if m.wom_draw[i] < -math.expm1(-k * self._detractor_level(closed)):
                self._marketing_outcome[i] = WORD_OF_MOUTH
                continue
            acct = self._open_account(MARKETING * ID_STRIDE + i, int(m.segment[i]), MARKETING, bool(m.icp_fit[i]),
                                      closed, dice.dice(i), False)
            self._marketing_account[i] = acct.id

    def referral_lead(self, referrer: Account, now: float) -> None:
        """A healthy account referred a lead in its own segment; it may close later."""
        ref = self.scenario.referral
        rng = self._referral_rng
        u_fit, u_convert, z_cycle = rng.random(3).tolist()
        j = len(self._referrals["arrived"])
        fit = u_fit < ref.good_fit_share
        conversion = ref.conversion * (1.0 if fit else self.scenario.acquisition.poor_fit_conversion_factor)
        seg = referrer.segment
        cycle = self.scenario.segments[seg].sales_cycle_days * ref.sales_cycle_factor * math.exp(
            self.scenario.acquisition.sales_cycle_sigma * z_cycle)
        closed = now + cycle
        r = self._referrals
        r["segment"].append(seg)
        r["icp_fit"].append(fit)
        r["arrived"].append(now)
        r["closed"].append(closed)
        r["account"].append(-1)
        r["cost"].append(0.0)
        if closed >= self.horizon_days:
            r["outcome"].append(OPEN)
            return
        if u_convert >= conversion:
            r["outcome"].append(NOT_CONVERTED)
            return
        r["outcome"].append(WON)
        r["cost"][j] = self.scenario.segments[seg].sales_cost_per_deal * ref.sales_cost_factor
        event = self.env.timeout(cycle)
        event.callbacks.append(lambda _ev, j=j, seg=seg, fit=fit: self._referral_closes(j, seg, fit))

    def _referral_closes(self, j: int, segment: int, fit: bool) -> None:
        acct = self._open_account(REFERRAL * ID_STRIDE + j, segment, REFERRAL, fit, self.env.now,
                                  self._dice[REFERRAL].dice(j), False)
        self._referrals["account"][j] = acct.id

    # ------------------------------------------------------------------ running
    def run(self, on_month: Callable[[], None] | None = None) -> Records:
        """Simulate ``[0, horizon)`` and return the records. ``on_month`` is called after each month."""
        self._initial_book()
        self.env.process(self._marketing_closings())
        months = self.scenario.horizon_months
        for m in range(months):
            self.staffing.review(self.env.now)
            end = min((m + 1) * MONTH_DAYS, self.horizon_days)
            self.env.run(until=end)
            self.staffing.close_month(m, end)
            if on_month is not None:
                on_month()
        self.cs_team.close(self.horizon_days)
        return self._records()

    def _records(self) -> Records:
        rep = self.replication
        accts = self.accounts
        n = len(accts)
        horizon = self.horizon_days
        ids = np.fromiter((a.id for a in accts), dtype=np.int64, count=n)
        segment = np.fromiter((a.segment for a in accts), dtype=np.int8, count=n)
        cohort = np.fromiter((a.cohort for a in accts), dtype=np.int32, count=n)
        churn_time = np.fromiter((a.churn_time for a in accts), dtype=np.float64, count=n)
        churned = churn_time < horizon
        accounts = {
            "replication": np.full(n, rep, dtype=np.int32),
            "account": ids,
            "segment": segment,
            "channel": np.fromiter((a.channel for a in accts), dtype=np.int8, count=n),
            "icp_fit": np.fromiter((a.icp_fit for a in accts), dtype=bool, count=n),
            "cohort": cohort,
            "start": np.fromiter((a.start for a in accts), dtype=np.float64, count=n),
            "entry": np.fromiter((a.entry for a in accts), dtype=np.float64, count=n),
            "end": np.where(churned, churn_time, horizon),
            "churned": churned,
            "first_value": np.fromiter((a.fv_state == 1 for a in accts), dtype=bool, count=n),
            "first_value_day": np.fromiter((a.fv_day for a in accts), dtype=np.float64, count=n),
            "term_months": np.array([self.scenario.segments[a.segment].term_months for a in accts], dtype=np.int16),
            "initial_mrr": np.fromiter((a.initial_mrr for a in accts), dtype=np.int64, count=n),
            "final_mrr": np.fromiter((a.mrr for a in accts), dtype=np.int64, count=n),
            "renewals": np.fromiter((a.renewals for a in accts), dtype=np.int32, count=n),
            "expansions": np.fromiter((a.expansions for a in accts), dtype=np.int32, count=n),
            "touches": np.fromiter((a.touches for a in accts), dtype=np.int32, count=n),
            "reactivated": np.fromiter((a.reactivated for a in accts), dtype=bool, count=n),
        }
        ev = self.events.arrays()
        dense = ev.pop("account")
        events = {"replication": np.full(len(dense), rep, dtype=np.int32), "account": ids[dense],
                  "segment": segment[dense], "cohort": cohort[dense], **ev}
        tc = self.touches.arrays()
        tdense = tc["account"]
        touches = {"replication": np.full(len(tdense), rep, dtype=np.int32), **tc,
                   "account": ids[tdense], "segment": segment[tdense]}
        return Records(
            events={c: events[c].astype(d, copy=False) for c, d in EVENT_COLUMNS.items()},
            accounts={c: accounts[c].astype(d, copy=False) for c, d in ACCOUNT_COLUMNS.items()},
            leads=self._lead_table(),
            touches={c: touches[c].astype(d, copy=False) for c, d in TOUCH_COLUMNS.items()},
            staffing=self._staffing_table(),
            horizon_days=horizon,
            segments=tuple(s.name for s in self.scenario.segments),
            meta=run_meta(self.scenario),
        )

    def _staffing_table(self) -> dict[str, np.ndarray]:
        rows = self.staffing.rows
        table = {"replication": np.full(len(rows["month"]), self.replication), **rows}
        return {c: np.asarray(table[c]).astype(d, copy=False) for c, d in STAFFING_COLUMNS.items()}

    def _lead_table(self) -> dict[str, np.ndarray]:
        m = self.marketing
        nm = len(m)
        scn = self.scenario
        sales_cost = np.array([s.sales_cost_per_deal for s in scn.segments])
        m_cost = scn.acquisition.marketing_cost_per_lead + np.where(self._marketing_outcome == WON, sales_cost[m.segment], 0.0)
        m_closed = np.where(self._marketing_outcome == OPEN, np.nan, m.closed)
        r = self._referrals
        nr = len(r["arrived"])
        r_closed = np.where(np.array(r["outcome"], dtype=np.int8) == OPEN, np.nan, np.array(r["closed"], dtype=float)) if nr else np.empty(0)
        table = {
            "replication": np.full(nm + nr, self.replication, dtype=np.int32),
            "lead": np.concatenate([np.arange(nm, dtype=np.int64), REFERRAL * ID_STRIDE + np.arange(nr, dtype=np.int64)]),
            "channel": np.concatenate([np.full(nm, MARKETING, dtype=np.int8), np.full(nr, REFERRAL, dtype=np.int8)]),
            "segment": np.concatenate([m.segment, np.array(r["segment"], dtype=np.int8)]),
            "icp_fit": np.concatenate([m.icp_fit, np.array(r["icp_fit"], dtype=bool)]),
            "arrived": np.concatenate([m.arrived, np.array(r["arrived"], dtype=float)]),
            "closed": np.concatenate([m_closed, r_closed]),
            "outcome": np.concatenate([self._marketing_outcome, np.array(r["outcome"], dtype=np.int8)]),
            "account": np.concatenate([self._marketing_account, np.array(r["account"], dtype=np.int64)]),
            "cost": np.concatenate([m_cost, np.array(r["cost"], dtype=float)]),
        }
        return {c: table[c].astype(d, copy=False) for c, d in LEAD_COLUMNS.items()}


@contextlib.contextmanager
def quiet_garbage_collector() -> Iterator[None]:
    """Collect cycles rarely while simulating, and the simulation's own garbage at the end.

    The engine allocates SimPy events at a high rate while every account stays alive, so the
    default thresholds make the collector walk the whole (growing) population over and over:
    ~15 % of run time at 10,000 accounts, more at 100,000. Objects alive at the start are frozen
    out of collection and thresholds raised; both are restored afterwards.

    A finished world (accounts, processes, the SimPy environment) is one large reference cycle.
    Left to the collector after the unfreeze it would sit in the oldest generation, which Python
    collects only once it has grown by a quarter, so back-to-back replications in one process (a
    sweep worker, ``csim compare``) kept every earlier world: +80 MB and 80,000 objects per
    600-account replication, 1 GB after ten. So the block ends with one collection while the
    older objects are still frozen: it walks only what the block created.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1000)
    try:
        yield
    finally:
        gc.collect()
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_meta(scenario: Scenario) -> dict:
    """Facts downstream metrics need that are not per row (see csim.records.Records.meta)."""
    return {
        "scenario_name": scenario.name,
        "strategy": scenario.strategy.name,
        "gross_margin": scenario.economics.gross_margin,
        "discount_rate_annual": scenario.economics.discount_rate_annual,
        "cs_headcount": scenario.cs_team.headcount,
        "cs_hours_per_week": scenario.cs_team.hours_per_week,
        "csm_cost_per_year": scenario.cs_team.cost_per_csm_year,
        "marketing_cost_per_lead": scenario.acquisition.marketing_cost_per_lead,
        "warmup_months": scenario.warmup_months,
    }


def simulate_replication(scenario: Scenario, replication: int, seed: int | None = None,
                         on_month: Callable[[], None] | None = None) -> Records:
    """Run one replication of ``scenario`` (streams keyed by ``(seed, replication)``)."""
    with quiet_garbage_collector():  # the world is garbage once run returns: collected on leaving
        return World(scenario, replication, seed).run(on_month)
