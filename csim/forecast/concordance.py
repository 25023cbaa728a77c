"""Harrell's concordance index for censored, left-truncated tenure (statsmodels and scipy lack it).

Definitions follow R ``survival::concordance`` (``timewt = "n"``, i.e. Harrell's C) so the
numbers agree with ``concordance(coxph(Surv(entry, exit, event) ~ x + strata(s)))``:

* a pair (i, j) is *comparable* when i churned at t_i and j was at risk then and outlasted i:
  entry_j < t_i (j already under observation: with left truncation a customer is at risk on
  (entry, exit]), and t_j > t_i, or t_j = t_i with j still active (an active customer at the
  same tenure counts as having lasted longer; two churns at the same tenure are not comparable);
* with strata, only pairs within the same stratum count (R adds the per-stratum counts);
* the pair is *concordant* when the model gives i, who churned first, the higher risk score,
  *discordant* when the lower, and *tied* when equal.

C = (concordant + ½ tied) / (concordant + discordant + tied): 0.5 is chance, 1 perfect. Rows
with a positive entry at or after their exit are never at risk and are left out (R refuses them).

Counting is vectorised over ``log2(n)`` levels of a bottom-up merge (one ``argsort`` and one
``searchsorted`` per level), so a million customers take seconds rather than the minutes an
interpreted pairwise or tree loop would. Left truncation adds one more such count: the pairs
counted as "j outlasted i" although j entered only at or after t_i are subtracted.
"""

from __future__ import annotations

import numpy as np


def _pairs_below(order_key: np.ndarray, rank: np.ndarray, weight: np.ndarray,
                 target: np.ndarray | None = None) -> tuple[float, float]:
    """Sum over i of weight_i · #{target j after i in ``order_key`` order with rank_j < rank_i}, and ties.

    Positions are the sorted order; at each merge level the left half-block is compared with
    the right half-block of the same block, so every ordered pair is counted exactly once.
    ``target``: which elements may be counted as j (default: all).
    """
    n = len(rank)
    if target is None:
        target = np.ones(n, bool)
    position = np.empty(n, np.int64)
    position[np.argsort(order_key, kind="stable")] = np.arange(n)
    below = 0.0
    tied = 0.0
    width = 1
    while width < n:
        block = position // (2 * width)
        right = (position // width) % 2 == 1
        # Sort the right halves by (block, rank) so one searchsorted answers every left element.
        counted = right & target
        right_keys = np.sort(block[counted] * (n + 1) + rank[counted])
        left = ~right & (weight > 0)
        keys = block[left] * (n + 1) + rank[left]
        lo = np.searchsorted(right_keys, block[left] * (n + 1), side="left")
        below_left = np.searchsorted(right_keys, keys, side="left") - lo
        equal_left = np.searchsorted(right_keys, keys, side="right") - lo - below_left
        w = weight[left]
        below += float(np.dot(w, below_left))
        tied += float(np.dot(w, equal_left))
        width *= 2
    return below, tied


def _counts_one_stratum(t: np.ndarray, s: np.ndarray, d: np.ndarray, a: np.ndarray | None) -> np.ndarray:
    """(concordant, discordant, tied, comparable) for one stratum; see the module doc."""
    n = len(t)
    if n < 2 or not d.any():
        return np.zeros(4)
    # Dense ranks make the merge keys exact integers.
    _, rank = np.unique(s, return_inverse=True)
    rank = rank.astype(np.int64)
    # Order: tenure, then churned before active (an active customer at the same tenure lasted
    # longer), then risk ascending within a tie so same-time churn pairs add no "below" count.
    order_key = np.lexsort((rank, ~d, t))
    key = np.empty(n, np.int64)
    key[order_key] = np.arange(n)
    # For the pair (i earlier, j later) with i churned: concordant if risk_i > risk_j.
    concordant, tied = _pairs_below(key, rank, d.astype(float))
    # Comparable pairs: for each churned i, everyone after i in this order.
    after = n - 1 - key
    comparable = float(after[d].sum())
    # Pairs of churns at the same tenure are not comparable: remove them and their tied scores
    # (within such a group the order is by rank, so they contributed no "below" counts).
    _, group_sizes = np.unique(t[d], return_counts=True)
    comparable -= float(np.sum(group_sizes * (group_sizes - 1) / 2.0))
    _, same_time_same_score = np.unique(np.column_stack([t[d], rank[d]]), axis=0, return_counts=True)
    tied -= float(np.sum(same_time_same_score * (same_time_same_score - 1) / 2.0))
    if a is not None and np.any(a > 0):
        # j with entry_j >= t_i was counted above (t_j > entry_j >= t_i) but was not at risk at t_i.
        # One sequence of the churn times (queries) and the entries (targets): a query sorts
        # before a target at the same value, so "target after query" means entry_j >= t_i.
        events = np.flatnonzero(d)
        m = len(events)
        values = np.concatenate([t[events], a])
        kind = np.concatenate([np.zeros(m, np.int64), np.ones(n, np.int64)])
        ranks = np.concatenate([rank[events], rank])
        order = np.lexsort((kind, values))
        late_key = np.empty(m + n, np.int64)
        late_key[order] = np.arange(m + n)
        late_below, late_tied = _pairs_below(late_key, ranks, (kind == 0).astype(float), target=kind == 1)
        entries = np.sort(a)
        late = float(np.sum(n - np.searchsorted(entries, t[events], side="left")))
        concordant -= late_below
        tied -= late_tied
        comparable -= late
    discordant = comparable - concordant - tied
    return np.array([concordant, discordant, tied, comparable])


def concordance_counts(durations, risk_scores, events, entry=None, strata=None) -> dict[str, float]:
    """Pair counts behind :func:`concordance_index`: concordant, discordant, tied (risk), comparable.

    ``concordant``/``discordant``/``tied`` are R's ``count`` entries ``concordant``,
    ``discordant`` and ``tied.x`` of ``concordance(..., reverse = TRUE)``.
    """
    t = np.asarray(durations, float)
    s = np.asarray(risk_scores, float)
    d = np.asarray(events, float) > 0
    a = None if entry is None else np.asarray(entry, float)
    if a is not None:
        keep = ~((a > 0) & (a >= t))
        t, s, d, a = t[keep], s[keep], d[keep], a[keep]
    total = np.zeros(4)
    if strata is None:
        total += _counts_one_stratum(t, s, d, a)
    else:
        labels = np.asarray(strata)
        if entry is not None:
            labels = labels[keep]
        _, code = np.unique(labels, return_inverse=True)
        for k in range(code.max() + 1 if len(code) else 0):
            rows = code == k
            total += _counts_one_stratum(t[rows], s[rows], d[rows], None if a is None else a[rows])
    return dict(zip(("concordant", "discordant", "tied", "comparable"), map(float, total)))


def concordance_index(durations, risk_scores, events, entry=None, strata=None) -> float:
    """Harrell's C of ``risk_scores`` (higher = expected to churn sooner) for censored tenure.

    ``durations`` in any time unit, ``events`` 1 = churned, 0 = still active; ``entry``: tenure
    at which each customer came under observation (left truncation); ``strata``: labels, pairs
    compared only within a stratum. NaN when no pair is comparable.
    """
    counts = concordance_counts(durations, risk_scores, events, entry=entry, strata=strata)
    if counts["comparable"] <= 0:
        return float("nan")
    return (counts["concordant"] + 0.5 * counts["tied"]) / counts["comparable"]
