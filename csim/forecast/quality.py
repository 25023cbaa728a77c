"""How well a model predicts customers it was not fitted to: Brier score, time-dependent AUC, calibration.

Every measure takes predictions as **survival probabilities** ``S_i(t)``: a matrix with one
row per customer and one column per evaluation tenure, so that any fitted model (Kaplan–Meier,
Cox, parametric, discrete-time, contract-renewal) can be scored the same way. Tenure is in the
model's period (months for customer tables); probabilities are shares in [0, 1].

Censoring is handled by **inverse probability of censoring weights** (IPCW). The censoring
distribution ``G(t) = P(still observed after t)`` is the reverse Kaplan–Meier curve: the
Kaplan–Meier estimate (:class:`~csim.forecast.nonparametric.KaplanMeier`) with "censored" as
the event. At a tenure where some customers churn and others are censored, the churners are
taken to leave the censoring risk set first (the convention of scikit-survival and of R
``survival::rttright``), so that Kaplan–Meier survival × G = share still under observation.

Conventions (``convention=``):

``"graf"`` (default)
    A customer who churned at ``T_i ≤ t`` is weighted by ``1 / G(T_i−)``, the left limit
    (Graf et al. 1999; Gerds & Schumacher 2006; R ``pec``/``timeROC``): a churn at ``T_i`` is
    seen when censoring comes at ``T_i`` or later, which has probability ``G(T_i−)``. With
    this choice the weights of churned and still-active customers add up to exactly ``n``.
``"sksurv"``
    Weight ``1 / G(T_i)`` as ``sksurv.metrics.brier_score`` and ``cumulative_dynamic_auc``
    (scikit-survival 0.28). Differs from ``"graf"`` only when a customer is censored at exactly
    the tenure of a churn; offered to reproduce scikit-survival's numbers.

In both, a customer still active after ``t`` (``T_i > t``) is weighted by ``1 / G(t)``, and a
customer censored at or before ``t`` carries no weight (their status at ``t`` is unknown).

Functions
    :func:`brier_score`, :func:`integrated_brier_score`, :func:`brier_score_km` (the marginal
    Kaplan–Meier reference for a skill score ``1 − BS/BS_KM``), :func:`cumulative_dynamic_auc`,
    :func:`calibration_at`, :func:`prediction_scores` (all of them at once),
    :func:`evaluation_times`, :func:`holdout_split`, :func:`fold_assignment` and
    :func:`cross_validate` (customers, not rows, are held out).

References: Graf E, Schmoor C, Sauerbrei W, Schumacher M (1999) Stat Med 18:2529–2545.
Uno H, Cai T, Tian L, Wei LJ (2007) JASA 102:527–537. Demler OV, Paynter NP, Cook NR (2015)
Stat Med 34:1659–1680 (Greenwood–Nam–D'Agostino calibration test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.integrate import trapezoid

from csim.forecast.nonparametric import KaplanMeier

CONVENTIONS = ("graf", "sksurv")

#: Risk scores closer than this are tied in :func:`cumulative_dynamic_auc` (scikit-survival's default).
TIED_TOL = 1e-8

#: Fewest churns (by the horizon) a calibration group needs before the Greenwood–Nam–D'Agostino
#: test uses it; smaller groups are merged with their neighbour (Demler et al. 2015 recommend 5).
MIN_GROUP_EVENTS = 5


# ---------------------------------------------------------------------------- input checks


def _survival_arrays(durations, events, entry=None):
    t = np.asarray(durations, float).ravel()
    d = np.asarray(events, float).ravel()
    if len(t) == 0:
        raise ValueError("no customers to score")
    if len(d) != len(t):
        raise ValueError(f"durations ({len(t)}) and events ({len(d)}) differ in length")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("durations must be finite tenures ≥ 0")
    if not np.all(np.isin(d, (0.0, 1.0))):
        raise ValueError("events must be 0 (still active) or 1 (churned)")
    a = None
    if entry is not None:
        a = np.asarray(entry, float).ravel()
        if len(a) != len(t):
            raise ValueError(f"entry ({len(a)}) and durations ({len(t)}) differ in length")
        if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a >= t):
            raise ValueError("entry tenures must be finite, ≥ 0 and below the customer's duration")
        if not np.any(a > 0):
            a = None  # nobody truncated: the plain estimators apply
    return t, d.astype(bool), a


def _times(times) -> np.ndarray:
    times = np.atleast_1d(np.asarray(times, float))
    if times.ndim != 1 or len(times) == 0:
        raise ValueError("times must be a non-empty list of tenures")
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("times must be finite tenures ≥ 0")
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing (one column of predictions per time)")
    return times


def _matrix(values, n: int, m: int, what: str, probability: bool) -> np.ndarray:
    x = np.asarray(values, float)
    if x.ndim == 1 and m == 1 and len(x) == n:
        x = x[:, None]
    if x.ndim == 1 and len(x) == n and not probability:  # one risk score per customer, used at every time
        x = np.repeat(x[:, None], m, axis=1)
    if x.shape != (n, m):
        raise ValueError(f"{what} must have one row per customer and one column per time: expected shape "
                         f"({n}, {m}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} must be finite")
    if probability and (np.any(x < -1e-12) or np.any(x > 1 + 1e-12)):
        raise ValueError(f"{what} must be probabilities in [0, 1]")
    return np.clip(x, 0.0, 1.0) if probability else x


def _convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    return convention


# ---------------------------------------------------------------------------- censoring distribution


class CensoringDistribution:
    """Reverse Kaplan–Meier estimate ``G(t)`` of the share of customers not yet censored at tenure t.

    ``durations`` (periods), ``events`` (1 churned, 0 censored), ``entry`` (tenure at which a
    customer came under observation; left truncation). Churners leave the censoring risk set
    before customers censored at the same tenure (see the module docstring).
    """

    def __init__(self, durations, events, entry=None):
        t, d, a = _survival_arrays(durations, events, entry)
        # Moving each churn to the float just below its tenure takes the churner out of the
        # censoring risk set at that tenure (events first), without adding a step: churners
        # are "censored" observations of the censoring process, so they never create rows.
        exit_time = np.where(d, np.nextafter(t, -np.inf), t)
        if a is not None:
            exit_time = np.maximum(exit_time, np.nextafter(a, np.inf))
        self.km_ = KaplanMeier().fit(exit_time, (~d).astype(float), entry=a)
        self.n_censored_ = int((~d).sum())

    def __call__(self, times) -> np.ndarray:
        """G(t): share not censored by tenure ``times`` (right-continuous)."""
        return self.km_.survival(np.asarray(times, float))

    def left(self, times) -> np.ndarray:
        """G(t−): share not censored before tenure ``times`` (the left limit)."""
        return self.km_.survival(np.nextafter(np.asarray(times, float), -np.inf))


def _censoring(censoring, t, d, a) -> CensoringDistribution:
    """G from ``censoring`` = (durations, events[, entry]) when given, else from the scored data."""
    if censoring is None:
        return CensoringDistribution(t, d.astype(float), a)
    if isinstance(censoring, CensoringDistribution):
        return censoring
    return CensoringDistribution(*censoring)


def _inverse(g: np.ndarray) -> np.ndarray:
    """1/G, with 0 where G = 0: nobody can be observed there, so nobody carries weight."""
    out = np.zeros_like(g, dtype=float)
    np.divide(1.0, g, out=out, where=g > 0)
    return out


# ---------------------------------------------------------------------------- Brier score


def brier_score(durations, events, survival, times, entry=None, censoring=None,
                convention: str = "graf") -> np.ndarray:
    """IPCW Brier score (Graf et al. 1999) of predicted survival at each of ``times``.

    BS(t) = (1/n) Σ_i [ S_i(t)² · 1{T_i ≤ t, churned} / G(T_i−) + (1 − S_i(t))² · 1{T_i > t} / G(t) ],
    the mean squared error of the predicted probability of still being active at t, in
    probability² (0 perfect, 0.25 for a coin flip at 1/2).

    ``survival``: customers × times matrix of predicted S_i(t) (a single column or vector when
    one time is given). ``censoring``: (durations, events[, entry]) to estimate G from (e.g. the
    training customers, as scikit-survival's ``survival_train``); default the scored customers.
    ``entry``: left truncation; a customer is then scored only at tenures after their entry,
    weighted by G(entry)/G(·), and ``survival`` must be the prediction *given* active at entry.
    ``convention``: see the module docstring. Returns one score per time; NaN where nobody is
    scored (every customer censored before t, or entered after t).
    """
    t, d, a = _survival_arrays(durations, events, entry)
    times = _times(times)
    s = _matrix(survival, len(t), len(times), "survival", probability=True)
    g = _censoring(censoring, t, d, a)
    g_event = g.left(t) if _convention(convention) == "graf" else g(t)
    w_case = _inverse(g_event)  # (n,)
    w_ctrl = _inverse(g(times))  # (m,)
    case = (t[:, None] <= times[None, :]) & d[:, None]
    control = t[:, None] > times[None, :]
    contrib = np.where(case, s ** 2 * w_case[:, None], 0.0) + np.where(control, (1.0 - s) ** 2 * w_ctrl[None, :], 0.0)
    if a is None:
        scored = np.ones_like(case)
    else:
        # Customers under observation before t only; their weights are conditional on being
        # uncensored at entry.
        scored = a[:, None] < times[None, :]
        contrib = contrib * g(a)[:, None]
    n_scored = scored.sum(axis=0)
    total = np.where(scored, contrib, 0.0).sum(axis=0)
    known = (case | control) & scored
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / n_scored
    return np.where((n_scored > 0) & known.any(axis=0) & (g(times) > 0), out, np.nan)


def integrated_brier_score(times, scores) -> float:
    """Integrated Brier score: trapezoid area under BS(t) over ``times`` divided by their range.

    As ``sksurv.metrics.integrated_brier_score``; needs at least two times and no NaN score
    (probability², 0 perfect).
    """
    times = _times(times)
    scores = np.asarray(scores, float)
    if len(times) < 2:
        raise ValueError("the integrated Brier score needs at least two times")
    if scores.shape != times.shape:
        raise ValueError(f"expected {len(times)} scores, got {scores.shape}")
    if np.any(np.isnan(scores)):
        raise ValueError(f"no Brier score at tenure(s) {times[np.isnan(scores)].tolist()}: choose times within "
                         "the follow-up of the scored customers")
    return float(trapezoid(scores, times) / (times[-1] - times[0]))


def brier_score_km(durations, events, times, entry=None, censoring=None, train=None,
                   convention: str = "graf") -> np.ndarray:
    """Brier score of the marginal Kaplan–Meier curve: the no-covariate reference.

    Every customer is predicted the same S(t), the Kaplan–Meier curve of ``train`` =
    (durations, events[, entry]) (the training customers; default the scored ones). A model
    is useful where its Brier score is below this one: skill = 1 − BS/BS_KM.
    """
    t, d, a = _survival_arrays(durations, events, entry)
    times = _times(times)
    km = KaplanMeier().fit(*(train if train is not None else (t, d.astype(float), a)))
    s = np.repeat(km.survival(times)[None, :], len(t), axis=0)
    return brier_score(t, d, s, times, entry=a, censoring=censoring, convention=convention)


# ---------------------------------------------------------------------------- AUC


def cumulative_dynamic_auc(durations, events, risk_scores, times, censoring=None, convention: str = "graf",
                           tied_tol: float = TIED_TOL) -> tuple[np.ndarray, float]:
    """Cumulative/dynamic AUC(t) with Uno et al.'s (2007) IPCW estimator, and its time-weighted mean.

    AUC(t) = P(risk_i > risk_j | T_i ≤ t, T_j > t): cases are customers who churned by t,
    weighted by 1/G(T_i−) (``convention="sksurv"``: 1/G(T_i)), controls those still active
    after t; tied scores (within ``tied_tol``) count one half. 0.5 is chance, 1 perfect.

    ``risk_scores``: higher = expected to churn sooner; one per customer, or a customers ×
    times matrix (e.g. 1 − S_i(t)). ``censoring``: as in :func:`brier_score`.

    Returns ``(auc, mean_auc)``. ``mean_auc`` weights each AUC(t) by the drop of the scored
    customers' Kaplan–Meier curve at t, S(t_{k−1}) − S(t_k) with S(t_0) = 1, divided by the
    total drop (as scikit-survival); a time without cases or controls has AUC NaN and is left
    out of the mean.
    """
    t, d, _ = _survival_arrays(durations, events)
    times = _times(times)
    r = _matrix(risk_scores, len(t), len(times), "risk_scores", probability=False)
    g = _censoring(censoring, t, d, None)
    g_event = g.left(t) if _convention(convention) == "graf" else g(t)
    w = _inverse(g_event)
    auc = np.full(len(times), np.nan)
    for k, tk in enumerate(times):
        case = (t <= tk) & d
        control = t > tk
        if not case.any() or not control.any() or w[case].sum() <= 0:
            continue
        rank = _tie_ranks(r[:, k], tied_tol)
        ctrl_sorted = np.sort(rank[control])
        below = np.searchsorted(ctrl_sorted, rank[case], side="left")
        tied = np.searchsorted(ctrl_sorted, rank[case], side="right") - below
        auc[k] = float(np.dot(w[case], below + 0.5 * tied) / (w[case].sum() * control.sum()))
    if len(times) == 1:
        return auc, float(auc[0])
    surv = KaplanMeier().fit(t, d.astype(float)).survival(times)
    drop = -np.diff(np.r_[1.0, surv])
    ok = ~np.isnan(auc)
    mean = float(np.dot(auc[ok], drop[ok]) / drop[ok].sum()) if ok.any() and drop[ok].sum() > 0 else float("nan")
    return auc, mean


def _tie_ranks(x: np.ndarray, tol: float) -> np.ndarray:
    """Integer ranks where neighbours in sorted order closer than ``tol`` share a rank (scikit-survival's rule)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.r_[True, np.diff(xs) > tol]
    rank = np.empty(len(x), np.int64)
    rank[order] = np.cumsum(new)
    return rank


# ---------------------------------------------------------------------------- calibration


def calibration_at(durations, events, survival_at_t, t: float, groups: int = 10, entry=None,
                   min_events: int = MIN_GROUP_EVENTS, level: float = 0.95) -> tuple[pd.DataFrame, dict]:
    """Predicted against observed churn by tenure ``t``, by groups of predicted risk.

    Customers are split into ``groups`` equal-size groups by predicted risk 1 − S_i(t) (tied
    predictions kept together, so there may be fewer groups, of unequal size). Per group:
    predicted churn share (mean of 1 − S_i(t)) and observed churn share 1 − KM(t) from the
    Kaplan–Meier curve of the group, with its log(−log) Greenwood interval at ``level``. A
    group with no churn by ``t`` (or everyone churned) has no interval (NaN bounds), never a
    zero-width one.

    Summary: the **Greenwood–Nam–D'Agostino** chi-square (Demler et al. 2015),
    Σ_g (observed_g − predicted_g)² / Var_Greenwood(KM_g(t)), on groups − 1 degrees of freedom;
    groups with fewer than ``min_events`` churns by ``t``, or with Greenwood variance 0 at ``t``
    (everyone churned), are first merged with the neighbour of next-higher risk (the highest
    with the one below), keeping at least two. Small p = predictions off. Also the
    mean absolute calibration error (mean over customers of |predicted − observed| of their
    group), in probability units.

    Returns ``(table, summary)``; ``summary`` has ``statistic`` ("GND chi-square"), ``chisq``,
    ``df``, ``p``, ``groups``, ``mean_abs_error`` and ``notes``.
    """
    tt, d, a = _survival_arrays(durations, events, entry)
    s = np.asarray(survival_at_t, float).ravel()
    if s.shape != tt.shape:
        raise ValueError(f"survival_at_t must have one value per customer ({len(tt)}), got {s.shape}")
    s = _matrix(s, len(tt), 1, "survival_at_t", probability=True)[:, 0]
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"the horizon t must be a tenure > 0, got {t}")
    if groups < 2:
        raise ValueError("calibration needs at least 2 groups")
    risk = 1.0 - s
    labels = _quantile_groups(risk, groups)
    notes = []
    if labels.max() + 1 < groups:
        notes.append(f"tied predictions allow only {labels.max() + 1} groups of the {groups} asked")
    table = _calibration_table(tt, d, a, risk, labels, t, level)
    # GND: merge groups with too few churns, or whose Kaplan–Meier variance at t is 0 (everyone
    # churned) or undefined, into a neighbour; then test.
    merged, test = labels.copy(), table
    while len(test) > 2:
        var = test["se"].to_numpy() ** 2
        bad = (test["churned_by_t"].to_numpy() < min_events) | ~(np.isfinite(var) & (var > 0))
        if not bad.any():
            break
        pos = int(np.flatnonzero(bad)[0])
        target = pos + 1 if pos + 1 < len(test) else pos - 1
        merged[merged == pos] = target
        merged = np.unique(merged, return_inverse=True)[1]
        test = _calibration_table(tt, d, a, risk, merged, t, level)
    if len(test) < len(table):
        notes.append(f"for the test, groups with fewer than {min_events} churns by t = {t:g} (or with no "
                     f"Kaplan–Meier variance there) were merged with a neighbour: {len(table)} → {len(test)} "
                     "groups")
    var = test["se"].to_numpy() ** 2
    chisq = df = p = float("nan")
    if len(test) < 2:
        notes.append("fewer than 2 groups left: no calibration test")
    elif not np.all(np.isfinite(var) & (var > 0)):
        notes.append("a group's Kaplan–Meier variance at t is zero or undefined (no churn, or everyone churned, "
                     "by t): the GND test is not defined")
    else:
        chisq = float(np.sum((test["observed_risk"] - test["predicted_risk"]) ** 2 / var))
        df = len(test) - 1
        p = float(stats.chi2.sf(chisq, df))
    if tt.max() < t:
        notes.append(f"no customer is followed to t = {t:g}: observed shares are carried forward from the last tenure")
    gap = np.abs(table["observed_risk"] - table["predicted_risk"]).to_numpy()
    mean_abs = float(np.sum(gap * table["n"].to_numpy()) / table["n"].sum())
    summary = {"statistic": "GND chi-square", "t": float(t), "chisq": chisq, "df": df, "p": p,
               "groups": int(len(test)), "mean_abs_error": mean_abs, "notes": notes}
    return table.drop(columns="se"), summary


def _quantile_groups(risk: np.ndarray, groups: int) -> np.ndarray:
    """Group codes 0… of (nearly) equal size by ``risk``; equal risks always share a group.

    A customer's group follows the number of customers with a strictly lower risk, so a block
    of tied predictions goes whole to the group where it starts.
    """
    below = np.searchsorted(np.sort(risk), risk, side="left")
    codes = (below * groups) // len(risk)
    return np.unique(codes, return_inverse=True)[1].astype(np.int64)


def _calibration_table(t, d, a, risk, labels, horizon, level) -> pd.DataFrame:
    rows = []
    for g in np.unique(labels):
        m = labels == g
        km = KaplanMeier(level=level).fit(t[m], d[m].astype(float), entry=None if a is None else a[m])
        surv = float(km.survival([horizon])[0])
        churned = int(np.sum((t[m] <= horizon) & d[m]))
        tab = km.table_
        idx = np.searchsorted(tab["t"].to_numpy(), horizon, side="right") - 1
        if churned == 0 or idx < 0 or surv <= 0:
            lower = upper = se = float("nan")
        else:
            lo, hi = km.survival_ci([horizon])
            lower, upper = 1.0 - float(hi[0]), 1.0 - float(lo[0])
            se = float(tab["se"].iloc[idx])
        rows.append({"group": int(g), "n": int(m.sum()), "churned_by_t": churned,
                     "risk_from": float(risk[m].min()), "risk_to": float(risk[m].max()),
                     "predicted_risk": float(risk[m].mean()), "observed_risk": 1.0 - surv,
                     "observed_lower": lower, "observed_upper": upper, "se": se})
    return pd.DataFrame(rows).set_index("group")


# ---------------------------------------------------------------------------- all at once


def evaluation_times(durations, events, count: int = 20, low: float = 0.1, high: float = 0.9) -> np.ndarray:
    """A grid of ``count`` tenures between the ``low`` and ``high`` quantiles of the churn tenures.

    Keeps the scores away from the first months (few churns: AUC undefined) and the end of
    follow-up (few customers left: unstable weights). Whole tenures are kept when the data are
    whole periods (duplicates dropped).
    """
    t, d, _ = _survival_arrays(durations, events)
    if not d.any():
        raise ValueError("no churn: nothing to score")
    lo, hi = np.quantile(t[d], [low, high])
    hi = min(hi, np.nextafter(t.max(), -np.inf))
    grid = np.linspace(lo, hi, count)
    if np.allclose(t, np.round(t)):
        grid = np.unique(np.round(grid))
    return np.unique(grid[(grid > 0) & (grid <= hi)])


def prediction_scores(durations, events, survival, times, entry=None, censoring=None, train=None,
                      convention: str = "graf") -> tuple[pd.DataFrame, dict]:
    """Brier score, Kaplan–Meier reference, skill and AUC at each of ``times``, with summaries.

    ``survival``: customers × times predicted S_i(t); the AUC uses 1 − S_i(t) as the risk
    score at each t. ``train`` = (durations, events[, entry]) of the customers the model was
    fitted to (for the Kaplan–Meier reference; default the scored ones). Returns
    ``(per_time, summary)``: per_time has t, brier, brier_km, skill, auc; summary has
    integrated_brier, integrated_brier_km, brier_skill (1 − IBS/IBS_KM) and mean_auc (NaN
    where not defined).
    """
    t, d, a = _survival_arrays(durations, events, entry)
    times = _times(times)
    s = _matrix(survival, len(t), len(times), "survival", probability=True)
    bs = brier_score(t, d, s, times, entry=a, censoring=censoring, convention=convention)
    bs_km = brier_score_km(t, d, times, entry=a, censoring=censoring, train=train, convention=convention)
    if a is None:
        auc, mean_auc = cumulative_dynamic_auc(t, d, 1.0 - s, times, censoring=censoring, convention=convention)
    else:  # Uno's estimator has no left-truncated form here
        auc, mean_auc = np.full(len(times), np.nan), float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        skill = 1.0 - bs / bs_km
    per_time = pd.DataFrame({"t": times, "brier": bs, "brier_km": bs_km, "skill": skill, "auc": auc})
    ok = ~np.isnan(bs) & ~np.isnan(bs_km)
    ibs = ibs_km = float("nan")
    if ok.sum() >= 2:
        ibs = integrated_brier_score(times[ok], bs[ok])
        ibs_km = integrated_brier_score(times[ok], bs_km[ok])
    summary = {"integrated_brier": ibs, "integrated_brier_km": ibs_km,
               "brier_skill": 1.0 - ibs / ibs_km if ibs_km > 0 else float("nan"), "mean_auc": mean_auc,
               "times_scored": int(ok.sum())}
    return per_time, summary


# ---------------------------------------------------------------------------- hold-out and cross-validation


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed))


