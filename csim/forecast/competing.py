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

For a customer table with a cause column, :func:`cause_codes` turns the labels read from the
file into codes (the largest cause first) and :func:`competing_risks_analysis` gathers what a
report shows: the incidence per cause at chosen tenures, all-cause churn, the check that the
causes add up to it, cause-specific Cox models and a one-sentence headline.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from csim.errors import InputError

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
        if not frames:                                         # no cause to report (nobody churned)
            return pd.DataFrame(columns=["t", "cause", "label", "cif", "se", "lower", "upper"])
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
    model = CoxPH(ties=ties, level=level).fit(x, events, covariates=X, entry=e)
    model.cause_ = cause
    model.competing_events_ = int(np.sum((code > 0) & (code != cause)))
    return model


# ---------------------------------------------------------------- customer tables with a cause column

#: Most distinct churn causes :func:`cause_codes` accepts. More usually means the wrong column
#: (an id, a free-text comment) rather than a classification of churn, and more curves than this
#: cannot be told apart in one figure.
MAX_CAUSES = 20

#: A cause-specific Cox model is fitted only with at least this many churns of the cause per
#: covariate column (the usual events-per-variable rule of thumb: with fewer, the coefficients are
#: biased away from 0 and the Wald intervals too narrow to be trusted).
MIN_CHURNS_PER_COVARIATE = 10

#: Errors a cause-specific Cox fit can end with that make it a note rather than a failed analysis.
_FIT_ERRORS = (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError)

#: Singular names of tenure units, for sentences ("by month 12").
_UNIT_SINGULAR = {"months": "month", "days": "day", "weeks": "week", "years": "year"}


def _label_text(value) -> str:
    """One cause cell as display text: "" for a blank; 2.0 as "2" (a number column with blanks is
    read from a CSV as floats, and its causes should still read 1, 2, …); text stripped."""
    if isinstance(value, str):
        return value.strip()
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if np.isfinite(value) and value == np.round(value) else f"{value:.15g}"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value).strip()


def _label_order(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label.casefold(), label)


def cause_codes(events, cause_labels, source: str = "table", column: str = "cause",
                notes: list | None = None) -> tuple[np.ndarray, dict[int, str]]:
    """Integer cause codes for :func:`cumulative_incidence` from a column of cause labels.

    Parameters
    ----------
    events : 1 = churned, 0 = still active (censored), one per row.
    cause_labels : the cause of each churn as read from a file: text (``"voluntary"``) or numbers
        (``2``; a number column with blanks reads as floats, 2.0 is the label ``"2"``). Text is
        compared after stripping surrounding spaces.
    source, column : file and column name for error messages.
    notes : optional list; a sentence is appended when non-churned rows carry a cause.

    Returns ``(codes, labels)``: ``codes`` an int64 array, 0 for rows that did not churn and
    1, 2, … for the causes, numbered by the number of churns **descending** (the largest cause is
    1), ties broken by the label (numerically when every label is a number, else alphabetically);
    ``labels`` maps code → label. The order depends only on the counts and labels, never on the
    row order, so the same data always get the same codes.

    A cause on a row that did not churn is ignored (an active customer has no churn cause) and
    counted in ``notes``. Raises :class:`csim.errors.InputError` naming ``column`` and the 1-based
    data row (row 1 = the first row under the header) for a churned row without a cause (blank,
    or 0, which reads as "not churned"), and for a column with more than :data:`MAX_CAUSES`
    distinct causes among the churned rows.
    """
    d = np.asarray(events, float)
    if d.ndim != 1:
        raise ValueError("events must be one-dimensional")
    if not np.all(np.isin(d, (0.0, 1.0))):
        raise ValueError("events must be 0 (still active) or 1 (churned)")
    if isinstance(cause_labels, pd.Series):
        raw = cause_labels.reset_index(drop=True)
    else:
        values = np.asarray(cause_labels)
        raw = pd.Series(values if values.dtype.kind in "biuf" else np.asarray(cause_labels, dtype=object))
    if len(raw) != len(d):
        raise ValueError(f"cause_labels must be one value per row ({len(d)}), got {len(raw)}")
    # Text of each distinct cell only (a million rows have a handful of distinct causes).
    factor, uniques = pd.factorize(raw, use_na_sentinel=True)
    texts = np.array([_label_text(u) for u in uniques] + [""], dtype=object)
    text = texts[factor]                                      # -1 (missing) picks the trailing ""
    churned = d == 1.0
    where = f"column '{column}'"
    blank = churned & (text == "")
    if blank.any():
        row = int(np.flatnonzero(blank)[0]) + 1
        raise InputError(source, f"{where}, row {row}", "churned but no cause given (every churned row needs one)")
    zero = churned & (text == "0")
    if zero.any():
        row = int(np.flatnonzero(zero)[0]) + 1
        raise InputError(source, f"{where}, row {row}", "churned but the cause is 0, which reads as 'not churned'; "
                                                       "give the cause of the churn")
    counts = pd.Series(text[churned]).value_counts(sort=False)
    if len(counts) > MAX_CAUSES:
        extra = pd.unique(text[churned])[MAX_CAUSES]
        row = int(np.flatnonzero(churned & (text == extra))[0]) + 1
        raise InputError(source, f"{where}, row {row}",
                         f"cause {extra!r} is distinct cause number {MAX_CAUSES + 1} ({len(counts)} among the churned "
                         f"rows); at most {MAX_CAUSES} causes are analysed: group the rare ones (e.g. as 'other') or "
                         "check that this is the cause column")
    labels = [str(label) for label in counts.index]
    numeric = all(_label_order(label)[0] == 0 for label in labels)
    order = sorted(labels, key=lambda label: (-int(counts[label]),)
                   + (_label_order(label)[1:] if numeric else (label.casefold(), label)))
    code_of = {label: i + 1 for i, label in enumerate(order)}
    codes = np.zeros(len(d), dtype=np.int64)
    codes[churned] = pd.Series(text[churned]).map(code_of).to_numpy(np.int64)
    ignored = int(np.sum(~churned & (text != "") & (text != "0")))
    if ignored and notes is not None:
        notes.append(f"{ignored:,} row{'s' if ignored != 1 else ''} that did not churn {'have' if ignored != 1 else 'has'}"
                     f" a cause in column '{column}': ignored, a customer still active has no churn cause")
    return codes, {code: label for label, code in code_of.items()}


