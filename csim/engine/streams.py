"""Random streams: one root seed, independent streams per replication and per random purpose.

Every stream is ``SeedSequence(seed, spawn_key=(replication, purpose, ...))`` — exactly the
child that ``SeedSequence(seed).spawn`` would hand out at that position — so a stream depends
only on (seed, replication, purpose), never on the order in which the run consumes the others.

Common random numbers. Each account owns its *dice*: for every random purpose (its first-value
draw, its churn budget, the k-th expansion, the k-th health move, ...) a fixed pool of numbers
drawn up front and keyed by where the account came from (initial book, marketing lead number,
referral number). Two strategies run on the same replication therefore give account k the same
k-th expansion size, the same churn budget and so on, even when the strategy changes how many
expansions it has or in which order accounts act. A pool that runs dry continues from a stream
of its own, spawned from the same key, so the coupling survives that too.

Pools are rows of flat float64 buffers cut from chunks of 1024 accounts: one numpy call per
chunk, 8 bytes per number, and plain-float indexing (a memoryview) in the hot path.
"""

from __future__ import annotations

import math

import numpy as np

# Per-replication purposes (second element of the spawn key).
MARKETING_LEADS = 0
INITIAL_BOOK = 1
REFERRAL_LEADS = 2
ACCOUNT_DICE = 3   # + source: (rep, ACCOUNT_DICE, source, chunk)
SPILL = 4          # (rep, SPILL, source, index, purpose)
PARAMETERS = 5     # (rep, PARAMETERS, key hash): one uniform per uncertain parameter (csim.engine.parameters)
CHURN_PROPENSITY = 7  # (rep, CHURN_PROPENSITY, source, chunk): one uniform per account, drawn only when used
# Streams that belong to no replication use the key (NO_REPLICATION, purpose).
NO_REPLICATION = 2**32 - 1
SWEEP_DESIGN = (NO_REPLICATION, 6)   # the points of a sweep design (csim.sweep.design)

CHUNK = 1024

# Uniform pools: name -> size. Order fixes the layout of a row; append only.
UNIFORM_POOLS: tuple[tuple[str, int], ...] = (
    ("first_value", 1),       # reach the milestone?
    ("churn_budget", 4),      # Exp(1) budgets of non-renewal (one per life after reactivation or save)
    ("expansion", 16),        # Exp(1) clock budgets
    ("contraction", 8),
    ("payment_failure", 8),
    ("recovery", 8),          # dunning outcome
    ("review", 32),           # health-move clock budgets
    ("referral", 8),
    ("reactivation", 4),      # come back at all?
    ("reactivation_time", 4),
    ("request", 16),          # customer-initiated touch requests
    ("touch", 32),            # touch durations and touch outcomes
)
NORMAL_POOLS: tuple[tuple[str, int], ...] = (
    ("mrr", 1),
    ("first_value_time", 1),
    ("initial_health", 1),
    ("expansion_size", 16),
    ("review_shock", 32),
)


def _layout(pools: tuple[tuple[str, int], ...]) -> tuple[dict[str, int], list[int], list[int], int]:
    index, starts, ends, pos = {}, [], [], 0
    for i, (name, size) in enumerate(pools):
        index[name] = i
        starts.append(pos)
        pos += size
        ends.append(pos)
    return index, starts, ends, pos


U_INDEX, U_START, U_END, U_WIDTH = _layout(UNIFORM_POOLS)
Z_INDEX, Z_START, Z_END, Z_WIDTH = _layout(NORMAL_POOLS)
N_U = len(UNIFORM_POOLS)

# Integer handles for the hot path (dice.u(U_REVIEW) instead of a dict look-up).
U_FIRST_VALUE, U_CHURN, U_EXPANSION, U_CONTRACTION, U_PAYFAIL, U_RECOVERY, U_REVIEW, U_REFERRAL, \
    U_REACTIVATION, U_REACTIVATION_TIME, U_REQUEST, U_TOUCH = range(N_U)
Z_MRR, Z_FIRST_VALUE_TIME, Z_INITIAL_HEALTH, Z_EXPANSION_SIZE, Z_REVIEW_SHOCK = range(len(NORMAL_POOLS))


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent generator for ``(seed, key...)``; the same key always gives the same stream."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