def holdout_split(n: int, fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) of ``n`` customers with a share ``fraction`` held out at random.

    Seeded by ``numpy.random.SeedSequence(seed)``; both index arrays sorted. At least one
    customer on each side.
    """
    n = int(n)
    if n < 2:
        raise ValueError("a hold-out needs at least 2 customers")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    k = int(np.clip(round(fraction * n), 1, n - 1))
    perm = _rng(seed).permutation(n)
    return np.sort(perm[k:]), np.sort(perm[:k])


def fold_assignment(n: int, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Fold number 0…folds−1 of each of ``n`` customers: random, sizes differing by at most one."""
    n, folds = int(n), int(folds)
    if folds < 2 or folds > n:
        raise ValueError(f"folds must be between 2 and the number of customers ({n}), got {folds}")
    fold = np.empty(n, np.int64)
    fold[_rng(seed).permutation(n)] = np.arange(n) % folds
    return fold


def cross_validate(fit_and_predict, data: pd.DataFrame, folds: int = 5, seed: int = 0, *, times,
                   duration: str = "duration", event: str = "event", entry: str | None = None,
                   customer: str | None = None, convention: str = "graf") -> tuple[pd.DataFrame, pd.DataFrame]:
    """K-fold cross-validation that holds out whole customers.

    ``data``: one row per customer, or several (subscriptions, person-periods) sharing a
    ``customer`` id column; all rows of a customer go to the same fold, and the customer is
    scored on their row with the largest ``duration`` (its ``event`` says whether they churned,
    its ``entry`` when they came under observation).
    ``fit_and_predict(train_rows, test_customers, times)`` fits on the training rows and
    returns predicted S_i(t), one row per row of ``test_customers`` and one column per time.
    The censoring distribution is estimated from the training customers, and the
    Kaplan–Meier reference is fitted to them.

    Returns ``(summary, per_time)``: one row per fold (n_train, n_test, churned_test,
    integrated_brier, integrated_brier_km, brier_skill, mean_auc) and one row per fold and
    time (brier, brier_km, skill, auc).
    """
    times = _times(times)
    if customer is None:
        ids = np.arange(len(data))
    else:
        ids = np.unique(data[customer].to_numpy(), return_inverse=True)[1]
    n_customers = int(ids.max()) + 1 if len(ids) else 0
    fold_of = fold_assignment(n_customers, folds, seed)[ids]
    last = np.asarray(data.reset_index(drop=True).groupby(ids)[duration].idxmax().to_numpy())
    customers = data.iloc[last]  # one row per customer, in customer-code order
    fold_customer = fold_of[last]

    def arrays(frame):
        return (frame[duration].to_numpy(float), frame[event].to_numpy(float),
                None if entry is None else frame[entry].to_numpy(float))

    rows, per_time = [], []
    for k in range(folds):
        train_rows = data[fold_of != k]
        train = customers[fold_customer != k]
        test = customers[fold_customer == k]
        pred = fit_and_predict(train_rows, test, times)
        pred = np.asarray(getattr(pred, "values", pred), float)
        t, d, a = arrays(test)
        tr = arrays(train)
        table, summary = prediction_scores(t, d, pred, times, entry=a, censoring=tr, train=tr, convention=convention)
        table.insert(0, "fold", k)
        per_time.append(table)
        rows.append({"fold": k, "n_train": len(train), "n_test": len(test), "churned_test": int(d.sum()),
                     **{key: summary[key] for key in ("integrated_brier", "integrated_brier_km", "brier_skill",
                                                      "mean_auc")}})
    return pd.DataFrame(rows).set_index("fold"), pd.concat(per_time, ignore_index=True)