def _number(value) -> float | None:
    """A float for JSON: None for NaN or ±∞ (an interval that does not exist)."""
    value = float(value)
    return value if np.isfinite(value) else None


def _percent(p: float) -> str:
    """A share as a percentage for sentences: one decimal (two significant digits below 0.1 %)."""
    pct = 100.0 * p
    return f"{pct:.1f}" if pct == 0 or pct >= 0.1 else f"{pct:.2g}"


def _at_risk(x: np.ndarray, e: np.ndarray | None, t: float) -> int:
    """Customers at risk at tenure t (entry < t ≤ exit), the risk sets of :func:`cumulative_incidence`."""
    at = x >= t
    return int(np.sum(at if e is None else at & (e < t)))


def _headline(fit: CumulativeIncidence, h: float, unit: str, level: float, at_end: bool) -> str:
    """One sentence on the shares lost to each cause by tenure h (the largest three causes by name)."""
    unit_word = _UNIT_SINGULAR.get(unit)
    when = (f"By {unit_word} {h:g}" if unit_word else f"By tenure {h:g} ({unit})") + (
        " (the end of follow-up)" if at_end else "")
    if not fit.causes or sum(fit.n_events.values()) == 0:
        return "No customer churned within the data: there is no churn to split by cause."
    rows = fit.at([h]).sort_values("cif", ascending=False, kind="stable")
    total = float(rows["cif"].sum())
    if total <= 0:
        return f"{when} no customer had churned yet."
    interval = f"{100 * level:g} % interval"
    parts = []
    for i, row in enumerate(rows.head(3).itertuples()):
        if np.isfinite(row.lower) and np.isfinite(row.upper):
            bounds = f"{interval} {_percent(row.lower)} to {_percent(row.upper)} %"
        else:
            bounds = "no interval: no sampling variation to estimate one"
        who = " of customers" if i == 0 else ""
        verb = " had churned" if i == 0 else ""
        parts.append(f"{_percent(row.cif)} %{who} ({bounds}){verb} as '{row.label}'")
    rest = rows.iloc[3:]
    if len(rest) and rest["cif"].sum() > 0:
        others = "the other cause" if len(rest) == 1 else f"one of the other {len(rest)} causes"
        parts.append(f"{_percent(rest['cif'].sum())} % as {others}")
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    top = rows.iloc[0]
    share = f"; '{top.label}' is {100 * top.cif / total:.0f} % of all churn by then" if len(rows) > 1 else ""
    return f"{when}, {listed}{share}."


