"""Customer-success strategy vocabulary: touch kinds, triggers and what a touch does.

A strategy is data (a list of plays in the scenario file); the engine interprets it with the
small policy functions here. Nothing in this module knows about SimPy.
"""

from __future__ import annotations

import math
from enum import IntEnum

#: Kinds of customer-success touch. Codes (indices) are stored in the touches table.
TOUCH_KINDS: tuple[str, ...] = (
    "onboarding_session",   # kick-off / training during onboarding
    "value_plan",           # agree the customer's expected value and milestones at the start
    "first_value_check",    # chase the first-value milestone
    "value_review",         # periodic review / QBR reporting delivered value
    "health_intervention",  # proactive call on a low health score
    "expansion_offer",      # upsell / cross-sell conversation
    "renewal_call",         # renewal push before the term ends
    "save_attempt",         # best people on an account that gave notice
    "tech_touch",           # automated message; costs no CSM time
    "support",              # reactive support request raised by the customer
)

#: When a play fires.
TRIGGERS: tuple[str, ...] = (
    "onboarding_start",     # at the first payment (delay_days after it)
    "first_value_missed",   # when the onboarding window closes without first value
    "cadence",              # every `every_days` from start + delay_days, while a customer
    "renewal_window",       # when the renewal window of a term opens (+ delay_days)
    "health_below",         # when health falls below `threshold` (at most once per cooldown)
    "health_above",         # when health rises above `threshold` (at most once per cooldown)
    "churn_intent",         # when the account gives notice of non-renewal
    "request",              # customer-initiated, Poisson at `rate_per_year` per account
)


#: Triggers as names the engine uses (``Trigger.RENEWAL_WINDOW``): a misspelt trigger is an
#: AttributeError at import, not a play that silently never fires. Values index TRIGGERS.
Trigger = IntEnum("Trigger", {name.upper(): code for code, name in enumerate(TRIGGERS)})


def logit(p: float) -> float:
    """Log-odds of a probability in (0, 1); ±inf at the ends."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def expit(x: float) -> float:
    """Inverse of :func:`logit`."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def clip_health(h: float) -> float:
    """Health lives in [0, 1]."""
    return 0.0 if h < 0.0 else (1.0 if h > 1.0 else h)


def crosses(old: float, new: float, threshold: float, below: bool) -> bool:
    """Whether health moving from ``old`` to ``new`` crosses a health play's ``threshold``: falling
    under it (``health_below``, ``below`` true) or rising over it (``health_above``)."""
    return (old >= threshold > new) if below else (old <= threshold < new)
