"""Discrete-time hazard models for tenures counted in whole periods (monthly exports).

A tenure read from a monthly export is **interval-censored**, not exact: a customer recorded
as churning "at month 3" churned somewhere in (2, 3]. Continuous-time models (Kaplan–Meier on
the raw numbers, Cox, Weibull) then see heavy ties at whole months and treat the recorded month
as the exact time. A discrete-time hazard model takes the data for what they are: per period
``j = 1, 2, …`` the **hazard** ``h_j(x)`` is the probability that a customer still active at
the start of period ``j`` churns during it, and

    S(k | x) = Π_{j ≤ k} (1 − h_j(x))            (share still active after period k)

Estimation is a binary GLM on **person-period** data (one Bernoulli trial per customer and
period at risk; Allison 1982, Singer & Willett 2003 ch. 10–12). Since every customer with the
same covariate pattern shares the same hazard in a period, the trials are aggregated to counts
per (period, covariate pattern): ``at_risk`` trials and ``churned`` successes. The binomial
GLM on (churned, at_risk − churned) has the same likelihood kernel, estimates and information
as the long Bernoulli form, so 1,000,000 customers × 36 months with a few categorical
covariates is a GLM on a few hundred rows (the long form would have tens of millions).

Conventions (``period`` is the length of one period in the unit of the durations, 1 by default;
below, durations and entries are already divided by it):

* A duration ``t`` means the customer was **observed through period ceil(t)**. A churn at
  ``t`` is a churn **in period ceil(t)**; an active (censored) customer at ``t`` survived
  periods 1 … ceil(t). For whole-period data this is the usual reading of a monthly export
  (tenure 3, still active: has completed month 3). For a fractional censored tenure (2.4) it
  counts the partly observed period 3 as survived, which is only right when durations sit on
  the grid: hence :func:`is_coarse_grid` and the warning in :meth:`DiscreteTimeHazard.fit`.
  A churn at tenure 0 is counted in period 1 (it happened in the first period; there is no
  period 0); a censored tenure 0 was never at risk and adds nothing.
* **Left truncation**: entry ``e`` (tenure at which observation began) means at risk from
  period ``floor(e) + 1`` on; for whole-period entries that is "at risk in period j when
  e < j", the Kaplan–Meier risk set. A customer whose churn falls at or before the entry
  period has no period at risk and is left out (noted).
* To absorb floating-point noise from unit conversions, ``ceil`` and ``floor`` use a tolerance
  of ``1e-9`` periods (3.0000000001 months is month 3).

Links: ``cloglog`` (complementary log-log, log(−log(1 − h))) is the **grouped-time
proportional-hazards** model: if the underlying continuous hazard is ``λ0(t)·exp(x'β)``, then
``1 − h_j(x) = exp(−exp(α_j + x'β))`` exactly, with ``α_j`` = log of the baseline cumulative
hazard accrued over period j (Prentice & Gloeckler 1978). Its coefficients are therefore **log
hazard ratios**, comparable with Cox's. ``logit`` gives log odds ratios of the per-period churn
probability (the proportional-odds model of Cox 1972); for small hazards the two nearly agree.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

#: Tolerance (in periods) of ceil/floor when mapping durations and entries to periods.
PERIOD_TOL = 1e-9

#: Share of durations that must be whole periods for the data to count as a coarse grid.
GRID_SHARE = 0.95

#: Most aggregated person-period rows accepted (only reached with many distinct numeric covariate
#: values over a long tenure range; categorise such covariates first). The aggregation holds six
#: int64 arrays of this length (~0.5 GB at the limit).
MAX_ROWS = 10_000_000

#: Most cells (rows × coefficients) of the GLM design accepted: statsmodels' IRLS holds several
#: float64 copies of it and takes an SVD per step (measured: 1e7 cells, 1.3 GB and ~6 s).
MAX_DESIGN_CELLS = 20_000_000

LINKS = ("cloglog", "logit")
BASELINES = ("periods", "polynomial")


# ----------------------------------------------------------------------------------------------
# Grid check and person-period aggregation
# ----------------------------------------------------------------------------------------------

def grid_share(durations, period: float = 1.0, tol: float = 1e-6) -> float:
    """Share of ``durations`` that are whole multiples of ``period`` (within ``tol`` periods)."""
    t = np.asarray(durations, float) / float(period)
    if t.size == 0:
        return float("nan")
    return float(np.mean(np.abs(t - np.round(t)) <= tol))


def is_coarse_grid(durations, period: float = 1.0, tol: float = 1e-6, share: float = GRID_SHARE) -> bool:
    """Whether at least ``share`` (95 %) of the durations are whole multiples of ``period``.

    ``tol`` is in periods (1e-6 of a month is ~3 s). True means the tenures come from a
    periodic export and a discrete-time model reads them correctly; False means they carry
    within-period timing (e.g. days converted to months), which ceil() would throw away.
    """
    value = grid_share(durations, period, tol)
    return bool(np.isfinite(value) and value >= share)


def _grid_message(share: float, period: float) -> str:
    return (f"only {100 * share:.1f} % of the durations are whole multiples of the period ({period:g}); "
            f"the discrete-time model reads each as the interval (ceil(t) − 1, ceil(t)] and loses the "
            f"timing within the period (a censored tenure 2.4 counts as having survived period 3). "
            f"A continuous-time model (Kaplan–Meier, Cox, parametric) uses that timing")


@dataclass
class PersonPeriods:
    """Person-period data aggregated per (covariate pattern, period).

    ``patterns``: one row per distinct covariate pattern (the raw covariate values; no columns
    without covariates). Per aggregated row: ``pattern`` (row of ``patterns``), ``period``
    (1, 2, …), ``at_risk`` (customers at risk at the start of the period) and ``churned``.
    """

    patterns: pd.DataFrame
    pattern: np.ndarray
    period: np.ndarray
    at_risk: np.ndarray
    churned: np.ndarray
    n_customers: int
    n_events: int
    notes: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The aggregated rows as a DataFrame: covariate columns, period, at_risk, churned."""
        out = self.patterns.iloc[self.pattern].reset_index(drop=True)
        out["period"] = self.period
        out["at_risk"] = self.at_risk
        out["churned"] = self.churned
        return out