def _cox_by_cause(x, code, e, covariates, fit: CumulativeIncidence, level: float, notes: list) -> tuple[dict, dict]:
    """Cause-specific Cox models as plain rows, plus the fitted models (cause → CoxPH) for figures."""
    from csim.forecast.mle import SingularFitError

    frame = covariates.to_frame() if isinstance(covariates, pd.Series) else pd.DataFrame(covariates)
    if len(frame) != len(x):
        raise ValueError(f"covariates must have one row per customer ({len(x)}), got {len(frame)}")
    for name in frame.columns:
        values = pd.to_numeric(frame[name], errors="coerce")
        if values.isna().any() or not np.all(np.isfinite(values.to_numpy(float))):
            raise ValueError(f"covariate {name!r} must be finite numbers (encode categories as indicator columns)")
    frame = frame.reset_index(drop=True).astype(float)
    n_cov = frame.shape[1]
    need = MIN_CHURNS_PER_COVARIATE * n_cov
    pct = int(round(100 * level))
    out = {"model": "CoxPH", "ties": "efron", "level": level, "covariates": [str(c) for c in frame.columns],
           "rule": f"fitted for a cause with at least {MIN_CHURNS_PER_COVARIATE} churns per covariate "
                   f"({need} here); churns of the other causes count as censored",
           "by_cause": []}
    models = {}
    for cause in fit.causes:
        label = fit.labels[cause]
        churns = int(fit.n_events[cause])
        entry = {"cause": int(cause), "label": label, "churned": churns,
                 "competing": int(np.sum((code > 0) & (code != cause))), "hazard_ratios": None, "skipped": None}
        out["by_cause"].append(entry)
        if churns < need:
            entry["skipped"] = (f"{churns} churns for {n_cov} covariate{'s' if n_cov != 1 else ''}; at least "
                                f"{need} are needed ({MIN_CHURNS_PER_COVARIATE} per covariate)")
            notes.append(f"cause-specific Cox for '{label}': not fitted, {entry['skipped']}")
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = cause_specific_cox(x, code, frame, cause, entry=e, level=level)
            except SingularFitError as exc:
                model, entry["skipped"] = None, str(exc)
            except _FIT_ERRORS as exc:
                model, entry["skipped"] = None, "the fit failed (" + " ".join(str(exc).split()) + ")"
        for w in caught:        # recorded only to judge the fit; still shown to whoever watches warnings
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if model is not None:
            at_bound = set(model.at_bound_)
            finite = ~model.summary.index.isin(list(at_bound))
            if not at_bound and any(w.category.__name__ == "ConvergenceWarning" for w in caught):
                entry["skipped"] = "the fit did not converge"
            elif not np.all(np.isfinite(model.summary["se"].to_numpy(float)[finite])):
                entry["skipped"] = "standard errors could not be computed"
        if entry["skipped"] is not None:
            notes.append(f"cause-specific Cox for '{label}': not reported, {entry['skipped']}")
            continue
        summary = model.summary
        entry["hazard_ratios"] = [
            {"covariate": str(name), "hazard_ratio": _number(row["hazard_ratio"]),
             "lower": _number(row[f"hr_lower_{pct}"]), "upper": _number(row[f"hr_upper_{pct}"]),
             "p": _number(row["p"]), "log10_p": _number(row["log10_p"])}
            for name, row in summary.iterrows()]
        notes.extend(f"cause-specific Cox for '{label}': {note}" for note in model.notes_)
        models[cause] = model
    return out, models


