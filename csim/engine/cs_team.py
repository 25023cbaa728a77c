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
from csim.engine.policy import CANCELLED, DONE, EXPIRED

if TYPE_CHECKING:  # pragma: no cover
    from csim.engine.account import Account
    from csim.engine.world import World
    from csim.scenario.model import Play


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


class CSTeam:
    """Queue and serve the touches of one replication."""

    def __init__(self, world: "World"):
        team = world.scenario.cs_team
        self.world = world
        self.env = world.env
        self.server = CSMPool(self.env, capacity=team.headcount) if team.headcount > 0 else None
        self.days_per_hour = 7.0 / team.hours_per_week

    def request(self, acct: "Account", i: int, play: "Play", now: float) -> None:
        """Queue a touch; with no CSMs at all it expires at once.

        The touch is driven by callbacks on the request and service events rather than a
        process of its own: the same queueing, half the SimPy events per touch.
        """
        if self.server is None:
            self.world.touches.add(acct.idx, i, self.world.policy.touch_code[i], now, float("nan"), float("nan"), 0.0, EXPIRED)
            return
        request = self.server.request(priority=play.priority)
        request.callbacks.append(lambda event: self._granted(event, acct, i, play, now))

    def _granted(self, request, acct: "Account", i: int, play: "Play", requested: float) -> None:
        env, w = self.env, self.world
        started = env.now
        # Reneging is checked when a CSM becomes free: an expired request holds no CSM time.
        outcome = EXPIRED if started - requested > play.deadline_days else (CANCELLED if acct.mrr == 0 else DONE)
        if outcome != DONE:
            self.server.release(request)
            nan = float("nan")
            w.touches.add(acct.idx, i, w.policy.touch_code[i], requested, nan, nan, 0.0, outcome)
            return
        hours = play.csm_hours if play.duration == "fixed" else play.csm_hours * acct.dice.exp1(S.U_TOUCH)
        service = env.timeout(hours * self.days_per_hour)
        service.callbacks.append(lambda event: self._finished(request, acct, i, requested, started, hours))

    def _finished(self, request, acct: "Account", i: int, requested: float, started: float, hours: float) -> None:
        w = self.world
        self.server.release(request)
        now = self.env.now
        w.touches.add(acct.idx, i, w.policy.touch_code[i], requested, started, now, hours, DONE)
        if acct.mrr == 0:
            return
        w.policy.apply(acct, i, now)
        acct.wake()