def _check_arrays(durations, events, entry):
    t = np.asarray(durations, float)
    if t.ndim != 1:
        raise ValueError("durations must be one-dimensional")
    d = np.asarray(events)
    if d.shape != t.shape:
        raise ValueError(f"events has {d.size} values but durations has {t.size}")
    d = d.astype(float)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("durations must be finite and ≥ 0")
    if not np.all((d == 0) | (d == 1)):
        raise ValueError("events must be 0 (active) or 1 (churned)")
    e = None
    if entry is not None:
        e = np.asarray(entry, float)
        if e.shape != t.shape:
            raise ValueError(f"entry has {e.size} values but durations has {t.size}")
        if not np.all(np.isfinite(e)) or np.any(e < 0):
            raise ValueError("entry tenures must be finite and ≥ 0")
        if np.any(e > t):
            raise ValueError(f"{int(np.sum(e > t))} entry tenures exceed their duration (entry must be ≤ duration)")
    return t, d, e


def _pattern_ids(covariates, n: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer pattern id per customer and the distinct patterns (sorted), from raw covariates."""
    if covariates is None:
        return np.zeros(n, np.int64), pd.DataFrame(index=range(1))
    frame = pd.DataFrame(covariates).reset_index(drop=True)
    if len(frame) != n:
        raise ValueError(f"covariates have {len(frame)} rows but durations has {n}")
    frame.columns = [str(c) for c in frame.columns]
    clash = {"period", "at_risk", "churned"} & set(frame.columns)
    if clash:
        raise ValueError(f"covariate column name {sorted(clash)[0]!r} is reserved; rename it")
    if frame.shape[1] == 0:
        return np.zeros(n, np.int64), pd.DataFrame(index=range(1))
    if frame.isna().to_numpy().any():
        column = frame.columns[frame.isna().any().to_numpy()][0]
        raise ValueError(f"covariate {column!r} has missing values; drop or fill them first")
    grouped = frame.groupby(list(frame.columns), sort=True, observed=True)
    ids = grouped.ngroup().to_numpy(np.int64)
    patterns = grouped.size().index.to_frame(index=False)
    patterns.columns = list(frame.columns)
    return ids, patterns


def _aggregate(durations, events, entry=None, covariates=None, period: float = 1.0) -> PersonPeriods:
    """The arrays behind :func:`person_periods` (see the module docstring for the conventions)."""
    if not (np.isfinite(period) and period > 0):
        raise ValueError("period must be a positive number")
    t, d, e = _check_arrays(durations, events, entry)
    notes: list[str] = []
    ids, patterns = _pattern_ids(covariates, len(t))
    n_groups = len(patterns)
    last = np.ceil(t / period - PERIOD_TOL).astype(np.int64)      # last period observed
    zero_churn = (d > 0) & (last < 1)
    if zero_churn.any():
        notes.append(f"{int(zero_churn.sum())} churns at tenure 0 are counted in period 1")
    last = np.where(d > 0, np.maximum(last, 1), last)
    first = (np.floor(e / period + PERIOD_TOL).astype(np.int64) + 1) if e is not None else np.ones_like(last)
    keep = first <= last
    lost_churn = int(np.sum(~keep & (d > 0)))
    if lost_churn:
        notes.append(f"{lost_churn} churns at or before the tenure at which observation began have no "
                     f"period at risk and are left out")
    if not keep.all():
        ids, first, last, d = ids[keep], first[keep], last[keep], d[keep]
    # One block of consecutive periods per pattern, [lo, hi]; entries are counted at their first
    # period and exits at their last, so at_risk(j) = entries(≤ j) − exits(< j). Each block's
    # entries and exits balance, so one global cumulative sum returns to 0 at every block end.
    lo = np.full(n_groups, np.iinfo(np.int64).max)
    hi = np.zeros(n_groups, np.int64)
    np.minimum.at(lo, ids, first)
    np.maximum.at(hi, ids, last)
    used = hi >= lo
    length = np.where(used, hi - lo + 1, 0)
    total = int(length.sum())
    if total > MAX_ROWS:
        raise ValueError(f"{total:,} person-period rows after aggregation (more than {MAX_ROWS:,}): numeric "
                         f"covariates with many distinct values defeat the aggregation; group them into bands")
    offset = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    base = offset - np.where(used, lo, 0)
    entry_at = _bincount(base[ids] + first, total)
    exit_idx = base[ids] + last
    exits = _bincount(exit_idx, total)
    churned = np.bincount(exit_idx, weights=d, minlength=total).round().astype(np.int64)
    at_risk = np.cumsum(entry_at - exits) + exits
    pattern = np.repeat(np.arange(n_groups), length)
    periods = np.arange(total) - np.repeat(offset, length) + np.repeat(np.where(used, lo, 0), length)
    rows = at_risk > 0
    return PersonPeriods(patterns=patterns, pattern=pattern[rows], period=periods[rows], at_risk=at_risk[rows],
                         churned=churned[rows], n_customers=int(len(t)), n_events=int(d.sum()), notes=notes)


def _bincount(index: np.ndarray, length: int) -> np.ndarray:
    """Counts of ``index`` values in 0 … length − 1 (int64)."""
    return np.bincount(index, minlength=length).astype(np.int64)


def person_periods(durations, events, entry=None, covariates=None, period: float = 1.0,
                   grid: str = "warn") -> pd.DataFrame:
    """Person-period data aggregated to counts per (covariate pattern, period).

    Parameters
    ----------
    durations : tenures in the data's unit (months for customer tables).
    events : 1 = churned at that tenure, 0 = still active.
    entry : optional tenures at which observation began (left truncation), same unit.
    covariates : optional DataFrame; each distinct row of raw values is a pattern (categorical
        text columns stay as text; numeric columns are used as values).
    period : length of one period in the durations' unit (1: durations already in periods).
    grid : what to do when fewer than 95 % of durations are whole periods: ``"warn"``
        (UserWarning), ``"raise"`` (ValueError) or ``"ignore"``.

    Returns a DataFrame with the covariate columns, ``period`` (1, 2, …), ``at_risk`` (customers
    active at the start of the period and under observation) and ``churned`` (churns during
    it), one row per pattern and period with anyone at risk. Conventions: module docstring.
    ``frame.attrs["notes"]`` lists what was counted specially (churn at 0, rows left out).
    """
    _check_grid(durations, period, grid)
    data = _aggregate(durations, events, entry, covariates, period)
    out = data.frame()
    out.attrs["notes"] = list(data.notes)
    return out


def _check_grid(durations, period: float, grid: str) -> float:
    if grid not in ("warn", "raise", "ignore"):
        raise ValueError("grid must be 'warn', 'raise' or 'ignore'")
    share = grid_share(durations, period)
    if grid != "ignore" and np.isfinite(share) and share < GRID_SHARE:
        if grid == "raise":
            raise ValueError(_grid_message(share, period))
        warnings.warn(_grid_message(share, period), UserWarning, stacklevel=3)
    return share


# ----------------------------------------------------------------------------------------------
# Baseline hazard: period bins or a polynomial in log(period)
# ----------------------------------------------------------------------------------------------

def period_bins(churned_per_period: np.ndarray, min_events: int, max_periods: int) -> np.ndarray:
    """Bin (0, 1, …) of each period 1 … K for the ``"periods"`` baseline.

    ``churned_per_period[j − 1]`` = churns in period j (all patterns). The rule:

    1. Periods after ``max_periods`` (the cap) form one unit, the tail; periods up to the cap
       are units of their own.
    2. Scanning the units in order, a bin is closed as soon as it holds ``min_events`` churns:
       a period with enough churns gets its own parameter, quieter periods are pooled with the
       following ones until the bin has enough.
    3. A last bin with fewer than ``min_events`` churns (the quiet tail) is merged into the bin
       before it; if there is none, all periods share one hazard (a geometric model).

    So no bin is without churns (a hazard estimate of 0 would send the GLM coefficient to −∞),
    and with plentiful churn every period up to the cap has its own hazard.
    """
    churned = np.asarray(churned_per_period, float)
    n_periods = len(churned)
    units = [[j] for j in range(min(n_periods, max_periods))]
    if n_periods > max_periods:
        units.append(list(range(max_periods, n_periods)))
    bins = np.zeros(n_periods, np.int64)
    current, count, closed = 0, 0.0, []
    members: list[int] = []
    for unit in units:
        members.extend(unit)
        count += churned[unit].sum()
        if count >= min_events:
            bins[members] = current
            closed.append(current)
            current, count, members = current + 1, 0.0, []
    if members:
        bins[members] = closed[-1] if closed else current
    return bins


def _bin_labels(bins: np.ndarray) -> list[str]:
    labels = []
    for b in range(int(bins.max()) + 1):
        periods = np.flatnonzero(bins == b) + 1
        labels.append(f"{periods[0]}" if len(periods) == 1 else f"{periods[0]}-{periods[-1]}")
    return labels


# ----------------------------------------------------------------------------------------------
# Link arithmetic kept accurate for small hazards (statsmodels' 1 − exp(−exp(η)) loses digits)
# ----------------------------------------------------------------------------------------------

def _log_hazard(link: str, eta):
    """log h(η)."""
    if link == "cloglog":
        return np.log(-np.expm1(-np.exp(eta)))
    return -np.logaddexp(0.0, -eta)


def _log_survive(link: str, eta):
    """log(1 − h(η)), the per-period contribution to log S."""
    if link == "cloglog":
        return -np.exp(eta)
    return -np.logaddexp(0.0, eta)


def _dlogsurvive(link: str, eta):
    """d(−log(1 − h))/dη: exp(η) for cloglog, h for logit."""
    if link == "cloglog":
        return np.exp(eta)
    return np.exp(_log_hazard(link, eta))


def _hazard(link: str, eta):
    return np.exp(_log_hazard(link, eta))


def _spurious(item) -> bool:
    """Warnings statsmodels raises for every well-posed fit on aggregated (d, n − d) data.

    With counts as endog statsmodels compares the fitted *proportions* with the observed ones, so
    a saturated model (period effects and categorical covariates fitting every row) is flagged as
    "perfect separation"; and its residual degrees of freedom are 0, so the dispersion estimate
    divides by zero, although the binomial scale is fixed at 1 and that estimate is not used.
    Genuine separation (a pattern or bin without churn) shows instead as non-convergence or a
    huge standard error, which :meth:`DiscreteTimeHazard._degeneracy` reports.
    """
    name = item.category.__name__
    text = str(item.message)
    return name == "PerfectSeparationWarning" or (name == "RuntimeWarning" and "divide by zero" in text
                                                  and item.filename.endswith("_tools.py"))


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------

class DiscreteTimeHazard:
    """Discrete-time hazard regression: link(h_j(x)) = α_j + x'β on person-period counts.

    Parameters
    ----------
    link : ``"cloglog"`` (grouped proportional hazards: β are log hazard ratios) or
        ``"logit"`` (β are log odds ratios of churning in a period).
    baseline : ``"periods"``: one α per period up to ``max_periods``, quiet periods and the
        tail pooled so every bin has ``min_events`` churns (rule: :func:`period_bins`);
        ``"polynomial"``: α_j = a_0 + a_1·log j + … + a_degree·(log j)^degree (degree 0 is
        the geometric model; with cloglog, degree 1 is a grouped Weibull-like hazard).
    min_events, max_periods : the pooling rule of the ``"periods"`` baseline.
    degree : degree of the ``"polynomial"`` baseline.
    period : length of one period in the durations' unit (1: durations are in periods).
    grid : ``"warn"`` / ``"raise"`` / ``"ignore"`` when fewer than 95 % of durations are
        whole periods (see :func:`is_coarse_grid`).
    level : interval level (0.95).

    After :meth:`fit`: ``params_`` (all coefficients: baseline terms first, then covariates),
    ``cov_``, ``summary`` (covariate coefficients), ``baseline_`` (per period: at risk,
    churned, observed rate, and hazard and survival with intervals at the reference profile:
    numeric covariates 0, text covariates at their reference level), ``loglik_``,
    ``aic_``, ``bic_``, ``degenerate_`` (reason or None), ``notes_``, ``result_`` (the
    statsmodels GLM result), ``data_`` (the :class:`PersonPeriods`).

    Projection beyond the last observed period K carries the last bin's hazard forward
    (``"periods"``; a constant, geometric tail) or extrapolates the polynomial.
    """

    name = "discrete_hazard"
    kind = "discrete_time"
    supports_entry = True
    supports_covariates = True
    needs_covariates = False
    needs_whole_periods = False
    needs_period_grid = True
    has_density = False
    whole_period_steps = True
    # Any churn will do: quiet periods are pooled until a bin holds one (a churn at tenure 0
    # counts in period 1), and the fit refuses data without churn.
    min_churn_tenures = 0

    def __init__(self, link: str = "cloglog", baseline: str = "periods", min_events: int = 10,
                 max_periods: int = 60, degree: int = 2, period: float = 1.0, grid: str = "warn",
                 level: float = 0.95):
        if link not in LINKS:
            raise ValueError(f"link must be one of {LINKS}")
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}")
        if int(min_events) < 1:
            raise ValueError("min_events must be ≥ 1 (a bin without churn has no finite hazard estimate)")
        if int(max_periods) < 1:
            raise ValueError("max_periods must be ≥ 1")
        if int(degree) < 0:
            raise ValueError("degree must be ≥ 0")
        if grid not in ("warn", "raise", "ignore"):
            raise ValueError("grid must be 'warn', 'raise' or 'ignore'")
        self.link = link
        self.baseline = baseline
        self.min_events = int(min_events)
        self.max_periods = int(max_periods)
        self.degree = int(degree)
        self.period = float(period)
        self.grid = grid
        self.level = level

    # -- design -----------------------------------------------------------------------------

    def _baseline_design(self, periods) -> np.ndarray:
        """Baseline columns for periods j ≥ 1 (after the last observed period: the tail's)."""
        j = np.asarray(periods, np.int64)
        if self.baseline == "periods":
            k = len(self.bins_)
            b = self.bins_[np.clip(j, 1, k) - 1]
            out = np.zeros((len(j), self.n_baseline_))
            out[np.arange(len(j)), b] = 1.0
            return out
        u = np.log(np.maximum(j, 1).astype(float))
        return np.column_stack([u ** p for p in range(self.degree + 1)])

    def _encode(self, patterns: pd.DataFrame, reference: dict | None):
        """Numeric design per pattern: numeric columns as they are, text columns as 0/1 dummies.

        The reference level of a text column is its first level in sorted order (as in
        :mod:`csim.forecast.covariates`) unless ``reference`` names another.
        """
        reference = dict(reference or {})
        unknown = set(reference) - set(patterns.columns)
        if unknown:
            raise ValueError(f"reference names {sorted(unknown)[0]!r}, which is not a covariate")
        columns, names, encoding = [], [], {}
        for column in patterns.columns:
            values = patterns[column]
            numeric = (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)) \
                and not isinstance(values.dtype, pd.CategoricalDtype) and column not in reference
            if numeric:
                x = values.to_numpy(float)
                if not np.all(np.isfinite(x)):
                    raise ValueError(f"covariate {column!r} has infinite values")
                if np.unique(x).size < 2:
                    raise ValueError(f"covariate {column!r} has a single value; it cannot explain churn")
                columns.append(x)
                names.append(column)
                encoding[column] = {"type": "numeric"}
                continue
            text = values.astype(str)
            levels = sorted(text.unique())
            if len(levels) < 2:
                raise ValueError(f"covariate {column!r} has a single level; it cannot explain churn")
            base = str(reference.get(column, levels[0]))
            if base not in levels:
                raise ValueError(f"reference level {base!r} of {column!r} does not occur; levels are {levels}")
            for level in levels:
                if level != base:
                    columns.append((text == level).to_numpy(float))
                    names.append(f"{column}[{level}]")
            encoding[column] = {"type": "categorical", "reference": base, "levels": levels}
        design = np.column_stack(columns) if columns else np.zeros((len(patterns), 0))
        return design, names, encoding

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, durations, events, entry=None, covariates=None, reference: dict | None = None):
        """Fit to tenures, 0/1 churn flags, optional entry tenures and covariates.

        ``covariates``: DataFrame; numeric columns enter as they are, text / categorical
        columns as dummies against a reference level (``reference={"plan": "basic"}``;
        default the first level in sorted order). Returns ``self``.
        """
        from statsmodels.genmod.families import Binomial, links
        from statsmodels.genmod.generalized_linear_model import GLM

        self.grid_share_ = _check_grid(durations, self.period, self.grid)
        self.data_ = data = _aggregate(durations, events, entry, covariates, self.period)
        if data.n_events == 0 or data.churned.sum() == 0:
            raise ValueError("no churn events: a hazard model needs at least one churn")
        self.notes_ = list(data.notes)
        n_periods = int(data.period.max())
        churn_by_period = np.bincount(data.period - 1, weights=data.churned, minlength=n_periods)
        self.at_risk_by_period_ = np.bincount(data.period - 1, weights=data.at_risk, minlength=n_periods)
        self.churned_by_period_ = churn_by_period
        self.n_periods_ = n_periods
        empty = np.flatnonzero(self.at_risk_by_period_ == 0) + 1
        if len(empty):
            self.notes_.append(f"{len(empty)} periods have nobody under observation (first: {empty[0]}); their "
                               f"hazard is borrowed from the periods they are pooled with")
        if self.baseline == "periods":
            self.bins_ = period_bins(churn_by_period, self.min_events, self.max_periods)
            self.bin_labels_ = _bin_labels(self.bins_)
            self.n_baseline_ = len(self.bin_labels_)
            baseline_names = [f"baseline[period {lab}]" if "-" not in lab else f"baseline[periods {lab}]"
                              for lab in self.bin_labels_]
            pooled = [lab for lab in self.bin_labels_ if "-" in lab]
            if pooled:
                self.notes_.append(f"periods sharing one hazard: {', '.join(pooled)} (a bin closes once it holds "
                                   f"{self.min_events} churns; periods after {self.max_periods} form one tail)")
        else:
            self.bins_ = None
            self.n_baseline_ = self.degree + 1
            baseline_names = ["baseline: intercept"] + [
                "baseline: log(period)" + (f"^{p}" if p > 1 else "") for p in range(1, self.degree + 1)]
        x_patterns, self.covariate_names_, self.encoding_ = self._encode(data.patterns, reference)
        cells = len(data.period) * (self.n_baseline_ + len(self.covariate_names_))
        if cells > MAX_DESIGN_CELLS:
            raise ValueError(f"the aggregated design would have {cells:,} cells (more than {MAX_DESIGN_CELLS:,}): "
                             f"numeric covariates with many distinct values defeat the aggregation; group them "
                             f"into bands, or use baseline='polynomial' (a few baseline columns instead of one "
                             f"per period)")
        X = np.hstack([self._baseline_design(data.period), x_patterns[data.pattern]])
        self.param_names_ = baseline_names + self.covariate_names_
        # Rank of X from its small Gram matrix (an SVD of X itself costs seconds on large designs).
        if np.linalg.matrix_rank(X.T @ X, hermitian=True) < X.shape[1]:
            raise ValueError("the design is rank-deficient: covariates are collinear with each other or with the "
                             "baseline (e.g. a covariate that only varies with tenure)")
        link = links.CLogLog() if self.link == "cloglog" else links.Logit()
        endog = np.column_stack([data.churned, data.at_risk - data.churned]).astype(float)
        # Both baselines span the constant (one-hot bins sum to 1; the polynomial has an intercept);
        # saying so spares statsmodels two rank computations on the full design.
        model = GLM(endog, X, family=Binomial(link=link), hasconst=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # Convergence on the parameters (not the deviance, whose size grows with the data):
            # IRLS converges quadratically, so 1e-10 leaves the estimates at machine precision.
            result = model.fit(method="IRLS", maxiter=100, tol=1e-10, tol_criterion="params")
        for item in caught:
            if _spurious(item):
                continue
            # Pass the others on: the caller decides how to record them.
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        self.result_ = result
        self.theta_ = np.asarray(result.params, float)
        self.cov_ = np.asarray(result.cov_params(), float)
        eta = X @ self.theta_
        with np.errstate(divide="ignore"):
            log_h = _log_hazard(self.link, eta)
        log_s = _log_survive(self.link, eta)
        d, n = data.churned.astype(float), data.at_risk.astype(float)
        # Bernoulli-form log-likelihood (no binomial coefficients): equal to the long person-period
        # likelihood and, for whole periods without truncation, to the contract models' (sBG, BdW).
        self.loglik_ = float(np.sum(np.where(d > 0, d * log_h, 0.0) + np.where(n > d, (n - d) * log_s, 0.0)))
        k = len(self.theta_)
        self.aic_ = 2.0 * k - 2.0 * self.loglik_
        self.bic_ = k * np.log(max(float(data.n_customers), 1.0)) - 2.0 * self.loglik_
        self.n_obs_ = data.n_customers
        self.n_events_ = int(data.churned.sum())
        self.person_periods_ = int(n.sum())
        self.degenerate_ = self._degeneracy(result)
        self.params_ = pd.Series(self.theta_, index=self.param_names_, name="coef")
        self._summary_table = self._summary()
        self.baseline_ = self._baseline_table()
        return self

    def _degeneracy(self, result) -> str | None:
        from csim.forecast.mle import MAX_THETA_SE, ParameterSpec, degeneracy

        if not getattr(result, "converged", True):
            return "the GLM did not converge (an estimate runs off towards a hazard of 0 or 1)"
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.diag(self.cov_))
        bad = ~np.isfinite(se) | (se > MAX_THETA_SE)
        if bad.any():
            name = self.param_names_[int(np.flatnonzero(bad)[0])]
            # The usual cause: a covariate level without churn, whose hazard estimate is 0 (log −∞).
            return (f"{name} is not identified by the data (its estimate runs off towards a hazard of 0 or 1, "
                    f"e.g. a covariate level without churn)")
        specs = [ParameterSpec(name, False) for name in self.param_names_]
        return degeneracy(self.theta_, self.cov_, self.loglik_, specs)

    @property
    def n_params(self) -> int:
        """Number of free parameters (the ``k`` in AIC = 2k − 2·loglik)."""
        return len(self.theta_)

    def _z(self, level=None) -> float:
        return float(stats.norm.ppf(0.5 + (self.level if level is None else level) / 2.0))

    @property
    def summary(self) -> pd.DataFrame:
        """Covariate coefficients: coef, se, z, p, ``level`` interval, and exp(coef) with its interval.

        For ``cloglog`` exp(coef) is a **hazard ratio** (columns ``hazard_ratio``, ``hr_lower_95``,
        ``hr_upper_95`` at level 0.95, as in :class:`CoxPH`); for ``logit`` an **odds ratio** of
        churning in a period (``odds_ratio``, ``or_lower_95``, ``or_upper_95``). Wald intervals from the GLM's
        inverse Fisher information (binomial, scale 1). A degenerate fit shows estimates only.
        No rows when the model has no covariates (the baseline is in ``baseline_``).
        """
        return self._summary_table

    def _summary(self) -> pd.DataFrame:
        z = self._z()
        pct = int(round(self.level * 100))
        p = len(self.covariate_names_)
        coef = self.theta_[self.n_baseline_:]
        se = np.sqrt(np.clip(np.diag(self.cov_)[self.n_baseline_:], 0.0, None)) if p else np.zeros(0)
        if self.degenerate_:
            se = np.full(p, np.nan)  # no interval rather than a misleading one
        ratio, short = ("hazard_ratio", "hr") if self.link == "cloglog" else ("odds_ratio", "or")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return pd.DataFrame({
                "coef": coef, "se": se, "z": coef / se, "p": 2.0 * stats.norm.sf(np.abs(coef / se)),
                f"lower_{pct}": coef - z * se, f"upper_{pct}": coef + z * se,
                ratio: np.exp(coef), f"{short}_lower_{pct}": np.exp(coef - z * se),
                f"{short}_upper_{pct}": np.exp(coef + z * se),
            }, index=pd.Index(self.covariate_names_, name="covariate"))

    # -- prediction -------------------------------------------------------------------------

    def _profile_vector(self, profile) -> np.ndarray:
        """Covariate values for a profile: mapping design name → value, or source column → level.

        Missing names are 0 (numeric) or the reference level (categorical), as in :class:`CoxPH`.
        """
        x = np.zeros(len(self.covariate_names_))
        index = {name: i for i, name in enumerate(self.covariate_names_)}
        for key, value in dict(profile or {}).items():
            key = str(key)
            spec = self.encoding_.get(key)
            if spec is not None and spec["type"] == "categorical":
                level = str(value)
                if level not in spec["levels"]:
                    raise ValueError(f"{key}={level!r} is not a level seen in the data ({spec['levels']})")
                if level != spec["reference"]:
                    x[index[f"{key}[{level}]"]] = 1.0
            elif key in index:
                x[index[key]] = float(value)
            else:
                raise ValueError(f"unknown covariate {key!r}; known: {self.covariate_names_ + list(self.encoding_)}")
        return x

    def _eta(self, theta, periods, profile) -> np.ndarray:
        """Linear predictor at integer periods ≥ 1 (theta: vector or draws × k)."""
        z = np.hstack([self._baseline_design(periods),
                       np.broadcast_to(self._profile_vector(profile), (len(periods), len(self.covariate_names_)))])
        return np.asarray(theta, float) @ z.T

    @staticmethod
    def _whole(periods) -> np.ndarray:
        """Completed periods at tenure t: floor(t) with the 1e-9 tolerance, at least 0."""
        t = np.asarray(periods, float)
        return np.maximum(np.floor(t + PERIOD_TOL), 0).astype(np.int64)

    def hazard(self, periods, profile=None) -> np.ndarray:
        """Churn probability in period j (j = 1, 2, …) for a customer active at its start."""
        j = np.atleast_1d(np.asarray(periods, float))
        if np.any(j < 1) or np.any(np.abs(j - np.round(j)) > PERIOD_TOL):
            raise ValueError("hazard is defined for whole periods 1, 2, …")
        return _hazard(self.link, self._eta(self.theta_, np.round(j).astype(np.int64), profile))

    def hazard_ci(self, periods, profile=None, level=None) -> tuple[np.ndarray, np.ndarray]:
        """Wald interval of :meth:`hazard` on the link scale, transformed (stays inside (0, 1))."""
        j = np.round(np.atleast_1d(np.asarray(periods, float))).astype(np.int64)
        z = np.hstack([self._baseline_design(j),
                       np.broadcast_to(self._profile_vector(profile), (len(j), len(self.covariate_names_)))])
        eta = z @ self.theta_
        if self.degenerate_:
            nan = np.full(len(j), np.nan)
            return nan, nan.copy()
        se = np.sqrt(np.einsum("ij,jk,ik->i", z, self.cov_, z))
        half = self._z(level) * se
        return _hazard(self.link, eta - half), _hazard(self.link, eta + half)

    def survival_at(self, theta, periods, covariates=None) -> np.ndarray:
        """S(t) = Π_{j ≤ floor(t)} (1 − h_j) under ``theta`` (a vector, or draws × k → draws × len(t)).

        The interface of :mod:`csim.forecast.projection`; ``covariates`` is the profile.
        S(t) = 1 for t < 1; it is a step function changing at whole periods.
        """
        k = self._whole(periods)
        top = int(k.max()) if k.size else 0
        theta = np.asarray(theta, float)
        if top == 0:
            shape = (theta.shape[0], k.size) if theta.ndim == 2 else k.shape
            return np.ones(shape)
        grid = np.arange(1, top + 1)
        log_s = np.cumsum(_log_survive(self.link, self._eta(theta, grid, covariates)), axis=-1)
        log_s = np.concatenate([np.zeros(log_s.shape[:-1] + (1,)), log_s], axis=-1)
        return np.exp(log_s[..., k])

    def survival(self, times, profile=None) -> np.ndarray:
        """Share still active at tenure ``times`` for one covariate profile (S(0) = 1).

        ``profile``: mapping covariate (or design column) → value; missing ones at the reference.
        """
        return self.survival_at(self.theta_, times, profile)

    def survival_ci(self, periods, profile=None, level=None, method: str = "delta", draws: int = 2000,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise (lower, upper) interval of :meth:`survival`.

        ``method="delta"``: delta method on u = log Λ(k), Λ(k) = −log S(k) = Σ_{j≤k} −log(1 − h_j),
        then S = exp(−exp(u ± z·se)) (the log(−log S) scale of the Kaplan–Meier band, which keeps
        the band inside (0, 1)). ``method="draws"``: percentiles of S over ``draws`` parameter
        vectors from N(theta_hat, cov). S(0) = 1 by definition and gets the interval [1, 1].
        A degenerate fit gives NaN.
        """
        k = self._whole(periods)
        if self.degenerate_:
            nan = np.full(k.shape, np.nan)
            return nan, nan.copy()
        if method == "draws":
            from csim.forecast.projection import _percentiles

            curves = self.survival_at(self.sample_theta(draws, seed), k, profile)
            return _percentiles(curves, self.level if level is None else level, axis=0)
        if method != "delta":
            raise ValueError("method must be 'delta' or 'draws'")
        top = max(int(k.max()) if k.size else 0, 1)
        grid = np.arange(1, top + 1)
        z = np.hstack([self._baseline_design(grid),
                       np.broadcast_to(self._profile_vector(profile), (top, len(self.covariate_names_)))])
        eta = z @ self.theta_
        contrib = -_log_survive(self.link, eta)                     # −log(1 − h_j)
        cum = np.cumsum(contrib)
        grad = np.cumsum(_dlogsurvive(self.link, eta)[:, None] * z, axis=0) / cum[:, None]
        se = np.sqrt(np.einsum("ij,jk,ik->i", grad, self.cov_, grad))
        half = self._z(level) * se
        lower = np.concatenate([[1.0], np.exp(-cum * np.exp(half))])
        upper = np.concatenate([[1.0], np.exp(-cum * np.exp(-half))])
        return lower[k], upper[k]

    def at(self, times, profile=None) -> pd.DataFrame:
        """Survival with its interval at the requested tenures (e.g. 3, 6, 12 months)."""
        times = np.asarray(times, float)
        lower, upper = self.survival_ci(times, profile)
        return pd.DataFrame({"survival": self.survival(times, profile), "lower": lower, "upper": upper},
                            index=pd.Index(times, name="t"))

    def predict(self, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Survival at ``times`` (index "t") for each row of ``profiles`` (columns = covariate or design
        names), or one "survival" column at the reference profile."""
        from csim.forecast.mle import survival_frame

        return survival_frame(self.survival, times, profiles)

    def sample_theta(self, draws: int, seed: int = 0) -> np.ndarray:
        """Draws of the coefficients from N(theta_hat, cov) (draws × k), for projection bands.

        A degenerate fit has no usable sampling distribution: all draws are NaN (bands come out
        as null, never zero-width).
        """
        if self.degenerate_:
            return np.full((draws, len(self.theta_)), np.nan)
        rng = np.random.default_rng(seed)
        return rng.multivariate_normal(self.theta_, self.cov_, size=draws, method="eigh")

    def _baseline_table(self) -> pd.DataFrame:
        """Per observed period: at risk, churned, observed d/n, and the fitted reference hazard and survival."""
        j = np.arange(1, self.n_periods_ + 1)
        pct = int(round(self.level * 100))
        h_lo, h_hi = self.hazard_ci(j)
        s_lo, s_hi = self.survival_ci(j)
        with np.errstate(divide="ignore", invalid="ignore"):
            observed = self.churned_by_period_ / self.at_risk_by_period_
        out = pd.DataFrame({
            "at_risk": self.at_risk_by_period_.astype(np.int64), "churned": self.churned_by_period_.astype(np.int64),
            "observed_rate": observed, "hazard": self.hazard(j), f"hazard_lower_{pct}": h_lo,
            f"hazard_upper_{pct}": h_hi, "survival": self.survival(j), f"survival_lower_{pct}": s_lo,
            f"survival_upper_{pct}": s_hi,
        }, index=pd.Index(j, name="period"))
        if self.bins_ is not None:
            out.insert(0, "bin", [self.bin_labels_[b] for b in self.bins_])
        return out

    def to_dict(self) -> dict:
        """Plain-JSON description: every parameter with interval, covariates, baseline table, fit statistics."""
        def number(v):
            v = float(v)
            return v if np.isfinite(v) else None

        z = self._z()
        se = np.full(len(self.theta_), np.nan) if self.degenerate_ else np.sqrt(np.clip(np.diag(self.cov_), 0, None))
        pct = int(round(self.level * 100))
        parameters = {name: {"estimate": number(v), "se": number(s), f"lower_{pct}": number(v - z * s),
                             f"upper_{pct}": number(v + z * s)}
                      for name, v, s in zip(self.param_names_, self.theta_, se)}
        return {
            "model": "DiscreteTimeHazard", "link": self.link, "baseline": self.baseline,
            "coefficient_meaning": ("log hazard ratio (grouped-time proportional hazards)" if self.link == "cloglog"
                                    else "log odds ratio of churning in a period"),
            "bins": list(self.bin_labels_) if self.bins_ is not None else None,
            "parameters": parameters,
            "coefficients": {k: {c: number(v) for c, v in row.items()}
                             for k, row in self.summary.to_dict(orient="index").items()},
            "encoding": self.encoding_,
            "baseline_hazard": [{k: (number(v) if not isinstance(v, str) else v) for k, v in row.items()}
                                for row in self.baseline_.reset_index().to_dict(orient="records")],
            "loglik": number(self.loglik_), "aic": number(self.aic_), "bic": number(self.bic_),
            "n": int(self.n_obs_), "events": self.n_events_, "person_periods": self.person_periods_,
            "aggregated_rows": int(len(self.data_.period)), "grid_share": number(self.grid_share_),
            "notes": list(self.notes_), "degenerate": self.degenerate_,
        }