def competing_risks_analysis(durations, causes, labels: Mapping | None, entry=None,
                             covariates: pd.DataFrame | None = None, at: Sequence[float] = (3, 6, 12, 24),
                             level: float = 0.95, unit: str = "months") -> dict:
    """Churn split by cause for a report: cumulative incidence per cause, all-cause churn, Cox by cause.

    Parameters
    ----------
    durations : tenure at churn or at the end of observation, in ``unit`` (months by default).
    causes : integer cause codes per row, 0 = not churned (e.g. from :func:`cause_codes`).
    labels : code → cause name (code 0 is ignored); causes present but not named are shown by code.
    entry : tenure at which each row came under observation (left truncation), or None.
    covariates : optional DataFrame of numeric columns, one row per customer; a cause-specific Cox
        model is then fitted for each cause with at least :data:`MIN_CHURNS_PER_COVARIATE` churns
        per column (fewer, a singular design or a failed fit: a note, no model).
    at : tenures (in ``unit``) at which to report; those after the last follow-up are not
        extrapolated: null values and a note.
    level : confidence level of the pointwise intervals (log scale, as R ``survfit``).
    unit : name of the tenure unit, for the headline.

    Returns a plain-JSON dict (numbers are floats, ints or None for an interval that does not
    exist): ``causes`` ({code, label, churned}); ``cumulative_incidence`` (one row per cause and
    tenure: cause, label, t, cif = share of all customers lost to that cause by t, se, lower,
    upper, at_risk = customers at risk at t, entry < t ≤ exit); ``all_causes`` (per tenure:
    t, at_risk, survival = Kaplan–Meier share still active, its se, lower, upper, churned =
    1 − survival with churned_lower, churned_upper); ``sum_check`` (the largest difference
    between Σ CIF and 1 − survival over every churn tenure and reported tenure, and a sentence);
    ``cause_specific_cox`` (with ``covariates``: per cause the hazard-ratio rows covariate,
    hazard_ratio, lower, upper, p, log10_p, or the reason it was skipped); ``notes``;
    ``headline`` (one sentence). Private keys, to drop before writing JSON: ``_cif`` (the
    :class:`CumulativeIncidence`, for :func:`csim.forecast.plots.plot_cumulative_incidence`) and
    ``_cause_models`` (cause → fitted ``CoxPH``).
    """
    x, code, e = _check_inputs(durations, causes, entry)
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    horizons = np.atleast_1d(np.asarray(at, float))
    if horizons.ndim != 1 or len(horizons) == 0 or not np.all(np.isfinite(horizons)) or np.any(horizons <= 0):
        raise ValueError("at must be one or more positive, finite tenures")
    named = {int(c): str(v) for c, v in (labels or {}).items() if int(c) > 0}
    present = [int(c) for c in np.unique(code[code > 0])]
    order = list(named) + [c for c in present if c not in named]
    fit = cumulative_incidence(x, code, entry=e, causes_order=order, conf_level=level, conf_type="log", labels=named)
    notes = list(fit.notes)
    # Rows observed for no time (censored at their entry) are never at risk and are not follow-up.
    used = np.ones(len(x), bool) if e is None else e < x
    x_used, e_used = x[used], (None if e is None else e[used])
    last = float(x_used.max()) if used.any() else 0.0
    beyond = horizons > last
    if beyond.any():
        notes.append(f"tenure{'s' if beyond.sum() > 1 else ''} {', '.join(f'{h:g}' for h in horizons[beyond])} "
                     f"{unit}: after the last follow-up ({last:g} {unit}), not estimated (no extrapolation)")
    at_risk = {float(h): _at_risk(x_used, e_used, h) for h in horizons}

    rows = []
    for row in fit.at(horizons).itertuples():
        out = not row.t <= last
        rows.append({"cause": int(row.cause), "label": str(row.label), "t": float(row.t),
                     "cif": None if out else _number(row.cif), "se": None if out else _number(row.se),
                     "lower": None if out else _number(row.lower), "upper": None if out else _number(row.upper),
                     "at_risk": None if out else at_risk[float(row.t)]})
    surv = fit.survival
    step = fit._step
    s_at = step(surv, "survival", horizons, 1.0)
    se_at = step(surv, "se", horizons, 0.0)
    lo_at, hi_at = step(surv, "lower", horizons, np.nan), step(surv, "upper", horizons, np.nan)
    all_causes = []
    for i, h in enumerate(horizons):
        values = {"survival": s_at[i], "se": se_at[i], "lower": lo_at[i], "upper": hi_at[i], "churned": 1.0 - s_at[i],
                  "churned_lower": 1.0 - hi_at[i], "churned_upper": 1.0 - lo_at[i]}
        all_causes.append({"t": float(h), "at_risk": None if beyond[i] else at_risk[float(h)],
                           **{k: None if beyond[i] else _number(v) for k, v in values.items()}})

    check_times = np.union1d(surv["t"].to_numpy(float), horizons[~beyond])
    total = np.zeros(len(check_times))
    for cause in fit.causes:
        total += fit.cif(check_times, cause)
    difference = float(np.max(np.abs(total - (1.0 - step(surv, "survival", check_times, 1.0))))) if len(check_times) else 0.0

    within = horizons[~beyond]
    h = float(within.max()) if len(within) else last
    result = {
        "method": "Aalen–Johansen cumulative incidence per cause; infinitesimal-jackknife standard errors "
                  "(as R survival::survfit, multi-state); pointwise intervals on the log scale",
        "unit": unit, "level": level, "n": int(fit.n_obs), "censored": int(fit.n_censored), "last_follow_up": last,
        "causes": [{"code": int(c), "label": fit.labels[c], "churned": int(fit.n_events[c])} for c in fit.causes],
        "cumulative_incidence": rows,
        "all_causes": all_causes,
        "sum_check": {"max_abs_difference": difference,
                      "statement": f"The causes add up: the cumulative incidences sum to the all-cause churn "
                                   f"1 − Kaplan–Meier at every churn tenure (largest difference {difference:.1g})."},
        "notes": notes,
        "headline": _headline(fit, h, unit, level, at_end=not len(within)),
        "_cif": fit,
    }
    if covariates is not None and pd.DataFrame(covariates).shape[1]:
        result["cause_specific_cox"], result["_cause_models"] = _cox_by_cause(x, code, e, covariates, fit, level,
                                                                              notes)
    return result
