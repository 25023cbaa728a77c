"""The customer-success team: CSMs as a SimPy priority resource that touches queue for.

A touch of ``h`` CSM hours occupies one CSM for ``h · 7 / hours_per_week`` calendar days: a CSM
works the touch through the hours of the week they have for touches. With exponential touch
durations and Poisson requests the team is an M/M/c queue (tested against Erlang C).
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING

import simpy

from csim.engine import streams as S
from csim.engine.policy import CANCELLED, DONE, EXPIRED, WAITING

if TYPE_CHECKING:  # pragma: no cover
    from csim.engine.account import Account
    from csim.engine.world import World
    from csim.scenario.model import Play


NAN = float("nan")
#: A request being served (not an outcome: it ends as done, or is recorded as served at the horizon).
IN_SERVICE = -1


class HeapQueue:
    """Put-queue of a priority resource as a binary heap.

    SimPy's own ``SortedQueue`` re-sorts the whole list on every request, which turns an
    overloaded CS team (thousands of waiting touches) quadratic. SimPy documents ``PutQueue`` as
    replaceable and reads only ``append``, ``pop``, ``[idx]`` and ``len``; for a resource it only
    ever looks at index 0, the head. Order is SimPy's own request key (priority, time, preempt),
    ties broken first come, first served.
    """

    __slots__ = ("_heap", "_count")

    def __init__(self) -> None:
        self._heap: list = []
        self._count = itertools.count()

    def append(self, request) -> None:
        heapq.heappush(self._heap, (request.key, next(self._count), request))

    def __len__(self) -> int:
        return len(self._heap)

    def __getitem__(self, index: int):
        if index != 0:
            raise IndexError("only the head of a HeapQueue is addressable")
        return self._heap[0][2]

    def pop(self, index: int = 0):
        if index != 0:
            raise IndexError("only the head of a HeapQueue can be popped")
        return heapq.heappop(self._heap)[2]

    def remove(self, request) -> None:
        """Withdraw a waiting request (``Request.cancel``)."""
        for i, entry in enumerate(self._heap):
            if entry[2] is request:
                self._heap[i] = self._heap[-1]
                self._heap.pop()
                heapq.heapify(self._heap)
                return
        raise ValueError("request not in queue")


class CSMPool(simpy.PriorityResource):
    """CSMs: a priority resource whose waiting line is a :class:`HeapQueue`."""

    PutQueue = HeapQueue


class Ticket:
    """One touch request and where it stands (waiting, in service, or ended)."""

    __slots__ = ("acct", "play_index", "play", "requested", "request", "started", "hours", "state")

    def __init__(self, acct: "Account", play_index: int, play: "Play", requested: float):
        self.acct, self.play_index, self.play, self.requested = acct, play_index, play, requested
        self.request = None
        self.started = NAN
        self.hours = 0.0
        self.state = WAITING


class CSTeam:
    """Queue and serve the touches of one replication.

    Every request ends as exactly one of (csim.records.TOUCH_OUTCOMES): served (``done``),
    ``expired`` at its deadline, ``cancelled`` when its account churns while it waits (recorded
    at the churn), or ``waiting`` at the horizon (recorded by :meth:`close`). Expiry is recorded
    at the exact deadline, ``requested + deadline_days``, and found when it matters: when a CSM
    reaches the request (which is then released at once, holding no CSM time), when its account
    churns (a request past its deadline had expired before the churn) or at the horizon. This is
    the same queue as a timeout racing each request, with no extra event per request; withdrawing
    a request from the heap on the spot would cost O(n) a time.
    """

    def __init__(self, world: "World"):
        team = world.scenario.cs_team
        self.world = world
        self.env = world.env
        self.hours_per_week = team.hours_per_week
        self.server = CSMPool(self.env, capacity=team.headcount) if team.headcount > 0 else None
        self.days_per_hour = 7.0 / team.hours_per_week
        #: Requests not yet ended, per account index: cancelled if the account churns.
        self.open: dict[int, set[Ticket]] = {}

    def set_capacity(self, headcount: int, productive_fte: float) -> None:
        """The team changed (csim.engine.staffing): ``headcount`` servers, each working touches at
        the team's mean productivity, so the team's touch hours per week are
        ``productive_fte × hours_per_week``. Touches in service keep their duration."""
        if headcount <= 0:
            return
        if self.server is None:
            self.server = CSMPool(self.env, capacity=1)
            self.server._capacity = 0
        added = headcount - self.server.capacity
        self.server._capacity = headcount  # SimPy fixes capacity at construction; the team only grows
        for _ in range(max(0, added)):
            self.server._trigger_put(None)  # each call starts at most one waiting request
        self.days_per_hour = 7.0 * headcount / (self.hours_per_week * productive_fte)

    def _record(self, ticket: Ticket, finished: float, outcome: int, ended: float) -> None:
        w = self.world
        w.touches.add(ticket.acct.idx, ticket.play_index, w.policy.touch_code[ticket.play_index], ticket.requested,
                      ticket.started, finished, ticket.hours, outcome, ended)

    def request(self, acct: "Account", i: int, play: "Play", now: float) -> None:
        """Queue a touch; with no CSMs at all it expires at once.

        The touch is driven by callbacks on the request, deadline and service events rather
        than a process of its own: the same queueing, fewer SimPy events per touch.
        """
        ticket = Ticket(acct, i, play, now)
        if self.server is None and not self.world.staffing.coverage:
            ticket.state = EXPIRED
            self._record(ticket, NAN, EXPIRED, now)
            return
        self.open.setdefault(acct.idx, set()).add(ticket)
        if self.server is None:  # a coverage team with nobody hired yet: the request waits for the first hire
            self.server = CSMPool(self.env, capacity=1)
            self.server._capacity = 0
        ticket.request = request = self.server.request(priority=play.priority)
        request.callbacks.append(lambda event: self._granted(ticket))

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
        for ticket in sorted(self.open.pop(acct.idx, ()), key=lambda t: t.requested):
            if ticket.state == WAITING:
                if not self._expired(ticket, now):
                    ticket.state = CANCELLED
                    self._record(ticket, NAN, CANCELLED, now)
            else:  # in service: it finishes, its effect lands on a churned account and is dropped
                self.open.setdefault(acct.idx, set()).add(ticket)

    def _granted(self, ticket: Ticket) -> None:
        env = self.env
        if ticket.state != WAITING or self._expired(ticket, env.now):
            self.server.release(ticket.request)  # cancelled or expired while queued: no CSM time
            return
        ticket.state = IN_SERVICE
        ticket.started = env.now
        play = ticket.play
        hours = play.csm_hours if play.duration == "fixed" else play.csm_hours * ticket.acct.dice.exp1(S.U_TOUCH)
        ticket.hours = hours
        service = env.timeout(hours * self.days_per_hour)
        service.callbacks.append(lambda event: self._finished(ticket))

    def _finished(self, ticket: Ticket) -> None:
        self.server.release(ticket.request)
        now = self.env.now
        self._end(ticket, DONE)
        self._record(ticket, now, DONE, now)
        acct = ticket.acct
        if acct.mrr == 0:
            return
        self.world.policy.apply(acct, ticket.play_index, now)
        acct.wake()

    def close(self, horizon: float) -> None:
        """At the horizon: record requests still waiting, and touches in service with the hours
        worked so far (served; ``finished`` and ``ended`` NaN)."""
        tickets = sorted((t for pending in self.open.values() for t in pending),
                         key=lambda t: (t.requested, t.acct.idx, t.play_index))
        for ticket in tickets:
            if ticket.state == WAITING:
                if not self._expired(ticket, horizon):
                    self._record(ticket, NAN, WAITING, NAN)
            elif ticket.state == IN_SERVICE:
                ticket.hours = min(ticket.hours, (horizon - ticket.started) / self.days_per_hour)
                self._record(ticket, NAN, DONE, NAN)
        self.open.clear()
