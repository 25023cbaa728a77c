"""Does a Cox model's hazard ratio stay constant over tenure? Schoenfeld residuals and the
Grambsch–Therneau test, as R's ``survival::cox.zph`` (survival ≥ 3).

The proportional-hazards assumption says each covariate multiplies the churn hazard by the same
factor exp(beta) at every tenure. Grambsch and Therneau (1994) test it by letting the
coefficient drift with a function of tenure, beta(t) = beta + theta·g(t), and computing the
**score test** of theta = 0 at the fitted beta: one chi-square per covariate (term) and a global
one over all of them. ``g`` is the *transform* of tenure:

``"km"`` (default, as in R)
    1 − S(t−), with S the Kaplan–Meier curve of all customers pooled (left-truncated if
    ``entry`` is given, strata ignored): spreads the churns evenly, so a few very long tenures do
    not dominate.
``"rank"``
    the rank of the tenure among all customers' tenures (ties get the average rank).
``"identity"``
    tenure itself (periods); ``"log"``: log tenure (tenures must be positive).

This module reproduces R's ``cox.zph`` (``survival:::cox.zph`` and its C routines ``zph1.c``
for right-censored and ``zph2.c`` for left-truncated data, survival 3.5-3), including:

* the score vector and the full 2p × 2p information matrix at the fitted coefficients (not the
  variance stored with the fit): ties by **Efron** (the d churns at one tenure leave the risk
  set in d equal steps) or **Breslow**, as the Cox fit was;
* risk sets {entry < t ≤ exit} for left-truncated data (a customer who enters at tenure t is not
  at risk of a churn at t), one risk set per stratum with ``strata``;
* a *term* of several design columns (the 0/1 columns of one categorical covariate) tested with
  as many degrees of freedom as it has columns;
* the **scaled Schoenfeld residuals** R plots (``plot(cox.zph(fit))``): the residual of each
  churn times an information matrix averaged over churns, plus beta, so that their smooth
  against g(t) estimates beta(t). For a term of several columns the residual is that of the
  term's linear predictor (R: beta'r, scaled, plus 1).

The test needs only the coefficients of the fit (``cox_fit.params_`` and ``cox_fit.ties``):
like R, it recomputes the information matrix itself, so any object with those two attributes
serves. Tenures are in periods (months for customer tables); chi-square statistics are
dimensionless and p-values from the chi-square law with ``df`` degrees of freedom.

Differences from R, on purpose: residual rows are ordered by stratum, tenure and then input row
(R reverses the input order within tied tenures for left-truncated data), and a stratum in which
every covariate is constant gets undefined (NaN) residuals instead of shifting the rows of the
following strata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Transforms of tenure accepted by :func:`cox_zph` (see the module docstring).
TRANSFORMS = ("km", "rank", "identity", "log")


@dataclass
class PHTest:
    """Result of :func:`cox_zph`.

    ``table``: one row per term and a ``GLOBAL`` row; columns ``chisq``, ``df``, ``p``.
    ``transform``: the transform of tenure used. ``ties``: "efron" or "breslow".
    Per churn (ordered by stratum, tenure, input row): ``rows`` (0-based position in the input),
    ``times`` (tenure, periods), ``x`` (transformed tenure g(t), uncentered, as R's ``zph$x``),
    ``strata`` (label, or None without strata), ``schoenfeld`` (unscaled Schoenfeld residuals,
    one column per design column: covariate minus its risk-weighted mean at that tenure) and
    ``scaled`` (scaled Schoenfeld residuals, one column per term: R's ``zph$y``).
    ``var``: R's ``zph$var`` (inverse of the per-churn information, per term).
    ``terms``: term → its design columns. ``coefficients``: the fitted coefficients used.
    ``degenerate``: why the test is undefined (statistics NaN), or None.
    """

    table: pd.DataFrame
    transform: str
    ties: str
    rows: np.ndarray
    times: np.ndarray
    x: np.ndarray
    strata: np.ndarray | None
    schoenfeld: pd.DataFrame
    scaled: pd.DataFrame
    var: pd.DataFrame
    terms: dict
    coefficients: pd.Series
    degenerate: str | None = None

    def rejected(self, level: float = 0.05) -> list[str]:
        """Terms (not GLOBAL) whose p-value is below ``level``, most significant first."""
        rows = self.table.drop(index="GLOBAL")
        rows = rows[rows["p"] < level].sort_values("p")
        return [str(t) for t in rows.index]

    def to_dict(self, level: float = 0.05) -> dict:
        """Plain-JSON summary: transform, ties, table (term, chisq, df, p), global p and the
        terms rejected at ``level``."""
        table = [{"term": str(term), "chisq": _float_or_none(row["chisq"]), "df": int(row["df"]),
                  "p": _float_or_none(row["p"])} for term, row in self.table.iterrows()]
        return {"test": "Grambsch-Therneau score test of proportional hazards (R survival::cox.zph)",
                "transform": self.transform, "ties": self.ties, "level": level, "table": table,
                "global_p": _float_or_none(self.table.loc["GLOBAL", "p"]),
                "rejected": self.rejected(level), "churns": int(len(self.times)),
                "degenerate": self.degenerate}


def _float_or_none(value):
    value = float(value)
    return value if np.isfinite(value) else None


def ph_test(cox_fit, durations, events, X, entry=None, strata=None, transform: str = "km",
            terms: dict | None = None) -> pd.DataFrame:
    """Grambsch–Therneau test table (rows: terms and GLOBAL; columns chisq, df, p).

    Same arguments as :func:`cox_zph`; the transform is kept in ``table.attrs["transform"]``.
    """
    result = cox_zph(cox_fit, durations, events, X, entry=entry, strata=strata, transform=transform, terms=terms)
    table = result.table.copy()
    table.attrs["transform"] = result.transform
    return table


def _coefficients(cox_fit, columns: list[str]) -> pd.Series:
    params = getattr(cox_fit, "params_", None)
    if params is None:
        raise ValueError("cox_fit has no fitted coefficients (params_): fit the Cox model first")
    if isinstance(params, pd.Series) and set(map(str, params.index)) == set(columns):
        return pd.Series(params.to_numpy(float), index=params.index.map(str)).reindex(columns)
    values = np.asarray(params, float).ravel()
    if len(values) != len(columns):
        raise ValueError(f"the fit has {len(values)} coefficients but X has {len(columns)} columns")
    return pd.Series(values, index=columns)


def _transformed_time(t, d, a, transform: str) -> np.ndarray:
    """g(t) for every row (R: ``ttimes``), computed on all customers pooled."""
    if transform == "identity":
        return t.copy()
    if transform == "log":
        if np.any(t <= 0):
            raise ValueError("the log transform needs positive tenures")
        return np.log(t)
    if transform == "rank":
        return stats.rankdata(t, method="average")
    # "km": 1 − S(t−), the pooled Kaplan–Meier curve just before each tenure. Computed here rather
    # than with KaplanMeier because the risk set convention must be R's (entry < u ≤ exit) for
    # the transform to match cox.zph on left-truncated data.
    times = np.unique(t)
    churned = np.bincount(np.searchsorted(times, t[d > 0]), minlength=len(times)).astype(float)
    t_sorted = np.sort(t)
    at_risk = len(t) - np.searchsorted(t_sorted, times, side="left")
    if a is not None:
        at_risk = at_risk - (len(a) - np.searchsorted(np.sort(a), times, side="left"))
    # A tenure with no churn has factor 1 (and may have nobody at risk under left truncation).
    factor = np.where(churned > 0, 1.0 - churned / np.maximum(at_risk, 1), 1.0)
    surv = np.cumprod(factor)
    before = np.searchsorted(times, t, side="left")  # number of distinct tenures below t
    return 1.0 - np.r_[1.0, surv][before]


def cox_zph(cox_fit, durations, events, X, entry=None, strata=None, transform: str = "km",
            terms: dict | None = None) -> PHTest:
    """Schoenfeld residuals and the Grambsch–Therneau test of a fitted Cox model.

    Parameters
    ----------
    cox_fit : a fitted :class:`csim.forecast.cox.CoxPH` (or any object with ``params_``, the
        log hazard ratios in the order of the columns of ``X`` or indexed by their names, and
        ``ties``, "efron" or "breslow"), fitted to the same data.
    durations : tenure at churn or censoring (exit), periods.
    events : 1 = churned at that tenure, 0 = still active (censored).
    X : the design the model was fitted to (DataFrame of numeric columns, or an array).
    entry : tenure at which each customer came under observation (left truncation), periods;
        must be below the exit tenure. None or all zeros: none.
    strata : optional labels; each stratum has its own risk sets (as ``strata()`` in R).
    transform : "km" (default), "rank", "identity" or "log"; see the module docstring.
    terms : optional mapping term → list of design columns tested together (e.g. the 0/1 columns
        of one categorical covariate); columns not named form one term each. Default: one term
        per column.

    Returns a :class:`PHTest`. Raises ValueError for inconsistent inputs. When the test is
    undefined (all churns at one tenure, a singular information matrix) the statistics are NaN
    and ``degenerate`` says why.
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; choose from {', '.join(TRANSFORMS)}")
    ties = getattr(cox_fit, "ties", "efron")
    if ties not in ("efron", "breslow"):
        raise ValueError("ties must be 'efron' or 'breslow'")
    columns = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
    Xr = np.asarray(X, float)
    if Xr.ndim == 1:
        Xr = Xr[:, None]
    n, p = Xr.shape
    if columns is None:
        columns = getattr(cox_fit, "covariate_names_", None) or [f"x{i}" for i in range(p)]
    t = np.asarray(durations, float).ravel()
    d = np.asarray(events, float).ravel()
    if len(t) != n or len(d) != n:
        raise ValueError("durations, events and X must have the same number of rows")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(Xr))):
        raise ValueError("durations and covariates must be finite")
    if not np.all((d == 0) | (d == 1)):
        raise ValueError("events must be 0 or 1")
    if not np.any(d > 0):
        raise ValueError("no churn: the test needs at least one")
    a = None
    if entry is not None:
        a = np.asarray(entry, float).ravel()
        if len(a) != n:
            raise ValueError("entry must have one value per row")
        if np.any(a >= t):
            raise ValueError("entry must be below the exit tenure on every row")
        if not np.any(a > 0):
            a = None  # nobody enters late: plain right-censored data (R's zph1)
    if strata is None:
        codes, labels = np.zeros(n, int), None
    else:
        labels = np.asarray(strata).astype(str)
        if len(labels) != n:
            raise ValueError("strata must have one label per row")
        _, codes = np.unique(labels, return_inverse=True)  # sorted levels, as R's factor()
    beta = _coefficients(cox_fit, columns)
    term_cols = _terms(terms, columns)

    g_all = _transformed_time(t, d, a, transform)
    event = d > 0
    gc = g_all - g_all[event].mean()  # centred (R: gtime); centring changes no statistic

    # Centring the covariates changes neither residuals nor information; it keeps the sums of
    # squares below from cancelling catastrophically (R's zph1/zph2 centre too).
    Xc = Xr - Xr.mean(axis=0)
    eta = Xc @ beta.to_numpy()

    u2 = np.zeros(p)                      # time-weighted score: sum g(t)·(x_i − mean)
    info = np.zeros((3, p, p))            # sum of V_t weighted by 1, g, g²
    resid_rows, resid = [], []
    used = np.zeros((codes.max() + 1, p))  # churns per stratum where a column varies (R: used)
    for s in range(codes.max() + 1):
        rows = np.flatnonzero(codes == s)
        if not np.any(event[rows]):
            continue
        used[s] = np.where(np.ptp(Xr[rows], axis=0) > 0, event[rows].sum(), 0.0)
        r_rows, r_vals, u_s, info_s = _stratum(t[rows], event[rows], None if a is None else a[rows], Xc[rows],
                                               eta[rows] - eta[rows].max(), gc[rows], ties)
        resid_rows.append(rows[r_rows])
        resid.append(r_vals)
        u2 += u_s
        info += info_s
    order_rows = np.concatenate(resid_rows)
    schoen = np.vstack(resid)
    imat = np.block([[info[0], info[1]], [info[1], info[2]]])

    table, degenerate = _score_tests(u2, imat, term_cols, p)
    if len(np.unique(t[event])) < 2:
        degenerate = "all churns are at one tenure: there is no change over tenure to test"
        table[["chisq", "p"]] = np.nan
    scaled, var = _scaled_residuals(schoen, info[0], used, codes[order_rows], term_cols, beta.to_numpy())
    term_names = list(term_cols)
    return PHTest(
        table=table, transform=transform, ties=ties, rows=order_rows, times=t[order_rows], x=g_all[order_rows],
        strata=None if labels is None else labels[order_rows],
        schoenfeld=pd.DataFrame(schoen, columns=columns),
        scaled=pd.DataFrame(scaled, columns=term_names),
        var=pd.DataFrame(var, index=term_names, columns=term_names),
        terms={k: [columns[j] for j in v] for k, v in term_cols.items()}, coefficients=beta, degenerate=degenerate)


