"""The strategy interpreter: turns triggers into touch requests and touches into effects.

Plays are data (:class:`csim.scenario.Play`); this module holds the small policy functions that
read them. Triggers come from the account process; touches that need a CSM queue at the CS team,
tech-touches act at once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from csim.engine import streams as S
from csim.engine.account import FV_PENDING, INF
from csim.records import TOUCH_OUTCOMES
from csim.strategy import TOUCH_KINDS, Trigger, crosses

if TYPE_CHECKING:  # pragma: no cover
    from csim.engine.account import Account
    from csim.engine.world import World
    from csim.scenario.model import Play

DONE, EXPIRED, CANCELLED, WAITING = (TOUCH_OUTCOMES.index(o) for o in ("done", "expired", "cancelled", "waiting"))


class Policy:
    """Interprets the plays of one scenario for every account of a replication."""

    def __init__(self, world: "World"):
        self.world = world
        self.plays: tuple[Play, ...] = world.scenario.strategy.plays
        self.touch_code = [TOUCH_KINDS.index(p.touch) for p in self.plays]
        self.by_trigger: dict[Trigger, list[int]] = {}
        for i, play in enumerate(self.plays):
            self.by_trigger.setdefault(Trigger[play.trigger.upper()], []).append(i)
        #: (play index, threshold, fires when falling below) for the health-threshold plays.
        self.health_plays = [(i, p.threshold, p.trigger == Trigger.HEALTH_BELOW.name.lower())
                             for i, p in enumerate(self.plays)
                             if Trigger[p.trigger.upper()] in (Trigger.HEALTH_BELOW, Trigger.HEALTH_ABOVE)]
        self.cadence = Trigger.CADENCE.name.lower()
        #: Per play, (handler, value) of its non-zero effects in EFFECT_HANDLERS order.
        self.effects = [[(handler, getattr(p.effect, field)) for field, handler in EFFECT_HANDLERS.items()
                         if getattr(p.effect, field)] for p in self.plays]
        #: Per segment, (threshold, fires when falling below) of the health plays that apply to it:
        #: a health move across one of these is an event of its own (csim.engine.account._advance).
        self.health_thresholds = [tuple((threshold, below) for i, threshold, below in self.health_plays
                                        if world.play_applies(i, segment)) for segment in range(len(world.segments))]

    # ------------------------------------------------------------------ triggers
    def on_trigger(self, acct: "Account", trigger: Trigger, now: float, since: float) -> None:
        """Fire every play of ``trigger`` that applies to the account's segment."""
        for i in self.by_trigger.get(trigger, ()):
            play = self.plays[i]
            if self.world.play_applies(i, acct.segment):
                self._schedule(acct, i, since + play.delay_days, now)

    def start_cadences(self, acct: "Account", now: float) -> None:
        """Schedule the next occurrence of every cadence play (from start + delay, every N days)."""
        for i in self.by_trigger.get(Trigger.CADENCE, ()):
            play = self.plays[i]
            if not self.world.play_applies(i, acct.segment):
                continue
            first = acct.start + play.delay_days
            if first < now:
                first += math.ceil((now - first) / play.every_days) * play.every_days
            self._schedule(acct, i, first, now)

    def on_health_change(self, acct: "Account", old: float, now: float) -> None:
        """Fire health-threshold plays when health crosses their threshold (with a cooldown)."""
        new = acct.health
        for i, threshold, below in self.health_plays:
            if not crosses(old, new, threshold, below) or not self.world.play_applies(i, acct.segment):
                continue
            if now - acct.last_fired.get(i, -INF) < self.plays[i].cooldown_days:
                continue
            acct.last_fired[i] = now
            self._schedule(acct, i, now + self.plays[i].delay_days, now)

    def _schedule(self, acct: "Account", i: int, when: float, now: float) -> None:
        if when <= now:
            self.request_touch(acct, i, now)
            return
        acct.schedule_play(when, i)

    def run_due_play(self, acct: "Account", now: float) -> None:
        """The account's next scheduled play is due: request its touches (and re-arm cadences)."""
        for when, i in acct.due_plays(now):
            play = self.plays[i]
            if play.trigger == self.cadence:
                acct.schedule_play(when + play.every_days, i)
            self.request_touch(acct, i, now)

    # ------------------------------------------------------------------ touches
    def request_touch(self, acct: "Account", i: int, now: float) -> None:
        """A touch is wanted now: tech-touch acts at once, CSM touches queue at the CS team."""
        play = self.plays[i]
        w = self.world
        if play.csm_hours <= 0.0 or play.touch == "tech_touch":
            w.touches.add(acct.idx, i, self.touch_code[i], now, now, now, 0.0, DONE, now)
            self.apply(acct, i, now)
            return
        w.cs_team.request(acct, i, play, now)

    def apply(self, acct: "Account", i: int, now: float) -> None:
        """The effect of a completed touch on the account (effects may be zero or negative)."""
        assert acct.applied_to <= now, "a touch reached an account that had moved past it"
        acct.touches += 1
        for handler, value in self.effects[i]:
            handler(acct, value, now)


def _first_value_prob(acct: "Account", value: float, now: float) -> None:
    if acct.fv_state == FV_PENDING:
        acct.raise_first_value_prob(value)


def _save(acct: "Account", value: float, now: float) -> None:
    if acct.intent and acct.dice.u(S.U_TOUCH) < value:
        acct.save(now)


def _expansion(acct: "Account", value: float, now: float) -> None:
    if acct.dice.u(S.U_TOUCH) < value:
        acct.expand(now, acct.seg.expansion_size)


#: What each effect field of a touch does, in the order they act (the order matters: a save or
#: an expansion draws from the account's touch numbers, and health last re-rates its clocks).
#: Every field of csim.scenario.model.Effect has exactly one handler (a test checks).
EFFECT_HANDLERS = {
    "first_value_prob": _first_value_prob,
    "first_value_speedup": lambda acct, value, now: acct.speed_up_first_value(value, now),
    "target_health": lambda acct, value, now: acct.shift_target_health(value),
    "renewal_logodds": lambda acct, value, now: acct.add_renewal_bonus(value, now),
    "save_prob": _save,
    "expansion_prob": _expansion,
    "health": lambda acct, value, now: acct.set_health(acct.health + value, now),
}
