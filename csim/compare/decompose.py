"""Where a difference between strategies comes from: the mechanism decomposition.

A strategy changes outcomes through a handful of channels of the model. ``csim compare
--decompose`` re-runs the compared pair with one channel switched off at a time, on the same
random numbers, and attributes to each channel the part of the paired difference that disappears
without it:

    contribution_k = D(all channels) − D(all but channel k)

per replication, with a t-interval across replications. The contributions need not add up to
the whole: channels interact (a first value raises health, which then lowers churn and raises
expansion). The rest, ``D − Σ contribution_k``, is reported as the interaction term; and
``D(no channel)``, the difference left with every channel switched off, is reported too. It is
zero when the channels cover every way the strategies differ (checked by the tests).

Channels (each switched off by setting parameters to zero; the switches are data, see
:data:`CHANNELS`):

* ``referral`` — the referral loop and word of mouth: no referral leads, no lost deals;
* ``health_expansion`` — health → expansion and contraction rates;
* ``health_churn`` — health → the renewal decision;
* ``first_value`` — the first-value milestone moves health and target health;
* ``direct`` — direct touch effects: renewal log-odds, saves and expansions closed by a touch.

Health itself still moves when every channel is off; it just no longer changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from csim.metrics import t_interval
from csim.scenario.model import Scenario

__all__ = ["CHANNELS", "Channel", "DECOMPOSED_METRICS", "switch_off", "decompose"]


@dataclass(frozen=True)
class Channel:
    """A mechanism channel: its words and how to switch it off in a raw scenario mapping."""

    name: str
    label: str
    switch_off: Callable[[dict], None]


def _referral(data: dict) -> None:
    for segment in data["segments"]:
        segment["referral_rate"] = 0.0
    data["referral"]["detractor_loss"] = 0.0


def _health_expansion(data: dict) -> None:
    data["health"]["expansion_effect"] = 0.0
    data["health"]["contraction_effect"] = 0.0


def _health_churn(data: dict) -> None:
    data["health"]["churn_effect"] = 0.0


def _first_value(data: dict) -> None:
    data["onboarding"]["value_gain"] = 0.0
    data["onboarding"]["miss_penalty"] = 0.0


def _direct(data: dict) -> None:
    for play in data["strategy"]["plays"]:
        for key in ("renewal_logodds", "save_prob", "expansion_prob"):
            play["effect"][key] = 0.0


#: The channels, in report order.
CHANNELS: tuple[Channel, ...] = (
    Channel("referral", "referral loop and word of mouth", _referral),
    Channel("health_expansion", "health → expansion and contraction", _health_expansion),
    Channel("health_churn", "health → renewal decision", _health_churn),
    Channel("first_value", "first-value milestone → health", _first_value),
    Channel("direct", "direct touch effects (renewal calls, saves, expansion offers)", _direct),
)

#: Metrics decomposed: name in the comparison's per-replication values.
DECOMPOSED_METRICS: tuple[str, ...] = ("ending_arr", "logo_churn_annual", "cumulative_revenue")


def switch_off(scenario: Scenario, channels: Sequence[str]) -> Scenario:
    """The scenario with the named channels switched off (names from :data:`CHANNELS`)."""
    known = {c.name: c for c in CHANNELS}
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]!r} (known: {', '.join(known)})")
    data = scenario.model_dump()
    for name in channels:
        known[name].switch_off(data)
    return Scenario.model_validate(data)


def _interval(values: np.ndarray) -> dict:
    i = t_interval(values)
    return {"mean": i.mean, "ci_low": i.low, "ci_high": i.high, "n": i.n}


def decompose(differences: dict[str, dict[str, np.ndarray]]) -> dict:
    """Channel contributions from the paired differences of every variant.

    ``differences[variant][metric]`` holds the per-replication paired difference (scenario −
    reference) of a variant: ``"full"`` (nothing switched off), ``"none"`` (every channel off),
    and ``"without:<channel>"`` for each channel. Returns a JSON-ready dict per metric:
    ``whole``, ``no_channel``, ``channels`` (contribution, share of the whole), ``interaction``
    (whole − sum of contributions) — each a mean with its t-interval over replications.
    """
    out = {}
    for metric in DECOMPOSED_METRICS:
        whole = differences["full"][metric]
        mean_whole = float(np.nanmean(whole)) if np.isfinite(whole).any() else float("nan")
        rows = []
        total = np.zeros_like(whole)
        for channel in CHANNELS:
            contribution = whole - differences[f"without:{channel.name}"][metric]
            total = total + contribution
            stat = _interval(contribution)
            stat["share"] = stat["mean"] / mean_whole if mean_whole else float("nan")
            rows.append({"channel": channel.name, "label": channel.label, **stat})
        interaction = _interval(whole - total)
        interaction["share"] = interaction["mean"] / mean_whole if mean_whole else float("nan")
        out[metric] = {"whole": _interval(whole), "no_channel": _interval(differences["none"][metric]),
                       "channels": rows, "interaction": interaction}
    return out