class DiceSource:
    """Hands out the dice of accounts from one source (initial book, marketing, referral)."""

    def __init__(self, seed: int, replication: int, source: int):
        self.seed, self.replication, self.source = seed, replication, source
        self._chunks: dict[int, tuple[memoryview, memoryview]] = {}
        self._propensity: dict[int, list[float]] = {}

    def _chunk(self, c: int) -> tuple[memoryview, memoryview]:
        chunk = self._chunks.get(c)
        if chunk is None:
            rng = stream(self.seed, self.replication, ACCOUNT_DICE, self.source, c)
            # Read through memoryviews of numpy's own buffers: indexing gives plain floats as fast
            # as an array("d") does, without copying 1.5 MB per chunk (most marketing leads never
            # become accounts, so most rows of a chunk are never read).
            u = memoryview(rng.random(CHUNK * U_WIDTH))
            z = memoryview(rng.standard_normal(CHUNK * Z_WIDTH))
            chunk = self._chunks[c] = (u, z)
        return chunk

    def propensity(self, index: int) -> float:
        """The account's uniform for its churn propensity (segments with churn_concentration).

        A stream of its own, cut in chunks like the dice, so that scenarios without
        heterogeneity draw nothing and every other number stays where it was.
        """
        c, row = divmod(index, CHUNK)
        chunk = self._propensity.get(c)
        if chunk is None:
            chunk = self._propensity[c] = stream(self.seed, self.replication, CHURN_PROPENSITY, self.source, c).random(CHUNK).tolist()
        return chunk[row]

    def dice(self, index: int) -> "Dice":
        """The dice of the account with this index within the source."""
        c, row = divmod(index, CHUNK)
        u, z = self._chunk(c)
        return Dice(self, index, u, z, row * U_WIDTH, row * Z_WIDTH)


class Dice:
    """One account's random numbers, pool by pool. ``u(p)`` is uniform on [0, 1), ``z(p)`` N(0, 1).

    Positions are kept relative to the account's row (small integers, which Python shares), with
    the row's offset in the chunk added at each draw: a 100,000-account book holds one of these
    per account, and absolute positions cost ~1.3 KB each in integer objects.
    """

    __slots__ = ("_source", "_index", "_u", "_z", "_ubase", "_zbase", "_upos", "_zpos", "_spill")

    def __init__(self, source: DiceSource, index: int, u: memoryview, z: memoryview, ubase: int, zbase: int):
        self._source, self._index, self._u, self._z = source, index, u, z
        self._ubase, self._zbase = ubase, zbase
        self._upos = list(U_START)
        self._zpos = list(Z_START)
        self._spill: dict[int, list[float]] | None = None

    def u(self, pool: int) -> float:
        p = self._upos[pool]
        if p < U_END[pool]:
            self._upos[pool] = p + 1
            return self._u[self._ubase + p]
        return self._overflow(pool, False)

    def z(self, pool: int) -> float:
        p = self._zpos[pool]
        if p < Z_END[pool]:
            self._zpos[pool] = p + 1
            return self._z[self._zbase + p]
        return self._overflow(N_U + pool, True)

    def propensity(self) -> float:
        """The account's churn-propensity uniform (:meth:`DiceSource.propensity`)."""
        return self._source.propensity(self._index)

    def exp1(self, pool: int) -> float:
        """A standard exponential from a uniform pool (inverse transform keeps the coupling monotone)."""
        p = self._upos[pool]
        if p < U_END[pool]:  # self.u(pool), inlined: the hot path's most frequent draw
            self._upos[pool] = p + 1
            return -math.log(1.0 - self._u[self._ubase + p])
        return -math.log(1.0 - self._overflow(pool, False))

    def _overflow(self, key: int, normal: bool) -> float:
        # A pool ran dry: continue from a stream of its own, keyed by account and purpose.
        if self._spill is None:
            self._spill = {}
        values = self._spill.get(key)
        if not values:
            s = self._source
            rng = stream(s.seed, s.replication, SPILL, s.source, self._index, key)
            values = (rng.standard_normal(64) if normal else rng.random(64)).tolist()
            values.reverse()
            self._spill[key] = values
        return values.pop()
