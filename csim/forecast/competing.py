"""Competing churn causes: cumulative incidence per cause (Aalen–Johansen) and cause-specific Cox.

A customer can churn for several reasons (voluntary non-renewal, a failed payment that was not
recovered, …) but only once: the first churn removes her from the risk of every other cause.
The share of customers lost to cause *k* by tenure *t* is the **cumulative incidence**

    CIF_k(t) = Σ_{s ≤ t} S(s−) · d_k(s) / n(s),

with S the Kaplan–Meier survival from churn of *any* cause, d_k(s) the churns of cause k at
tenure s and n(s) the customers at risk just before s (Aalen–Johansen). ``1 − KM`` computed for
one cause with the other causes treated as censored estimates a different and larger quantity
(the churn there would be without the competing causes) and overstates the share actually lost
to that cause. The causes add up: Σ_k CIF_k(t) = 1 − S(t) exactly.

Standard errors are the **infinitesimal jackknife** (IJ) ones that R ``survival`` (≥ 3.0)
reports for a multi-state ``survfit(Surv(entry, exit, factor(cause)) ~ 1, id = id)``: every
customer's influence on each state probability is carried along the event times, and the
variance is the sum of the squared influences. R updates an n × states influence matrix at
every event time (O(n · event times)); here the same recursion is solved in closed form, so that
each customer's influence at a tenure is a few cumulative sums evaluated at her entry and exit
and the sum of squares over customers is a handful of running totals (O(n log n): a million rows
in under a second). The recursion, per customer j with at-risk indicator Y_j and churn
indicators dN_jk, is

    U_j0(t) = U_j0(t−)(1 − d/n) + S(t−)/n · (Y_j d/n − dN_j·)
    U_jk(t) = U_jk(t−) + U_j0(t−) d_k/n + S(t−)/n · (dN_jk − Y_j d_k/n)

and its solution is U_j0(t) = S(t) G_j(t) with G_j(t) = Σ_{s∈(e_j, min(x_j,t)]} d/(n(n−d)) −
dN_j/(n−d) (the Greenwood terms). Without censoring and truncation the IJ variance is exactly
the binomial one, CIF(1 − CIF)/n.

Risk sets follow R's counting-process convention: a customer with entry tenure e (left
truncation: observed only from e on) and exit tenure x is at risk at tenure s when e < s ≤ x.
Intervals are pointwise, by default on the log scale as R ``survfit`` reports them
(``conf_type="log"``: CIF · exp(±z·se/CIF), upper end capped at 1); ``"log-log"`` and
``"plain"`` are the other choices. Tenures are in whatever unit the durations are in (months for
customer tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

#: Interval transforms offered (R ``survfit`` ``conf.type`` names).
CONF_TYPES = ("log", "log-log", "plain")


def confidence_interval(p, se, conf_level: float = 0.95, conf_type: str = "log") -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval for probabilities ``p`` with standard errors ``se`` (R ``survfit_confint``).

    ``"log"``: p·exp(±z·se/p), upper end capped at 1; ``"log-log"``: on log(−log p);
    ``"plain"``: p ± z·se clipped to [0, 1]. A probability of 0 (and of 1 for ``"log-log"``)
    has no interval on the transformed scale: NaN, as in R.
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError("conf_level must lie strictly between 0 and 1")
    p = np.asarray(p, float)
    se = np.asarray(se, float)
    z = stats.norm.ppf(0.5 + conf_level / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            return np.clip(p - z * se, 0.0, None), np.clip(p + z * se, None, 1.0)
        if conf_type == "log":
            q = np.where(p > 0, p, np.nan)
            half = z * se / q
            return q * np.exp(-half), np.minimum(q * np.exp(half), 1.0)
        q = np.where((p > 0) & (p < 1), p, np.nan)
        half = z * (se / q) / np.log(q)
        loglog = np.log(-np.log(q))
        return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))


@dataclass
class CumulativeIncidence:
    """Aalen–Johansen cumulative incidence per churn cause (result of :func:`cumulative_incidence`).

    Attributes
    ----------
    tables : cause → DataFrame with one row per tenure at which that cause churned someone:
        ``t`` (tenure, periods), ``at_risk`` (customers at risk just before t), ``events``
        (churns of this cause at t), ``cif`` (share of the customers lost to this cause by t),
        ``se``, ``lower``, ``upper`` (pointwise interval; NaN where it would have zero width).
    survival : DataFrame, one row per tenure with a churn of any cause: ``t``, ``at_risk``,
        ``churned``, ``survival`` (Kaplan–Meier, = 1 − Σ cif), ``se`` (IJ), ``lower``, ``upper``.
    causes : the causes reported, in order. ``labels`` : cause → display name.
    n_obs, n_censored : rows used and rows censored. ``n_events`` : cause → churns.
    notes : plain-language remarks (degenerate intervals, an estimate stopped at zero survival, …).
    """

    tables: dict
    survival: pd.DataFrame
    causes: tuple
    labels: dict
    conf_level: float
    conf_type: str
    n_obs: int
    n_censored: int
    n_events: dict
    notes: list = field(default_factory=list)

    def __getitem__(self, cause) -> pd.DataFrame:
        return self.tables[cause]

    def _step(self, table: pd.DataFrame, column: str, times: np.ndarray, before: float) -> np.ndarray:
        idx = np.searchsorted(table["t"].to_numpy(), times, side="right") - 1
        values = table[column].to_numpy(float)
        if len(values) == 0:
            return np.full(len(times), before)
        return np.where(idx >= 0, values[np.clip(idx, 0, None)], before)

    def cif(self, times, cause) -> np.ndarray:
        """Cumulative incidence of ``cause`` at tenures ``times`` (right-continuous step function)."""
        return self._step(self.tables[cause], "cif", np.atleast_1d(np.asarray(times, float)), 0.0)

    def at(self, times) -> pd.DataFrame:
        """Long table at the requested tenures: ``t``, ``cause``, ``label``, ``cif``, ``se``, ``lower``, ``upper``.

        Before a cause's first churn its incidence is 0 with no interval (NaN bounds).
        """
        times = np.atleast_1d(np.asarray(times, float))
        frames = []
        for cause in self.causes:
            table = self.tables[cause]
            frames.append(pd.DataFrame({
                "t": times, "cause": cause, "label": self.labels[cause],
                "cif": self._step(table, "cif", times, 0.0), "se": self._step(table, "se", times, 0.0),
                "lower": self._step(table, "lower", times, np.nan), "upper": self._step(table, "upper", times, np.nan),
            }))
        return pd.concat(frames, ignore_index=True)

    def to_dict(self, times=None) -> dict:
        """Plain-JSON description: counts per cause, and the incidence at ``times`` if given.

        NaN (an interval that does not exist) is left as float NaN for the caller's strict-JSON writer.
        """
        out = {
            "model": "AalenJohansen",
            "variance": "infinitesimal jackknife (as R survival::survfit, multi-state)",
            "conf_level": self.conf_level, "conf_type": self.conf_type,
            "n": self.n_obs, "censored": self.n_censored,
            "causes": {str(self.labels[c]): {"code": _plain(c), "events": int(self.n_events[c])} for c in self.causes},
            "notes": list(self.notes),
        }
        if times is not None:
            out["at"] = [{k: _plain(v) for k, v in row.items()} for row in self.at(times).to_dict(orient="records")]
        return out


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _as_causes(causes, n: int) -> np.ndarray:
    values = np.asarray(causes)
    if values.shape != (n,):
        raise ValueError(f"causes must be one value per row ({n}), got shape {values.shape}")
    if values.dtype == bool:
        return values.astype(np.int64)
    try:
        numeric = values.astype(float)
    except (TypeError, ValueError):
        raise ValueError("causes must be integer codes (0 = censored, 1, 2, … = churn causes)") from None
    if not np.all(np.isfinite(numeric)) or np.any(numeric != np.round(numeric)) or np.any(numeric < 0):
        raise ValueError("causes must be non-negative integer codes (0 = censored, 1, 2, … = churn causes)")
    return numeric.astype(np.int64)


def _check_inputs(durations, causes, entry):
    x = np.asarray(durations, float)
    if x.ndim != 1:
        raise ValueError("durations must be one-dimensional")
    if not np.all(np.isfinite(x)):
        raise ValueError("durations must be finite numbers")
    code = _as_causes(causes, len(x))
    if entry is None:
        return x, code, None
    e = np.asarray(entry, float)
    if e.shape != x.shape:
        raise ValueError(f"entry must be one value per row ({len(x)}), got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("entry must be finite numbers")
    if np.any(e > x):
        raise ValueError(f"entry after exit in {int(np.sum(e > x))} rows")
    bad = (e == x) & (code > 0)
    if bad.any():
        # Under the (entry, exit] convention such a churn happens outside any risk set.
        raise ValueError(f"{int(bad.sum())} churns at the entry tenure itself: a customer is at risk only after her "
                         "entry (entry < t ≤ exit)")
    return x, code, e


def _padded(values: np.ndarray) -> np.ndarray:
    """``values`` with a leading 0 so that ``padded[idx + 1]`` reads 0 for idx = −1 (before the
    first event time nothing has accumulated)."""
    return np.concatenate([np.zeros((1,) + values.shape[1:]), values])


def aalen_johansen(x: np.ndarray, code: np.ndarray, e: np.ndarray | None, n_causes: int) -> dict:
    """Aalen–Johansen estimate and IJ standard errors at every event time (internal engine).

    ``x`` exit tenures, ``code`` 0 = censored or 1..n_causes, ``e`` entry tenures or None (no
    truncation). Rows must satisfy e < x (callers drop e == x censored rows). Returns a dict of
    arrays over the event times ``t``: ``n``, ``d`` (m × K), ``surv``, ``se_surv``, ``cif`` and
    ``se`` (m × K), plus ``wiped`` (True if the risk set ran out of survivors: S reached 0 and
    the arrays stop at that time).

    Everything per customer is computed in exit order (for the customers who have left by a
    tenure) or in entry order (for those who have entered by it), so the only searches are of
    sorted values.
    """
    N = len(x)
    K = n_causes
    order_x = np.argsort(x, kind="stable")
    xs, cs = x[order_x], code[order_x]
    event_s = cs > 0
    xe = xs[event_s]
    new_time = np.concatenate([[True], xe[1:] != xe[:-1]]) if len(xe) else np.zeros(0, bool)
    t = xe[new_time]
    m = len(t)
    if m == 0:                                                 # nobody churned: nothing to estimate
        return {"t": t, "n": np.zeros(0), "d": np.zeros((0, K)), "surv": np.zeros(0), "se_surv": np.zeros(0),
                "cif": np.zeros((0, K)), "se": np.zeros((0, K)), "wiped": False}
    d_k = np.bincount((np.cumsum(new_time) - 1) * K + (cs[event_s] - 1), minlength=m * K).reshape(m, K).astype(float)
    d = d_k.sum(axis=1)
    n_fin = np.searchsorted(xs, t, side="right")           # customers with exit ≤ t
    if e is None:
        n_ent = np.full(m, N)                                # entered (entry < t): everyone
    else:
        order_e = np.argsort(e, kind="stable")
        es = e[order_e]
        n_ent = np.searchsorted(es, t, side="left")
    n = (n_ent - np.searchsorted(xs, t, side="left")).astype(float)   # entry < t ≤ exit
    # Once everyone at risk churns at the same tenure, S is 0 for good: later entrants cannot
    # revive a product that reached zero, so the estimate (and its influences) stop there.
    full = np.flatnonzero(d >= n)
    wiped = len(full) > 0
    if wiped:
        m = full[0] + 1
        t, n, d, d_k, n_fin, n_ent = t[:m], n[:m], d[:m], d_k[:m], n_fin[:m], n_ent[:m]
    n_ongoing = (n_ent - n_fin).astype(float)                # entry < t < exit
    nd = n - d
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(nd / n)
        # Greenwood increments d/(n(n−d)); the last one is infinite when S reaches 0, and is only
        # ever multiplied by incidence increments after that time, which are zero: set it to 0.
        dA = np.where(nd > 0, d / (n * nd), 0.0)
        inv_nd = np.where(nd > 0, 1.0 / nd, 0.0)
    s_prev = np.concatenate([[1.0], surv[:-1]])
    A = np.cumsum(dA)
    inc = s_prev[:, None] * d_k / n[:, None]                  # S(s−)·h_k(s)
    F = np.cumsum(inc, axis=0)                                 # CIF_k
    B = np.cumsum(inc * (A - dA)[:, None], axis=0)             # Σ S(s−) h_k(s) A(s−)
    C = np.cumsum(inc / n[:, None], axis=0)
    A_, F_, B_, C_ = _padded(A), _padded(F), _padded(B), _padded(C)

    # Exit order: index (+1) of the last event time at or before exit, and before entry.
    jx = np.searchsorted(t, xs, side="right")
    if e is None:
        je_s = np.zeros(N, dtype=np.int64)
    else:
        je_e = np.searchsorted(t, es, side="right")          # in entry order
        je = np.empty(N, dtype=np.int64)
        je[order_e] = je_e
        je_s = je[order_x]
    # Churns at or before the last event time kept (all of them unless S reached 0 earlier).
    own = event_s & (xs <= t[-1])
    jown = np.where(own, jx, 0)
    a_s = A_[je_s]
    G = A_[jx] - a_s - np.where(own, _padded(inv_nd)[jown], 0.0)   # U_j0 / S after exit

    def finished(values: np.ndarray) -> np.ndarray:
        return _padded(np.cumsum(values))[n_fin]

    if e is None:
        def entered(values_e: np.ndarray) -> np.ndarray:
            return np.full(m, values_e.sum())
        a_e = np.zeros(N)
        je_e = np.zeros(N, dtype=np.int64)
    else:
        def entered(values_e: np.ndarray) -> np.ndarray:
            return _padded(np.cumsum(values_e))[n_ent]
        a_e = A_[je_e]

    sum_a = entered(a_e) - finished(a_s)
    sum_a2 = entered(a_e * a_e) - finished(a_s * a_s)
    # State 0 (no churn yet): U_j0 = S·G_j after exit, S·(A(t) − a_j) while at risk.
    var0 = surv ** 2 * (finished(G * G) + n_ongoing * A ** 2 - 2.0 * A * sum_a + sum_a2)
    var = np.empty((m, K))
    jump_size = _padded(s_prev / n)[jown]
    for k in range(K):
        Fk, Bk, Ck = F[:, k], B[:, k], C[:, k]
        Fx, Bx, Cx = F_[jx, k], B_[jx, k], C_[jx, k]
        Fe, Be, Ce = F_[je_s, k], B_[je_s, k], C_[je_s, k]
        # While at risk: U_jk(t) = α(t) − a_j·F_k(t) + β_j ...
        alpha = Bk - Ck
        beta_s = a_s * Fe - Be + Ce
        beta_e = a_e * F_[je_e, k] - B_[je_e, k] + C_[je_e, k]
        # ... and after exit: U_jk(t) = P_j + G_j·F_k(t), P_j holding her own churn's jump.
        P = (Bx - Be) - a_s * (Fx - Fe) - (Cx - Ce) + np.where(own & (cs == k + 1), jump_size, 0.0) - G * Fx
        sum_b = entered(beta_e) - finished(beta_s)
        sum_b2 = entered(beta_e * beta_e) - finished(beta_s * beta_s)
        sum_ab = entered(a_e * beta_e) - finished(a_s * beta_s)
        var[:, k] = (finished(P * P) + 2.0 * Fk * finished(P * G) + Fk ** 2 * finished(G * G)
                     + n_ongoing * alpha ** 2 + Fk ** 2 * sum_a2 + sum_b2
                     - 2.0 * alpha * Fk * sum_a + 2.0 * alpha * sum_b - 2.0 * Fk * sum_ab)
    return {"t": t, "n": n, "d": d_k, "surv": surv, "se_surv": np.sqrt(np.clip(var0, 0.0, None)),
            "cif": F, "se": np.sqrt(np.clip(var, 0.0, None)), "wiped": wiped}


def cumulative_incidence(durations, causes, entry=None, causes_order: Sequence | None = None,
                         conf_level: float = 0.95, conf_type: str = "log",
                         labels: Mapping | None = None) -> CumulativeIncidence:
    """Cumulative incidence of churn per cause (Aalen–Johansen) with IJ standard errors.

    Parameters
    ----------
    durations : tenure at churn or at the end of observation, periods (e.g. months).
    causes : integer cause codes per row: 0 = still active (censored), 1, 2, … = churned for
        that cause (for simulated accounts, :func:`csim.forecast.accounts.churn_causes`).
    entry : tenure at which each row came under observation (left truncation), or None.
    causes_order : causes to report, in this order (default: every cause present, ascending).
        Causes left out are still competing events; they are only not tabulated.
    conf_level, conf_type : pointwise interval level and transform (:data:`CONF_TYPES`).
    labels : optional cause → display name (default: the code as text).

    Returns a :class:`CumulativeIncidence`. Matches R ``survfit(Surv(entry, exit,
    factor(cause)) ~ 1, id = id)`` (``$pstate``, ``$std.err``, default intervals).
    """
    x, code, e = _check_inputs(durations, causes, entry)
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError("conf_level must lie strictly between 0 and 1")
    if len(x) == 0:
        raise ValueError("no rows")
    notes: list[str] = []
    if e is not None:
        never = e >= x                                        # censored at entry: never at risk
        if never.any():
            notes.append(f"{int(never.sum())} rows end at their entry tenure without a churn: never at risk, ignored")
            x, code, e = x[~never], code[~never], e[~never]
    present = [int(c) for c in np.unique(code[code > 0])]
    if causes_order is None:
        order = tuple(present)
    else:
        order = tuple(int(c) for c in causes_order)
        if len(set(order)) != len(order) or any(c <= 0 for c in order):
            raise ValueError("causes_order must list distinct positive cause codes")
    all_causes = sorted(set(present) | set(order))
    dense = np.zeros(max(all_causes, default=0) + 1, dtype=np.int64)
    dense[all_causes] = np.arange(1, len(all_causes) + 1)
    fit = aalen_johansen(x, dense[code], e, len(all_causes))
    if fit["wiped"]:
        end = fit["t"][-1]
        later = int(np.sum(x > end)) if e is None else int(np.sum((x > end) | (e >= end)))
        if later:
            # Left truncation can bring customers in after the risk set emptied; the product-limit
            # estimate stays at 0 survival, so their churns change nothing. Say so.
            notes.append(f"every customer at risk at tenure {end:g} churned then: survival is 0 from there on and the "
                         f"incidences stay at their values; the {later} rows still observed after it change nothing")
    labels = {c: (str(labels[c]) if labels is not None and c in labels else str(c)) for c in order}
    tables = {}
    n_events = {}
    for cause in order:
        k = dense[cause] - 1
        n_events[cause] = int(np.sum(code == cause))
        rows = fit["d"][:, k] > 0
        cif, se = fit["cif"][rows, k], fit["se"][rows, k]
        lower, upper = confidence_interval(cif, se, conf_level, conf_type)
        flat = ~(se > 0)
        if flat.any():
            # An incidence with no sampling variation (e.g. every customer churned for this cause):
            # the interval would have zero width, so none is shown.
            lower, upper = np.where(flat, np.nan, lower), np.where(flat, np.nan, upper)
            notes.append(f"cause {labels[cause]}: standard error 0 at {int(flat.sum())} tenures "
                         f"(from {fit['t'][rows][flat][0]:g}); no interval shown there")
        if not rows.any():
            notes.append(f"cause {labels[cause]}: no churns{'' if n_events[cause] == 0 else ' before survival reached 0'}")
        tables[cause] = pd.DataFrame({"t": fit["t"][rows], "at_risk": fit["n"][rows].astype(np.int64),
                                      "events": fit["d"][rows, k].astype(np.int64),
                                      "cif": cif, "se": se, "lower": lower, "upper": upper})
    surv, se_surv = fit["surv"], fit["se_surv"]
    lower, upper = confidence_interval(surv, se_surv, conf_level, conf_type)
    flat = ~(se_surv > 0)
    lower, upper = np.where(flat, np.nan, lower), np.where(flat, np.nan, upper)
    survival = pd.DataFrame({"t": fit["t"], "at_risk": fit["n"].astype(np.int64),
                             "churned": fit["d"].sum(axis=1).astype(np.int64),
                             "survival": surv, "se": se_surv, "lower": lower, "upper": upper})
    return CumulativeIncidence(tables=tables, survival=survival, causes=order, labels=labels, conf_level=conf_level,
                               conf_type=conf_type, n_obs=len(x), n_censored=int(np.sum(code == 0)),
                               n_events=n_events, notes=notes)


def cause_specific_cox(durations, causes, X, cause, entry=None, ties: str = "efron", level: float = 0.95):
    """Cox model of the cause-specific hazard of ``cause``: churns for other causes count as censored.

    The hazard ratios describe how covariates change the *rate* of churn for this cause among
    customers still active; they do not translate one-to-one into its cumulative incidence,
    which also depends on the other causes. Uses :class:`csim.forecast.cox.CoxPH`
    (statsmodels ``PHReg``); ``entry`` is left truncation. Returns the fitted ``CoxPH`` with
    ``cause_`` set; R equivalent: ``coxph(Surv(entry, exit, cause == k) ~ X)``.
    """
    from csim.forecast.cox import CoxPH

    x, code, e = _check_inputs(durations, causes, entry)
    cause = int(cause)
    if cause <= 0:
        raise ValueError("cause must be a positive cause code (0 means censored)")
    events = (code == cause).astype(float)
    if not events.any():
        raise ValueError(f"no churns of cause {cause}: its hazard cannot be modelled")
    model = CoxPH(ties=ties, level=level).fit(x, events, X, entry=e)
    model.cause_ = cause
    model.competing_events_ = int(np.sum((code > 0) & (code != cause)))
    return model
