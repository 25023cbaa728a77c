"""One SimPy process per account: onboarding → growth → renewal window → renewal decision.

The process never ticks. It keeps the absolute time of every thing that can happen next and
sleeps until the earliest (competing risks):

* fixed times — first-value decision, churn decision (notice before a term end), term end,
  renewal window opening, end of dunning, reactivation, the next scheduled play;
* hazard clocks — health moves, expansion, contraction, failed payment, referral, customer
  requests. Each clock holds an Exp(1) budget consumed at its current rate; when health changes
  a rate, the fire time is rescaled from the unspent budget and no new number is drawn. That is
  exact for piecewise-constant hazards and keeps strategies coupled (common random numbers).

Non-renewal uses the same idea in discrete time: each account has an Exp(1) churn budget and
each renewal decision spends −log(1−q(h)) of it, q(h) being the per-term probability of not
renewing at the current health; the account gives notice at the decision where the budget runs
out. For monthly plans the decisions where nothing happens are skipped analytically.
With ``churn_by_term`` the k-th decision of a life (counted from the first payment, or from a
reactivation) adds log m_k to the log-odds: the decisions on that list are costed one by one and
the analytic skip applies beyond it.

Health moves, and the events that change nothing but the account, are not SimPy events as long
as they need not be. An account changes only at its own events and at the end of its own touches,
so before sleeping it applies at once every health move, expansion, contraction, renewal and
renewal decision that gives no notice, due before the end of its touches in service
(:meth:`Account._advance`), each at its own time and with its own numbers: the records are those
of the all-events path (tested against it, ``Account.inline_moves``). Anything else stays an event:
a move while one of the account's requests waits for a CSM (its touch could end at any time), a
move across a health play's threshold (the play starts a touch then), a notice, a churn, and,
under a coverage rule (which counts the book's MRR each month), every change of MRR.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING

import simpy

from csim.engine import streams as S
from csim.records import EVENT_KINDS, MONTH_DAYS, STAGES
from csim.strategy import Trigger, clip_health, crosses

if TYPE_CHECKING:  # pragma: no cover
    from csim.engine.world import World

INF = math.inf

# Event kind and stage codes, from the records contract (csim.records), looked up once.
OPENING, START, FIRST_VALUE, FIRST_VALUE_MISSED, RENEWAL_WINDOW, RENEWAL, EXPANSION, CONTRACTION, CHURN, \
    CHURN_INVOLUNTARY, PAYMENT_FAILED, PAYMENT_RECOVERED, REACTIVATION, REFERRAL, CHURN_INTENT, SAVED = (
        EVENT_KINDS.index(kind) for kind in (
            "opening", "start", "first_value", "first_value_missed", "renewal_window", "renewal", "expansion",
            "contraction", "churn", "churn_involuntary", "payment_failed", "payment_recovered", "reactivation",
            "referral", "churn_intent", "saved"))
ONBOARDING, GROWTH, RENEWAL_STAGE, CHURNED = (STAGES.index(s) for s in ("onboarding", "growth", "renewal", "churned"))

# Slots of the "next time" list.
T_FIRST_VALUE, T_DECISION, T_TERM_END, T_WINDOW, T_DUNNING, T_REACTIVATE, T_PLAY, \
    T_REVIEW, T_EXPANSION, T_CONTRACTION, T_PAYFAIL, T_REFERRAL = range(12)
T_REQUEST0 = 12  # one slot per request play after this

# First-value states.
FV_PENDING, FV_REACHED, FV_MISSED = range(3)


class Account:
    """State and lifecycle process of one customer account."""

    #: Apply health moves and self-contained events inline when nothing else can change the account
    #: first (False: every one is an event, the reference the inline path is tested against).
    inline_moves = True

    __slots__ = (
        "world", "seg", "idx", "id", "segment", "channel", "icp_fit", "cohort", "start", "entry", "dice",
        "mrr", "churn_logit", "health", "target", "fv_state", "fv_prob", "fv_time", "fv_day",
        "term_start", "decision_j", "budget", "spent", "bonus", "intent", "pending_downgrade",
        "times", "rates", "spare", "play_heap", "play_seq", "last_fired", "churn_time", "reactivated",
        "renewals", "expansions", "touches", "proc", "awake", "alive", "last_mrr", "initial_mrr", "wake_at",
        "t_move", "applied_to", "next_shock", "thresholds",
    )

    def __init__(self, world: "World", idx: int, account_id: int, segment: int, channel: int, icp_fit: bool,
                 start: float, dice: S.Dice, mrr_cents: int | None = None):
        sc = world.scenario
        self.world, self.idx, self.id = world, idx, account_id
        self.seg = world.segments[segment]
        self.segment, self.channel, self.icp_fit = segment, channel, icp_fit
        self.start, self.entry = start, max(start, 0.0)
        self.cohort = math.floor(start / MONTH_DAYS)
        self.dice = dice
        seg = self.seg
        # The MRR number is drawn even when the MRR is given (an initial book from a file), so that
        # every later draw of the account is the same either way.
        drawn = max(1, int(round(seg.mrr_median * math.exp(seg.mrr_sigma * dice.z(S.Z_MRR)) * 100.0)))
        self.mrr = drawn if mrr_cents is None else mrr_cents
        #: Log-odds of not renewing a term at reference health (the account's own with heterogeneity).
        self.churn_logit = seg.churn_logit
        self.initial_mrr = self.mrr
        h = sc.health
        base = h.initial_good_fit if icp_fit else h.initial_poor_fit
        self.target = base
        self.health = clip_health(base + h.initial_sd * dice.z(S.Z_INITIAL_HEALTH))
        ob = sc.onboarding
        self.fv_state = FV_PENDING
        self.fv_prob = ob.first_value_prob * (1.0 if icp_fit else ob.poor_fit_factor)
        self.fv_time = start + ob.first_value_days * math.exp(ob.first_value_sigma * dice.z(S.Z_FIRST_VALUE_TIME))
        self.fv_day = math.nan
        self.term_start = start
        self.decision_j = 0
        self.budget = dice.exp1(S.U_CHURN)
        self.spent = 0.0
        self.bonus = 0.0
        self.intent = False
        self.pending_downgrade = False
        n_slots = T_REQUEST0 + len(world.request_plays)
        self.times = [INF] * n_slots
        self.rates = [0.0] * n_slots
        self.spare = [0.0] * n_slots
        self.play_heap: list[tuple[float, int, int]] = []
        self.play_seq = 0
        self.last_fired: dict[int, float] = {}
        self.churn_time = INF
        self.reactivated = False
        self.renewals = self.expansions = self.touches = 0
        self.proc: simpy.Process | None = None
        self.awake = False
        self.wake_at = INF
        self.alive = True
        self.last_mrr = 0
        #: Time of the next health move (not a slot of ``times``: moves are applied inline, see
        #: _advance), and of the last thing applied ahead of the simulation clock.
        self.t_move = INF
        self.applied_to = -INF
        #: The shock of a move left as an event, drawn when its crossing was found.
        self.next_shock: float | None = None
        #: (threshold, fires when falling below) of the health plays for this account's segment.
        self.thresholds = world.policy.health_thresholds[segment]

    # ------------------------------------------------------------------ helpers
    def stage(self, now: float) -> int:
        """Lifecycle stage code at ``now`` (csim.records.STAGES)."""
        if self.mrr == 0:
            return CHURNED
        if now - self.start < self.world.onboarding_days:
            return ONBOARDING
        seg = self.seg
        if seg.has_renewal_events and self._next_boundary(now) - now <= self.world.renewal_window_days:
            return RENEWAL_STAGE
        return GROWTH

    def _next_boundary(self, now: float) -> float:
        term = self.seg.term_days
        k = math.floor((now - self.term_start) / term) + 1
        return self.term_start + k * term

    def _decision_time(self, j: int) -> float:
        seg = self.seg
        return self.term_start + (j + 1) * seg.term_days - seg.notice_days

    def _log(self, now: float, kind: int, before: int, after: int) -> None:
        self.world.events.add(now, self.idx, kind, before, after, self.stage(now), self.health)

    def _shift(self, j: int) -> float:
        """Log-odds added at renewal decision ``j`` (0-based) of the current life: log m_(j+1) of
        ``churn_by_term``, 0 beyond the list."""
        shift = self.seg.churn_shift
        return shift[j] if j < len(shift) else 0.0

    def _q_cost(self, bonus: float, shift: float = 0.0) -> float:
        """Churn budget spent by one renewal decision at the current health: −log(1 − q(h)).

        ``shift`` is the decision's log odds multiplier (``churn_by_term``), applied at reference
        health before the health and touch shifts; ``bonus`` is the touches' log-odds of renewing.
        """
        w = self.world
        x = self.churn_logit + shift - w.churn_effect * (self.health - w.health_reference) - bonus
        if x == -INF:
            return 0.0
        if x == INF:
            return INF
        # -log(1 - expit(x)) = log1p(exp(x)), computed stably
        return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))

    # ------------------------------------------------------------------ clocks
    def _rearm(self, slot: int, pool: int, now: float) -> None:
        """A clock fired: draw its next budget."""
        rate = self.rates[slot]
        budget = self.dice.exp1(pool)
        if rate > 0.0:
            self.times[slot] = now + budget / rate
        else:
            self.times[slot] = INF
            self.spare[slot] = budget

    def _health_rates(self, now: float) -> None:
        """Re-rate every clock that depends on health, then re-plan the next churn decision.

        Inlined clock rescaling (this runs at every health move, the most frequent event).
        """
        seg = self.seg
        d = self.health - self.world.health_reference
        times, rates, spare = self.times, self.rates, self.spare
        exp = math.exp
        for slot, base, beta in seg.health_clocks:
            rate = base * exp(beta * d)
            old = rates[slot]
            t = times[slot]
            rates[slot] = rate
            times[slot] = now + ((t - now) * old if old > 0.0 and t < INF else spare[slot]) / rate
        if self._on_monthly_plan():
            self._plan_monthly_decision(now)

    def _on_monthly_plan(self) -> bool:
        """A paying monthly-plan account with no notice given: its decisions are planned ahead."""
        return not self.seg.has_renewal_events and not self.intent and self.mrr > 0

    def _settle_monthly(self, now: float) -> None:
        """Monthly plans: charge the decisions passed since the last plan, at the state they saw.

        Call before health or the renewal bonus changes.
        """
        if not self._on_monthly_plan():
            return
        j = self.decision_j
        if now >= self._decision_time(j):
            passed = math.floor((now - self._decision_time(j)) / self.seg.term_days) + 1
            # Decisions on the churn_by_term list each have their own cost; the rest share one.
            shift = self.seg.churn_shift
            listed = max(0, min(passed, len(shift) - j))
            cost, bonus = 0.0, self.bonus
            for k in range(j, j + listed):
                cost += self._q_cost(bonus, shift[k])
                bonus = 0.0
            if passed > listed:
                cost += self._q_cost(bonus) + (passed - listed - 1) * self._q_cost(0.0)
            self.spent += cost
            self.bonus = 0.0
            self.decision_j = j + passed

    def _plan_monthly_decision(self, now: float) -> None:
        """Monthly plans: skip the decisions where nothing happens (exact for constant health).

        Decisions on the churn_by_term list (at most 120) are walked one by one; beyond it every
        decision costs the same and the one where the budget runs out is found analytically.
        """
        j = self.decision_j
        left = self.budget - self.spent
        shift = self.seg.churn_shift
        bonus = self.bonus
        while j < len(shift):
            left -= self._q_cost(bonus, shift[j])
            bonus = 0.0
            if left <= 0.0:
                self.times[T_DECISION] = self._decision_time(j)
                return
            j += 1
        rest = self._q_cost(0.0)
        first = self._q_cost(bonus) if bonus else rest
        if first >= left:
            n = 1
        else:
            # smallest n with first + (n-1)·rest >= left
            n = INF if rest <= 0.0 else 1 + math.ceil((left - first) / rest)
        self.times[T_DECISION] = INF if n == INF else self._decision_time(j + n - 1)

    def add_renewal_bonus(self, logodds: float, now: float) -> None:
        """Raise the log-odds of renewing at the next renewal decision (renewal touches)."""
        self._settle_monthly(now)
        self.bonus += logodds
        if self._on_monthly_plan():
            self._plan_monthly_decision(now)

    # ------------------------------------------------------------------ the process
    def activate(self, now: float, opening: bool) -> None:
        """Start the account's process (at its first payment, or at day 0 for the initial book)."""
        w = self.world
        if opening:
            self._age_initial_book(now)
            self._log(now, OPENING, 0, self.mrr)
        else:
            self._log(now, START, 0, self.mrr)
        times = self.times
        if self.fv_state == FV_PENDING:
            window_end = self.start + w.onboarding_days
            # An initial-book account may be past its drawn time already: decide at once.
            times[T_FIRST_VALUE] = max(now, self.fv_time if self.fv_time < window_end else window_end)
        self._arm_clocks(now)
        self._schedule_term(now)
        self._health_rates(now)
        if not opening or now - self.start < w.onboarding_days:
            w.policy.on_trigger(self, Trigger.ONBOARDING_START, now, since=self.start)
        w.policy.start_cadences(self, now)
        self.proc = w.env.process(self.run())

    def _arm_clocks(self, now: float) -> None:
        """Fresh Exp(1) budgets for every hazard clock; health-driven rates are set by _health_rates."""
        w, seg, rates, times = self.world, self.seg, self.rates, self.times
        self._draw_next_move(now)
        rates[T_PAYFAIL] = seg.payment_failure_per_day
        self._rearm(T_PAYFAIL, S.U_PAYFAIL, now)
        for slot, pool in ((T_EXPANSION, S.U_EXPANSION), (T_CONTRACTION, S.U_CONTRACTION), (T_REFERRAL, S.U_REFERRAL)):
            rates[slot] = 0.0
            times[slot] = INF
            self.spare[slot] = self.dice.exp1(pool)
        for k, (i, play) in enumerate(w.request_plays):
            if w.play_applies(i, self.segment):
                rates[T_REQUEST0 + k] = play.rate_per_year / 365.25
                self._rearm(T_REQUEST0 + k, S.U_REQUEST, now)

    def _first_decision_from(self, now: float) -> int:
        """Index of the first renewal decision at or after ``now`` in the current term sequence."""
        seg = self.seg
        j = math.ceil((now + seg.notice_days - self.term_start) / seg.term_days - 1.0)
        return max(0, j)

    def _age_initial_book(self, now: float) -> None:
        """An initial-book account past onboarding has its first-value outcome already."""
        w = self.world
        ob = w.scenario.onboarding
        # Alive at day 0 by construction: decisions before it are history, not charged.
        self.decision_j = self._first_decision_from(now)
        if now - self.start >= w.onboarding_days:
            if self.dice.u(S.U_FIRST_VALUE) < self.fv_prob and self.fv_time < self.start + w.onboarding_days:
                self.fv_state, self.fv_day = FV_REACHED, self.fv_time - self.start
                self._shift_target(ob.value_gain)
            else:
                self.fv_state = FV_MISSED
                self._shift_target(-ob.miss_penalty)

    def shift_target_health(self, delta: float) -> None:
        """A lasting touch effect on target health, with diminishing returns.

        A rise acts in full at or below the reference health and shrinks linearly to nothing at
        ``health.target_ceiling``; a fall acts in full. Health itself moves toward the target at
        the next health moves.
        """
        w = self.world
        if delta > 0.0:
            room = (w.target_ceiling - self.target) / (w.target_ceiling - w.health_reference)
            delta *= min(1.0, max(0.0, room))
        self.target = clip_health(self.target + delta)

    def raise_first_value_prob(self, delta: float) -> None:
        """Onboarding help: the probability of reaching first value moves by ``delta`` (kept in [0, 1])."""
        self.fv_prob = min(1.0, max(0.0, self.fv_prob + delta))

    def schedule_play(self, when: float, play_index: int) -> None:
        """Plan play ``play_index`` for day ``when`` (plays due at the same time keep their order)."""
        self.play_seq += 1
        heapq.heappush(self.play_heap, (when, self.play_seq, play_index))
        self.times[T_PLAY] = self.play_heap[0][0]

    def due_plays(self, now: float):
        """Take the plays due by ``now`` off the plan, in order: yields ``(when, play index)``."""
        heap = self.play_heap
        while heap and heap[0][0] <= now:
            when, _, i = heapq.heappop(heap)
            yield when, i
        self.times[T_PLAY] = heap[0][0] if heap else INF

    def _shift_target(self, delta: float) -> None:
        self.target = clip_health(self.target + delta)
        self.health = clip_health(self.health + delta)

    def _schedule_term(self, now: float) -> None:
        """Plan the next term end, churn decision and renewal window of the current term."""
        seg, times = self.seg, self.times
        if seg.has_renewal_events:
            j = self.decision_j
            decision = self._decision_time(j)
            while decision < now:  # can happen only for the initial book
                j += 1
                decision = self._decision_time(j)
            self.decision_j = j
            times[T_DECISION] = decision
            end = decision + seg.notice_days
            times[T_TERM_END] = end
            window = end - self.world.renewal_window_days
            times[T_WINDOW] = window if self.world.has_window_plays and window >= now else INF
        else:
            times[T_TERM_END] = INF
            times[T_WINDOW] = INF

    def run(self):
        """The SimPy process: sleep until the earliest next thing, handle it, repeat.

        Health moves and self-contained events are not among the things it sleeps for when nothing
        else can change the account before them (:meth:`_advance` applies them).
        """
        env = self.world.env
        times = self.times
        after_horizon = self.world.horizon_days + 1.0
        while self.alive:
            t_next = self._advance(env.now)
            # Nothing planned: sleep past the horizon; a touch can still wake the account.
            self.wake_at = t_next if t_next < INF else after_horizon
            self.awake = False
            try:
                # Rescaled clock times can land a rounding error (~1e-15 d) before now.
                yield env.timeout(max(0.0, self.wake_at - env.now))
            except simpy.Interrupt:
                self.awake = True
                continue  # a touch moved the next thing earlier: re-plan
            self.awake = True
            now = env.now
            t_next = min(times)
            if t_next <= now:  # else a touch moved it later: sleep again
                self.handle(times.index(t_next), now)

    def wake(self, now: float) -> None:
        """Called after a touch changed this account at ``now``: apply what is due before it can next
        be changed (:meth:`_advance`), and interrupt its sleep only if its next event is now earlier
        than the planned wake-up (a later one is found on waking)."""
        if not self.awake and self.proc is not None and self.proc.is_alive and self._advance(now) < self.wake_at:
            self.proc.interrupt("touch")

    # ------------------------------------------------------------------ health moves
    def _review_shock(self) -> float:
        """N(0, 1) innovation of a health move."""
        z = self.next_shock
        if z is None:
            return self.dice.z(S.Z_REVIEW_SHOCK)
        self.next_shock = None
        return z

    def _advance(self, now: float) -> float:
        """Apply what is due before the account can next be changed from outside; return the time
        of the account's next event.

        Only the account's own events and its touches change it, and a touch comes only from a
        request it made: while none of its requests waits for a CSM, nothing can change it before
        the end of its touches in service. Until then its health moves, and the events that only
        change the account itself (expansions, contractions, renewal decisions that give no
        notice, renewals), are applied at their own times, as the events they would be, without
        costing one. A health move that crosses the threshold of a health play (which starts a
        touch at that time), a move while a request waits, and every other event stay events.
        Nothing past the horizon is applied (the run ends first).
        """
        times = self.times
        limit = None
        while True:
            t_next = min(times)
            t_move = self.t_move
            if t_move <= t_next:
                if limit is None:
                    limit = self._inline_limit(now)
                if t_move > limit:
                    if limit >= now:  # a touch in service ends first: the move waits for it
                        return t_next
                    # else a request waits for a CSM: the move is an event
                else:
                    z = self._review_shock()
                    old = self.health
                    new = self._moved_health(z)
                    if not (self.thresholds and new != old
                            and any(crosses(old, new, x, below) for x, below in self.thresholds)):
                        self._apply_move(t_move, new)
                        continue
                    self.next_shock = z  # it crosses a play's threshold: an event, with its own shock
                times[T_REVIEW] = t_move
                self.t_move = INF
                return t_move
            if t_next == INF:
                return t_next
            slot = times.index(t_next)
            if not self._self_contained(slot):
                return t_next
            if limit is None:
                limit = self._inline_limit(now)
            if t_next > limit:
                return t_next
            self.applied_to = t_next
            self.handle(slot, t_next)

    def _self_contained(self, slot: int) -> bool:
        """Whether the event due in ``slot`` changes nothing but the account itself."""
        if slot == T_DECISION:
            # A decision of a committed term that gives no notice (a notice starts plays).
            return self.seg.has_renewal_events and self.spent + self._q_cost(
                self.bonus, self._shift(self.decision_j)) < self.budget
        if slot == T_EXPANSION or slot == T_CONTRACTION or slot == T_TERM_END:
            # Not under a coverage rule, which counts the book's MRR at each month start, and not a
            # churn at a term end (the CS team, detractors and reactivation see it).
            return not self.world.staffing.coverage and not (slot == T_TERM_END and self.intent)
        return False

    def _inline_limit(self, now: float) -> float:
        """The time before which nothing outside the account can change it (see :meth:`_advance`)."""
        w = self.world
        if not self.inline_moves:
            return -INF
        limit = w.horizon_days - 1e-9  # the run stops before anything due at the horizon itself
        tickets = w.cs_team.open.get(self.idx)
        if tickets:
            # A touch in service ends at a known time; a request still waiting could start any time.
            limit = min(limit, min(t.earliest_end(now) for t in tickets) - 1e-9)
        return limit

    def _draw_next_move(self, now: float) -> None:
        """A move happens, or the moves start, at ``now``: draw when the next one does (never,
        without health moves)."""
        self.applied_to = now
        rate = self.world.reviews_per_day
        self.t_move = now + self.dice.exp1(S.U_REVIEW) / rate if rate > 0.0 else INF

    def _moved_health(self, shock: float) -> float:
        """Health after a move with N(0, 1) innovation ``shock``: part of the way back to target, plus noise."""
        w = self.world
        return clip_health(self.health + w.reversion * (self.target - self.health) + w.shock_sd * shock)

    def _apply_move(self, now: float, new: float) -> None:
        """A health move at ``now`` to ``new`` health, applied inline (it crosses no play's threshold)."""
        self._draw_next_move(now)
        if new != self.health:
            self._rehealth(new, now)

    def _rehealth(self, new: float, now: float) -> None:
        """Health becomes ``new`` (already in [0, 1]) at ``now``: charge a monthly plan's decisions
        passed at the old health, then re-rate the health clocks."""
        if not self.seg.has_renewal_events:
            self._settle_monthly(now)
        self.health = new
        self._health_rates(now)

    def handle(self, slot: int, now: float) -> None:
        """Dispatch the thing that is due at ``now`` (the most frequent things first)."""
        if slot >= T_REQUEST0:
            self._rearm(slot, S.U_REQUEST, now)
            play_index, _ = self.world.request_plays[slot - T_REQUEST0]
            self.world.policy.request_touch(self, play_index, now)
        elif slot == T_PLAY:
            self.world.policy.run_due_play(self, now)
        elif slot == T_DECISION:
            self._decide(now)
        elif slot == T_TERM_END:
            self._term_end(now)
        elif slot == T_EXPANSION:
            self.expand(now, self.seg.expansion_size)
            self._rearm(T_EXPANSION, S.U_EXPANSION, now)
        elif slot == T_REVIEW:
            self._health_move(now)
        elif slot == T_FIRST_VALUE:
            self._first_value(now)
        elif slot == T_REFERRAL:
            self._rearm(T_REFERRAL, S.U_REFERRAL, now)
            self._log(now, REFERRAL, self.mrr, self.mrr)
            self.world.referral_lead(self, now)
        elif slot == T_CONTRACTION:
            self._contract(now)
        elif slot == T_PAYFAIL:
            self._payment_failed(now)
        elif slot == T_DUNNING:
            self._dunning_end(now)
        elif slot == T_WINDOW:
            self.times[T_WINDOW] = INF
            self._log(now, RENEWAL_WINDOW, self.mrr, self.mrr)
            self.world.policy.on_trigger(self, Trigger.RENEWAL_WINDOW, now, since=now)
        else:
            self._reactivate(now)

    # ------------------------------------------------------------------ mechanisms
    def set_health(self, value: float, now: float) -> None:
        """Change health (clipped to [0, 1]), re-rate the health clocks and fire threshold plays."""
        old = self.health
        new = clip_health(value)
        if new != old:
            self._rehealth(new, now)
            if self.world.policy.health_plays:
                self.world.policy.on_health_change(self, old, now)

    def _health_move(self, now: float) -> None:
        """A health move left as an event (:meth:`_advance` says when)."""
        self.times[T_REVIEW] = INF
        self._draw_next_move(now)
        self.set_health(self._moved_health(self._review_shock()), now)

    def expand(self, now: float, mean_size: float) -> None:
        """An expansion of mean fractional size ``mean_size`` (log-normal)."""
        if self.mrr == 0 or mean_size <= 0.0:
            return
        sigma = self.world.expansion_sigma
        size = mean_size * math.exp(sigma * self.dice.z(S.Z_EXPANSION_SIZE) - 0.5 * sigma * sigma)
        before = self.mrr
        self.mrr = before + max(1, int(round(before * size)))
        self.expansions += 1
        self._log(now, EXPANSION, before, self.mrr)

    def _contract(self, now: float) -> None:
        self._rearm(T_CONTRACTION, S.U_CONTRACTION, now)
        if self.mrr == 0:
            return
        if self.seg.has_renewal_events:
            self.pending_downgrade = True  # a committed term shrinks only at renewal
            return
        before = self.mrr
        self.mrr = max(1, int(round(before * (1.0 - self.seg.contraction_size))))
        if self.mrr != before:
            self._log(now, CONTRACTION, before, self.mrr)

    def _first_value(self, now: float) -> None:
        w = self.world
        window_end = self.start + w.onboarding_days
        ob = w.scenario.onboarding
        if now < window_end and now >= self.fv_time:
            # Reached in time if the account's draw is under the (possibly CS-raised) probability.
            if self.dice.u(S.U_FIRST_VALUE) < self.fv_prob:
                self.times[T_FIRST_VALUE] = INF
                self.fv_state, self.fv_day = FV_REACHED, now - self.start
                self.target = clip_health(self.target + ob.value_gain)
                self._log(now, FIRST_VALUE, self.mrr, self.mrr)
                self.set_health(self.health + ob.value_gain, now)
                return
            self.times[T_FIRST_VALUE] = window_end
            self.fv_time = INF
            return
        self.times[T_FIRST_VALUE] = INF
        self.fv_state = FV_MISSED
        self.target = clip_health(self.target - ob.miss_penalty)
        self._log(now, FIRST_VALUE_MISSED, self.mrr, self.mrr)
        self.set_health(self.health - ob.miss_penalty, now)
        w.policy.on_trigger(self, Trigger.FIRST_VALUE_MISSED, now, since=now)

    def speed_up_first_value(self, fraction: float, now: float) -> None:
        """Cut a fraction of the remaining time to first value (onboarding touches)."""
        if self.fv_state != FV_PENDING or self.fv_time == INF or self.fv_time <= now:
            return
        self.fv_time = now + (self.fv_time - now) * (1.0 - fraction)
        window_end = self.start + self.world.onboarding_days
        self.times[T_FIRST_VALUE] = self.fv_time if self.fv_time < window_end else window_end

    def _decide(self, now: float) -> None:
        """A renewal decision, notice_days before a term end."""
        seg = self.seg
        if seg.has_renewal_events:
            self.spent += self._q_cost(self.bonus, self._shift(self.decision_j))
            self.bonus = 0.0
            self.decision_j += 1
        else:
            # Monthly plan: _plan_monthly_decision put this at the decision where the budget runs out.
            self.spent = self.budget
            self.bonus = 0.0
            self.decision_j = self._first_decision_from(now) + 1
        self.times[T_DECISION] = INF
        if self.spent >= self.budget:
            self.intent = True
            self.times[T_TERM_END] = now + seg.notice_days
            self._log(now, CHURN_INTENT, self.mrr, self.mrr)
            self.world.policy.on_trigger(self, Trigger.CHURN_INTENT, now, since=now)
        elif not seg.has_renewal_events:
            self._plan_monthly_decision(now)

    def save(self, now: float) -> None:
        """A save attempt reversed the churn intent: the account renews; a fresh churn budget."""
        if not self.intent:
            return
        self.intent = False
        self.budget = self.spent + self.dice.exp1(S.U_CHURN)
        self._log(now, SAVED, self.mrr, self.mrr)
        if not self.seg.has_renewal_events:
            self.times[T_TERM_END] = INF
            self._plan_monthly_decision(now)

    def _term_end(self, now: float) -> None:
        seg = self.seg
        if self.intent:
            self._churn(now, CHURN)
            return
        before = self.mrr
        after = before
        if seg.uplift > 0.0:
            after = int(round(after * (1.0 + seg.uplift)))
        if self.pending_downgrade:
            after = max(1, int(round(after * (1.0 - seg.contraction_size))))
            self.pending_downgrade = False
        self.mrr = after
        self.renewals += 1
        self._log(now, RENEWAL, before, after)
        self._schedule_term(now)

    def _payment_failed(self, now: float) -> None:
        self._rearm(T_PAYFAIL, S.U_PAYFAIL, now)
        if self.mrr == 0 or self.times[T_DUNNING] < INF:
            return
        self._log(now, PAYMENT_FAILED, self.mrr, self.mrr)
        self.times[T_DUNNING] = now + self.world.scenario.payments.dunning_days

    def _dunning_end(self, now: float) -> None:
        self.times[T_DUNNING] = INF
        if self.dice.u(S.U_RECOVERY) < self.world.scenario.payments.recovery_prob:
            self._log(now, PAYMENT_RECOVERED, self.mrr, self.mrr)
        else:
            self._churn(now, CHURN_INVOLUNTARY)

    def _churn(self, now: float, kind: int) -> None:
        w = self.world
        before = self.mrr
        self.mrr = 0
        self.intent = False
        self.pending_downgrade = False
        if self.churn_time == INF:
            self.churn_time = now
        self._log(now, kind, before, 0)
        w.cs_team.cancel(self, now)
        if self.health < w.scenario.health.detractor_below:
            w.add_detractor(now)
        times = self.times
        for slot in range(len(times)):
            times[slot] = INF
        self.t_move = INF
        self.play_heap.clear()
        self.last_mrr = before
        r = w.scenario.reactivation
        p = r.prob_involuntary if kind == CHURN_INVOLUNTARY else r.prob_voluntary
        if self.dice.u(S.U_REACTIVATION) < p:
            times[T_REACTIVATE] = now + r.mean_days * self.dice.exp1(S.U_REACTIVATION_TIME)
        else:
            self.alive = False

    def _reactivate(self, now: float) -> None:
        """A churned account pays again at its last MRR, on a fresh term and a fresh churn budget."""
        self.times[T_REACTIVATE] = INF
        self.mrr = self.last_mrr
        self.reactivated = True
        self._log(now, REACTIVATION, 0, self.mrr)
        self.term_start = now
        self.decision_j = 0
        self.budget = self.spent + self.dice.exp1(S.U_CHURN)
        self._arm_clocks(now)
        self._schedule_term(now)
        self._health_rates(now)
        self.world.policy.start_cadences(self, now)