def _terms(terms: dict | None, columns: list[str]) -> dict[str, list[int]]:
    """Term → column positions, in the order of the columns' first appearance."""
    position = {c: i for i, c in enumerate(columns)}
    owner: dict[int, str] = {}
    for term, cols in (terms or {}).items():
        for c in cols:
            if str(c) not in position:
                raise ValueError(f"term {term!r} names column {c!r}, which X does not have")
            if position[str(c)] in owner:
                raise ValueError(f"column {c!r} is in two terms")
            owner[position[str(c)]] = str(term)
    out: dict[str, list[int]] = {}
    for j, c in enumerate(columns):
        out.setdefault(owner.get(j, c), []).append(j)
    return out


def _stratum(t, event, a, X, eta, g, ties):
    """Score, information and Schoenfeld residuals of one stratum.

    At each churn tenure u the risk set is {entry < u ≤ exit}; its sums of exp(eta), exp(eta)·x
    and exp(eta)·x·x' are those of {exit ≥ u} minus those of {entry ≥ u} (everyone entering at or
    after u leaves after u). With d churns at u, Efron's approximation uses d risk sets from which
    a share f = 0, 1/d, …, (d−1)/d of the churners' sums is removed; Breslow's uses f = 0 d times.
    Returns (residual rows, residuals, time-weighted score, [Σ V, Σ g·V, Σ g²·V]).
    """
    n, p = X.shape
    risk = np.exp(eta)
    times = np.unique(t[event])                       # churn tenures, increasing
    k = len(times)
    exit_order = np.argsort(t, kind="stable")
    exit_pos = np.searchsorted(t[exit_order], times, side="left")
    if a is not None:
        entry_order = np.argsort(a, kind="stable")
        entry_pos = np.searchsorted(a[entry_order], times, side="left")

    def risk_set_sum(values):
        """Sum of ``values`` (one per row) over the risk set of each churn tenure."""
        total = np.r_[np.cumsum(values[exit_order][::-1])[::-1], 0.0][exit_pos]
        if a is not None:
            total = total - np.r_[np.cumsum(values[entry_order][::-1])[::-1], 0.0][entry_pos]
        return total

    ev_rows = np.flatnonzero(event)
    ev_time = np.searchsorted(times, t[ev_rows])      # churn tenure index of each churn

    def churn_sum(values):
        return np.bincount(ev_time, weights=values[ev_rows], minlength=k)

    deaths = np.bincount(ev_time, minlength=k).astype(float)
    r0, d0 = risk_set_sum(risk), churn_sum(risk)
    r1 = np.column_stack([risk_set_sum(risk * X[:, j]) for j in range(p)])
    d1 = np.column_stack([churn_sum(risk * X[:, j]) for j in range(p)])
    xsum = np.column_stack([churn_sum(X[:, j]) for j in range(p)])

    # Efron's d steps per churn tenure, expanded to one entry per churn: f = step/d.
    step = np.arange(len(ev_rows)) - np.r_[0, np.cumsum(deaths)[:-1]].astype(int)[np.sort(ev_time)]
    tix = np.sort(ev_time)
    f = step / deaths[tix] if ties == "efron" else np.zeros(len(tix))
    den = r0[tix] - f * d0[tix]
    s0, s1 = (np.bincount(tix, weights=w, minlength=k) for w in (1.0 / den, f / den))
    q0, q1, q2 = (np.bincount(tix, weights=w, minlength=k) for w in (1 / den**2, f / den**2, f**2 / den**2))

    # Sum over the d steps of the risk-set mean of x: Σ_k (r1 − f·d1)/(r0 − f·d0).
    mean_sum = r1 * s0[:, None] - d1 * s1[:, None]
    gt = g[event][np.argsort(ev_time, kind="stable")]
    g_time = np.zeros(k)
    g_time[tix] = gt                                  # g is a function of tenure: one value per tenure
    u2 = ((xsum - mean_sum) * g_time[:, None]).sum(axis=0)

    # V_t = Σ_k [(r2 − f·d2)/den_k − a_k a_k'/den_k²], a_k = r1 − f·d1, one column pair at a time
    # (memory stays O(n) however many distinct tenures).
    weights = np.vstack([np.ones(k), g_time, g_time**2])
    info = np.zeros((3, p, p))
    for i in range(p):
        for j in range(i + 1):
            xx = risk * X[:, i] * X[:, j]
            v = (risk_set_sum(xx) * s0 - churn_sum(xx) * s1
                 - (r1[:, i] * r1[:, j] * q0 - (r1[:, i] * d1[:, j] + d1[:, i] * r1[:, j]) * q1
                    + d1[:, i] * d1[:, j] * q2))
            info[:, i, j] = info[:, j, i] = weights @ v

    # Schoenfeld residual of each churn: x_i − (1/d)·Σ_k mean_k (the average of Efron's means).
    order = np.lexsort((ev_rows, t[ev_rows]))        # by tenure, then input row
    rows = ev_rows[order]
    ti = ev_time[order]
    resid = X[rows] - mean_sum[ti] / deaths[ti][:, None]
    return rows, resid, u2, info


