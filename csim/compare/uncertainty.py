"""How sure the answer is: probability of beating the reference, and what the difference moves with.

With uncertain effect sizes (a scenario parameter given as a distribution) each replication
draws its own effect sizes, shared by every strategy that names the parameter, so the spread of
the paired differences over replications carries both the model's randomness and the
uncertainty of the effects: a probabilistic sensitivity analysis as in health-economic
evaluation. Two summaries of it:

* **P(beats)**: the share of replications in which the strategy does better than the reference
  on a metric (``difference × better > 0``), ties counting one half. When every replication is a
  tie (a scenario compared with itself) the probability is 0.5 by that rule and ``all_tied``
  says why. Metrics that are not goals (``better == 0``) get none.
* **What the difference moves with**: Spearman's rank correlation of each uncertain parameter's
  draws with the paired difference over replications. A parameter with a large |ρ| decides the
  answer; the report lists those as "what this rests on".
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy import stats

__all__ = ["probability_beats", "rank_correlations"]


def probability_beats(reference: np.ndarray, other: np.ndarray, better: int) -> dict:
    """P(other beats reference) over replications where both are finite; ties count one half.

    Returns ``{"probability", "n", "wins", "losses", "ties", "all_tied"}``; ``probability`` is
    NaN when ``better == 0`` (not a goal) or no replication has both values.
    """
    reference = np.asarray(reference, float)
    other = np.asarray(other, float)
    both = np.isfinite(reference) & np.isfinite(other)
    d = (other[both] - reference[both]) * better
    n = int(d.size)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    ties = n - wins - losses
    probability = (wins + 0.5 * ties) / n if n and better else float("nan")
    return {"probability": probability, "n": n, "wins": wins, "losses": losses, "ties": ties,
            "all_tied": bool(n and ties == n)}


def rank_correlations(draws: Mapping[str, np.ndarray], difference: np.ndarray) -> list[dict]:
    """Spearman's ρ of each parameter's draws with the paired difference, largest |ρ| first.

    ``draws[key]`` and ``difference`` are per replication, in the same order. A parameter whose
    draws or differences do not vary gets ρ = NaN. Returns ``[{"parameter", "rho", "p", "n"}]``.
    """
    difference = np.asarray(difference, float)
    rows = []
    for key, values in draws.items():
        values = np.asarray(values, float)
        ok = np.isfinite(values) & np.isfinite(difference)
        rho = p = float("nan")
        if ok.sum() >= 3 and np.ptp(values[ok]) > 0 and np.ptp(difference[ok]) > 0:
            result = stats.spearmanr(values[ok], difference[ok])
            rho, p = float(result.statistic), float(result.pvalue)
        rows.append({"parameter": key, "rho": rho, "p": p, "n": int(ok.sum())})
    return sorted(rows, key=lambda r: -abs(r["rho"]) if np.isfinite(r["rho"]) else 0.0)
