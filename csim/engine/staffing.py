"""The CS team's size over time: a fixed headcount, or coverage that follows the book.

Teams plan capacity by coverage ratios (accounts or ARR per CSM). With a coverage rule
(``cs_team.accounts_per_csm`` per segment and/or ``cs_team.arr_per_csm``) a staffing review at
the start of every month compares the CSMs the book requires with the team plus the hires
already under way, and opens the difference; a hire joins ``hiring_delay_days`` later and works
at half productivity for ``ramp_months`` (assumption: a new CSM carries a partial book while
learning the product and the accounts). The team does not shrink when the book does (no
layoffs; attrition is left out).

Capacity is pooled: the team is ``headcount`` SimPy servers, and a touch of h CSM hours holds one
for h·7 / (hours_per_week × mean productivity) days, so the team's hours per week are
``productive FTE × hours_per_week`` exactly while new hires ramp. Every month the team is recorded
(``staffing`` table: headcount, productive FTE at the month end, CSM hours available and
CSM-days paid in the month), and CS cost and utilisation follow it month by month.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from csim.records import MONTH_DAYS

if TYPE_CHECKING:  # pragma: no cover
    from csim.engine.world import World

#: Productivity of a CSM during the ramp (assumption: half a book while learning).
RAMP_PRODUCTIVITY = 0.5


class Staffing:
    """Headcount, hires under way and productivity of one replication's CS team."""

    def __init__(self, world: "World"):
        team = world.scenario.cs_team
        self.world = world
        self.team = team
        self.coverage = team.accounts_per_csm is not None or team.arr_per_csm is not None
        segments = [s.name for s in world.scenario.segments]
        ratios = team.accounts_per_csm or {}
        #: Accounts per CSM by segment code (segments without a ratio need no CSM by count).
        self.per_csm = [ratios.get(name) for name in segments]
        self.joined: list[float] = [-math.inf] * team.headcount  # the starting team is fully productive
        self.pending = 0
        self.rows: dict[str, list] = {"month": [], "headcount": [], "productive_fte": [], "capacity_hours": [],
                                      "csm_days": []}
        self._since = 0.0          # last change of the team, day
        self._fte_days = 0.0       # ∫ productive FTE dt over the current month
        self._head_days = 0.0      # ∫ headcount dt over the current month

    # ------------------------------------------------------------------ the team
    @property
    def headcount(self) -> int:
        return len(self.joined)

    def productive_fte(self, now: float) -> float:
        ramp = self.team.ramp_months * MONTH_DAYS
        return sum(1.0 if now - j >= ramp else RAMP_PRODUCTIVITY for j in self.joined)

    def required(self) -> int:
        """CSMs the book requires now under the coverage rule (0 without one)."""
        if not self.coverage:
            return 0
        counts = [0] * len(self.per_csm)
        mrr = 0
        for acct in self.world.accounts:
            if acct.mrr > 0:
                counts[acct.segment] += 1
                mrr += acct.mrr
        need = 0.0
        if any(r is not None for r in self.per_csm):
            need = sum(n / r for n, r in zip(counts, self.per_csm) if r is not None)
        if self.team.arr_per_csm is not None:
            need = max(need, 12.0 * mrr / 100.0 / self.team.arr_per_csm)
        return math.ceil(need - 1e-9)

    def _accrue(self, now: float) -> None:
        days = now - self._since
        if days > 0:
            self._fte_days += days * self.productive_fte(self._since)
            self._head_days += days * self.headcount
        self._since = now

    def _apply(self, now: float) -> None:
        """Tell the CS team the new headcount and mean productivity."""
        self.world.cs_team.set_capacity(self.headcount, self.productive_fte(now))

    # ------------------------------------------------------------------ events
    def review(self, now: float) -> None:
        """Start of a month: hire what the book requires beyond the team and the hires under way;
        ramping CSMs may have become fully productive."""
        self._accrue(now)
        if not self.coverage:
            return  # a fixed team: nothing to hire, capacity as built
        gap = self.required() - self.headcount - self.pending
        for _ in range(max(0, gap)):
            self.pending += 1
            event = self.world.env.timeout(self.team.hiring_delay_days)
            event.callbacks.append(lambda _event: self._join())
        self._apply(now)

    def _join(self) -> None:
        now = self.world.env.now
        self._accrue(now)
        self.pending -= 1
        self.joined.append(now)
        self._apply(now)

    def close_month(self, month: int, now: float) -> None:
        """Record month ``month`` (ending at ``now``)."""
        self._accrue(now)
        r = self.rows
        r["month"].append(month)
        r["headcount"].append(self.headcount)
        r["productive_fte"].append(self.productive_fte(now))
        r["capacity_hours"].append(self._fte_days * self.team.hours_per_week / 7.0)
        r["csm_days"].append(self._head_days)
        self._fte_days = self._head_days = 0.0