def _score_tests(u2, imat, term_cols, p):
    """Score test of theta = 0 per term and globally (R: u = (0, u2); chisq = u' I⁻¹ u)."""
    names, chisq, df = [], [], []
    degenerate = None
    for name, cols in [*term_cols.items(), ("GLOBAL", list(range(p)))]:
        keep = list(range(p)) + [p + j for j in cols]
        u = np.r_[np.zeros(p), u2[cols]]
        try:
            value = float(u @ np.linalg.solve(imat[np.ix_(keep, keep)], u))
        except np.linalg.LinAlgError:
            value = np.nan
            degenerate = "the information matrix is singular (a covariate without variation among those at risk?)"
        names.append(name)
        chisq.append(value)
        df.append(len(cols))
    chisq = np.asarray(chisq)
    table = pd.DataFrame({"chisq": chisq, "df": df, "p": stats.chi2.sf(chisq, df)},
                         index=pd.Index(names, name="term"))
    if degenerate:
        table[["chisq", "p"]] = np.nan
    return table, degenerate


def _scaled_residuals(schoen, info0, used, strata_of_row, term_cols, beta):
    """R's scaled Schoenfeld residuals (zph$y) and zph$var.

    The information is averaged over the churns where both columns vary (R: vmean = I / wtmat);
    a term of several columns is reduced to its linear predictor beta'r. Within each stratum the
    residuals of the columns that vary there are multiplied by the inverse averaged information,
    then beta (or 1 for a term of several columns) is added.
    """
    used = used.copy()
    for cols in term_cols.values():
        if len(cols) > 1 and np.any(used[:, cols] == 0):
            used[:, cols] = used[:, cols].max(axis=1)[:, None]
    wtmat = sum(np.minimum.outer(row, row) for row in used)
    vmean = info0 / np.where(wtmat == 0, 1.0, wtmat)
    nterm = len(term_cols)
    combine = np.zeros((len(beta), nterm))
    shift = np.zeros(nterm)
    for i, cols in enumerate(term_cols.values()):
        if len(cols) == 1:
            combine[cols[0], i] = 1.0
            shift[i] = beta[cols[0]]
        else:
            combine[cols, i] = beta[cols]
            shift[i] = 1.0
    sresid = schoen @ combine
    vmean = combine.T @ vmean @ combine
    used = used[:, [cols[0] for cols in term_cols.values()]]
    scaled = np.full_like(sresid, np.nan)
    for s in range(used.shape[0]):
        k = np.flatnonzero(used[s] > 0)
        here = strata_of_row == s
        if len(k) and np.any(here):
            scaled[np.ix_(here, k)] = np.linalg.solve(vmean[np.ix_(k, k)], sresid[np.ix_(here, k)].T).T
    try:
        var = np.linalg.inv(vmean)
    except np.linalg.LinAlgError:
        var = np.full_like(vmean, np.nan)
    return scaled + shift, var
