"""The customer-success team: CSMs that touches queue for.

A touch of ``h`` CSM hours occupies one CSM for ``h · 7 / hours_per_week`` calendar days: a CSM
works the touch through the hours of the week they have for touches. With exponential touch
durations and Poisson requests the team is an M/M/c queue (tested against Erlang C).

The team is a pool of ``headcount`` identical servers with one waiting line ordered by play
priority, then request time, then arrival (SimPy's ``PriorityResource`` order). It is kept as a
count of busy CSMs and a heap rather than as a SimPy resource: a resource spends a request event
and a release event on every touch even when a CSM is free at once, two thirds of the events a
touch costs. Here a touch costs exactly one SimPy event, the timeout of its service; the
waiting line is only touched when every CSM is busy.
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING

from csim.engine import streams as S
from csim.engine.policy import CANCELLED, DONE, EXPIRED, WAITING

if TYPE_CHECKING:  # pragma: no cover
    from csim.engine.account import Account
    from csim.engine.world import World
    from csim.scenario.model import Play


NAN = float("nan")
INF = float("inf")
#: A request being served (not an outcome: it ends as done, or is recorded as served at the horizon).
IN_SERVICE = -1


class Ticket:
    """One touch request and where it stands (waiting, in service, or ended)."""

    __slots__ = ("acct", "play_index", "play", "requested", "number", "started", "finish", "hours", "state")

    def __init__(self, acct: "Account", play_index: int, play: "Play", requested: float, number: int):
        self.acct, self.play_index, self.play, self.requested = acct, play_index, play, requested
        #: Order of arrival at the team (ties of ``requested`` are broken by it, never by memory address).
        self.number = number
        self.started = NAN
        #: When its service ends (-inf while it waits: it could start, and end, at any time).
        self.finish = -INF
        self.hours = 0.0
        self.state = WAITING

    def earliest_end(self, now: float) -> float:
        """The earliest time this request's touch could end, as seen at ``now``: its service end
        once in service; −inf while it waits and may still start; +inf once it waited past its
        deadline (a CSM passes it over)."""
        if self.finish > -INF or now <= self.requested + self.play.deadline_days:
            return self.finish
        return INF


class CSTeam:
    """Queue and serve the touches of one replication.

    Every request ends as exactly one of (csim.records.TOUCH_OUTCOMES): served (``done``),
    ``expired`` at its deadline, ``cancelled`` when its account churns while it waits (recorded
    at the churn), or ``waiting`` at the horizon (recorded by :meth:`close`). Expiry is recorded
    at the exact deadline, ``requested + deadline_days``, and found when it matters: when a CSM
    reaches the request (which is then passed over, holding no CSM time), when its account
    churns (a request past its deadline had expired before the churn) or at the horizon. This is
    the same queue as a timeout racing each request, with no extra event per request; a request
    that ended while waiting stays in the heap and is skipped when it reaches the head, since
    withdrawing it on the spot would cost O(n) a time.
    """

    def __init__(self, world: "World"):
        team = world.scenario.cs_team
        self.world = world
        self.env = world.env
        self.hours_per_week = team.hours_per_week
        self.capacity = team.headcount
        self.busy = 0
        #: Waiting requests: (priority, requested, arrival number, ticket).
        self.line: list[tuple[int, float, int, Ticket]] = []
        self._arrivals = itertools.count()
        self.days_per_hour = 7.0 / team.hours_per_week
        #: Requests not yet ended, per account index: cancelled if the account churns.
        self.open: dict[int, set[Ticket]] = {}

    def set_capacity(self, headcount: int, productive_fte: float) -> None:
        """The team changed (csim.engine.staffing): ``headcount`` servers, each working touches at
        the team's mean productivity, so the team's touch hours per week are
        ``productive_fte × hours_per_week``. Touches in service keep their duration."""
        if headcount <= 0:
            return
        self.capacity = max(self.capacity, headcount)  # the team only grows
        self.days_per_hour = 7.0 * headcount / (self.hours_per_week * productive_fte)
        self._serve_waiting()

    def _record(self, ticket: Ticket, finished: float, outcome: int, ended: float) -> None:
        w = self.world
        w.touches.add(ticket.acct.idx, ticket.play_index, w.policy.touch_code[ticket.play_index], ticket.requested,
                      ticket.started, finished, ticket.hours, outcome, ended)

    def request(self, acct: "Account", i: int, play: "Play", now: float) -> None:
        """Queue a touch, or start it at once if a CSM is free; with no CSMs at all (and none to be
        hired under a coverage rule) it expires at once."""
        ticket = Ticket(acct, i, play, now, next(self._arrivals))
        if self.capacity <= 0 and not self.world.staffing.coverage:
            ticket.state = EXPIRED
            self._record(ticket, NAN, EXPIRED, now)
            return
        self.open.setdefault(acct.idx, set()).add(ticket)
        if self.busy < self.capacity and not self.line:
            self._start(ticket, now)
        else:
            # A coverage team with nobody hired yet also lands here: the request waits for the first hire.
            heapq.heappush(self.line, (play.priority, now, ticket.number, ticket))

    def _end(self, ticket: Ticket, state: int) -> None:
        ticket.state = state
        pending = self.open.get(ticket.acct.idx)
        if pending is not None:
            pending.discard(ticket)

    def _expired(self, ticket: Ticket, now: float) -> bool:
        """If the request's deadline passed before ``now`` while it waited, record it expired at the
        deadline and say so."""
        deadline = ticket.requested + ticket.play.deadline_days
        if now <= deadline:
            return False
        self._end(ticket, EXPIRED)
        self._record(ticket, NAN, EXPIRED, deadline)
        return True

    def cancel(self, acct: "Account", now: float) -> None:
        """The account churned: its requests still waiting are cancelled now (or expired earlier)."""
        for ticket in sorted(self.open.pop(acct.idx, ()), key=lambda t: (t.requested, t.number)):
            if ticket.state == WAITING:
                if not self._expired(ticket, now):
                    ticket.state = CANCELLED
                    self._record(ticket, NAN, CANCELLED, now)
            else:  # in service: it finishes, its effect lands on a churned account and is dropped
                self.open.setdefault(acct.idx, set()).add(ticket)

    def _start(self, ticket: Ticket, now: float) -> None:
        """A CSM takes the touch: one timeout for its service."""
        self.busy += 1
        ticket.state = IN_SERVICE
        ticket.started = now
        play = ticket.play
        hours = play.csm_hours if play.duration == "fixed" else play.csm_hours * ticket.acct.dice.exp1(S.U_TOUCH)
        ticket.hours = hours
        days = hours * self.days_per_hour
        ticket.finish = now + days
        service = self.env.timeout(days)
        service.callbacks.append(lambda event: self._finished(ticket))

    def _serve_waiting(self) -> None:
        """Free CSMs take the head of the line; requests that ended while waiting are passed over."""
        now = self.env.now
        line = self.line
        while line and self.busy < self.capacity:
            ticket = heapq.heappop(line)[3]
            if ticket.state == WAITING and not self._expired(ticket, now):
                self._start(ticket, now)

    def _finished(self, ticket: Ticket) -> None:
        self.busy -= 1
        now = self.env.now
        self._end(ticket, DONE)
        self._record(ticket, now, DONE, now)
        if self.line:
            self._serve_waiting()
        acct = ticket.acct
        if acct.mrr == 0:
            return
        self.world.policy.apply(acct, ticket.play_index, now)
        acct.wake(now)

    def close(self, horizon: float) -> None:
        """At the horizon: record requests still waiting, and touches in service with the hours
        worked so far (served; ``finished`` and ``ended`` NaN)."""
        tickets = sorted((t for pending in self.open.values() for t in pending),
                         key=lambda t: (t.requested, t.acct.idx, t.play_index, t.number))
        for ticket in tickets:
            if ticket.state == WAITING:
                if not self._expired(ticket, horizon):
                    self._record(ticket, NAN, WAITING, NAN)
            elif ticket.state == IN_SERVICE:
                ticket.hours = min(ticket.hours, (horizon - ticket.started) / self.days_per_hour)
                self._record(ticket, NAN, DONE, NAN)
        self.open.clear()
