"""Harrell's concordance index for censored tenure (statsmodels and scipy do not provide it).

A pair of customers is *comparable* when the one with the shorter tenure churned; a customer
still active at exactly the churn time of another counts as having lasted longer (the
convention of Harrell 1982, R ``survival::concordance`` and lifelines). The pair is
*concordant* when the model gives the one who churned first the higher risk score; tied
scores count one half. C = (concordant + ½ tied) / comparable: 0.5 is chance, 1 perfect.

Counting is vectorised over ``log2(n)`` levels of a bottom-up merge (one ``argsort`` and one
``searchsorted`` per level), so a million customers take seconds rather than the minutes an
interpreted pairwise or tree loop would.
"""

from __future__ import annotations

import numpy as np


def _pairs_below(order_key: np.ndarray, rank: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Sum over i of weight_i · #{j after i in ``order_key`` order with rank_j < rank_i} and ties.

    Positions are the sorted order; at each merge level the left half-block is compared with
    the right half-block of the same block, so every ordered pair is counted exactly once.
    """
    n = len(rank)
    position = np.empty(n, np.int64)
    position[np.argsort(order_key, kind="stable")] = np.arange(n)
    below = 0.0
    tied = 0.0
    width = 1
    while width < n:
        block = position // (2 * width)
        right = (position // width) % 2 == 1
        # Sort the right halves by (block, rank) so one searchsorted answers every left element.
        right_keys = np.sort(block[right] * (n + 1) + rank[right])
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


def concordance_index(durations, risk_scores, events) -> float:
    """Harrell's C of ``risk_scores`` (higher = expected to churn sooner) for censored tenure.

    ``durations`` in any time unit, ``events`` 1 = churned, 0 = still active.
    """
    t = np.asarray(durations, float)
    s = np.asarray(risk_scores, float)
    d = np.asarray(events, bool)
    n = len(t)
    if n < 2 or not d.any():
        return float("nan")
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
    churn_times, group_sizes = np.unique(t[d], return_counts=True)
    comparable -= float(np.sum(group_sizes * (group_sizes - 1) / 2.0))
    _, same_time_same_score = np.unique(np.column_stack([t[d], rank[d]]), axis=0, return_counts=True)
    tied -= float(np.sum(same_time_same_score * (same_time_same_score - 1) / 2.0))
    if comparable <= 0:
        return float("nan")
    return (concordant + 0.5 * tied) / comparable
