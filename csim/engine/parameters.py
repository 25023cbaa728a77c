"""Uncertain parameters drawn once per replication (probabilistic sensitivity analysis).

A scenario parameter given as a distribution (:mod:`csim.scenario.uncertain`) takes one value
per replication: the quantile of its distribution at a uniform number from the stream
``SeedSequence(seed, spawn_key=(replication, PARAMETERS, h))``, where ``h`` is a stable 32-bit
hash of the parameter's draw key (its ``name``, or its dotted path). The number depends on
(seed, replication, key) only, so every strategy that names a parameter draws the same quantile
of it in a replication (common random numbers), whatever else the scenarios contain, and the
engine then simulates a plain scenario with those numbers.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np

from csim.engine import streams as S
from csim.scenario.model import Scenario
from csim.scenario.uncertain import uncertain_parameters, with_values

__all__ = ["key_hash", "uniform_for", "resolve", "parameter_draws"]


def key_hash(key: str) -> int:
    """A 32-bit hash of a draw key, the same in every process and Python version."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "little")


def uniform_for(seed: int, replication: int, key: str) -> float:
    """The uniform number in (0, 1) behind parameter ``key`` in a replication."""
    u = S.stream(seed, replication, S.PARAMETERS, key_hash(key)).random()
    return u if u > 0.0 else float(np.nextafter(0.0, 1.0))  # ppf(0) is -inf for unbounded priors


def resolve(scenario: Scenario, seed: int, replication: int) -> Scenario:
    """The scenario with every distribution replaced by its draw for this replication.

    A scenario without distributions is returned as it is (the same object).
    """
    params = uncertain_parameters(scenario)
    if not params:
        return scenario
    return with_values(scenario, {p.path: p.distribution.value(uniform_for(seed, replication, p.key))
                                  for p in params})


def parameter_draws(scenario: Scenario, seed: int, replications: Iterable[int]) -> dict[str, np.ndarray]:
    """The draws of every uncertain parameter per replication: ``{key: array over replications}``.

    A key that stands for several parameters (a shared ``name``) reports the first one's draws.
    """
    replications = list(replications)
    draws: dict[str, np.ndarray] = {}
    for p in uncertain_parameters(scenario):
        if p.key not in draws:
            draws[p.key] = np.array([p.distribution.value(uniform_for(seed, r, p.key)) for r in replications])
    return draws
