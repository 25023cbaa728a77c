"""Maximum-likelihood machinery shared by the parametric and the contract-renewal fitters.

Every such fitter optimises its log-likelihood over an *unconstrained* parameter vector
``theta`` (logs of positive parameters), so the optimiser needs no bounds. Standard errors
come from the observed information: the Hessian of the negative log-likelihood at the
optimum, obtained as the central-difference Jacobian of the analytic score
(``statsmodels.tools.numdiff.approx_fprime``) when the model supplies a score, otherwise as a
central-difference Hessian of the log-likelihood (``approx_hess``). Its inverse is the
covariance of ``theta``.

Intervals for a positive parameter ``p = exp(theta_k)`` are Wald intervals on the log scale,
``exp(theta_k ± z·se(theta_k))``, which stay positive and are asymmetric; the reported ``se``
of ``p`` is the delta-method value ``p·se(theta_k)``. Unbounded parameters (regression
coefficients, log-normal ``mu``) get ordinary Wald intervals.

A fit can fail to have a proper maximum in two ways, handled differently:

* the design itself cannot identify a coefficient (a constant covariate, collinear covariates):
  :func:`check_design` raises :class:`SingularFitError` naming the columns, before any fitting;
* the likelihood keeps rising (or stays flat) towards the edge of the parameter space — a
  covariate that separates churned from active customers, an sBG whose customers all look alike.
  The fit is kept; the parameters at the edge are listed in ``at_bound_`` with the direction
  they run off to, get no standard error or interval (NaN, never 0), and ``notes_`` says why.
  The other parameters get the standard errors of the limit (the inverse of their own block of
  the information matrix: the parameters at the edge no longer move the likelihood).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from statsmodels.tools.numdiff import approx_fprime, approx_hess


class SingularFitError(ValueError):
    """The covariates cannot all be estimated: some columns are constant or collinear.

    ``columns``: the offending covariate names; ``str(error)`` is one line for the command line.
    """

    def __init__(self, columns, message: str):
        self.columns = [str(c) for c in columns]
        super().__init__(message)


#: Columns whose standardised singular value falls below this share of the largest are collinear:
#: the information matrix would then have a condition number above ~1e14, i.e. no usable digits.
COLLINEAR_TOL = 1e-7


def check_design(X: np.ndarray, names, strata=None, baseline: str = "the intercept") -> None:
    """Raise :class:`SingularFitError` when covariate columns are constant or linearly dependent.

    ``X``: covariate matrix (rows × columns, no intercept column). Columns are centred — within
    each stratum when ``strata`` is given — because the intercept (AFT) or the baseline hazard
    of each stratum (Cox) already absorbs a constant; a column that is constant after centring
    cannot be estimated next to ``baseline``. Collinearity is judged on the centred columns
    scaled to unit length: a singular value below :data:`COLLINEAR_TOL` times the largest.
    """
    X = np.asarray(X, float)
    names = [str(c) for c in names]
    if X.ndim != 2 or X.shape[1] == 0:
        return
    centred = X.copy()
    labels = np.zeros(len(X), int) if strata is None else np.unique(np.asarray(strata), return_inverse=True)[1]
    for k in np.unique(labels):
        rows = labels == k
        centred[rows] -= centred[rows].mean(axis=0)
    norms = np.linalg.norm(centred, axis=0)
    # Relative to the column's size, so a column of values near 1e6 with rounding noise is still "constant".
    scale = np.linalg.norm(X, axis=0) + np.finfo(float).tiny
    constant = norms <= 1e-12 * scale
    where = "" if strata is None else " within every stratum"
    if constant.any():
        cols = [n for n, c in zip(names, constant) if c]
        raise SingularFitError(cols, f"covariate{'s' if len(cols) > 1 else ''} {', '.join(cols)} "
                                     f"{'are' if len(cols) > 1 else 'is'} constant{where}: its effect cannot be "
                                     f"told apart from {baseline}; drop {'them' if len(cols) > 1 else 'it'}")
    unit = centred / norms
    _, sv, vt = np.linalg.svd(unit, full_matrices=False)
    null = vt[sv < COLLINEAR_TOL * sv[0]]
    if len(null):
        involved = np.any(np.abs(null) > 1e-3, axis=0)
        cols = [n for n, c in zip(names, involved) if c]
        # One dependency written out in the data's units, e.g. "x2 = 2·x − 1·g + constant".
        v = null[-1] / norms
        k = int(np.argmax(np.abs(null[-1])))
        terms = [(-v[j] / v[k], names[j]) for j in range(len(names)) if j != k and abs(null[-1][j]) > 1e-3]
        formula = " ".join(f"{'−' if c < 0 else '+'} {abs(c):.3g}·{n}" for c, n in terms).lstrip("+ ")
        raise SingularFitError(cols, f"covariates {', '.join(cols)} are collinear{where} ({names[k]} = {formula} "
                                     "+ constant): their separate effects cannot be estimated; drop one of them")


#: Smallest eigenvalue of the correlation-scaled information matrix below which the estimates
#: are treated as not identified (their standard errors would be inflated a millionfold).
SINGULAR_INFORMATION = 1e-12


def singular_information(information: np.ndarray) -> np.ndarray | None:
    """Which parameters a (nearly) singular information matrix leaves unidentified, or None.

    Judged on the correlation-scaled matrix ``D^-½ I D^-½`` (``D`` its diagonal), so units do
    not matter: a parameter with no information at all (diagonal ≤ 0), or the parameters with a
    loading above 0.1 on an eigenvector whose eigenvalue is below :data:`SINGULAR_INFORMATION`.
    """
    information = np.asarray(information, float)
    if information.size == 0:
        return None
    if not np.all(np.isfinite(information)):
        return np.ones(len(information), bool)
    diag = np.diag(information)
    if np.any(diag <= 0):
        return diag <= 0
    root = np.sqrt(diag)
    values, vectors = np.linalg.eigh(information / np.outer(root, root))
    small = values < SINGULAR_INFORMATION
    if not small.any():
        return None
    return np.any(np.abs(vectors[:, small]) > 0.1, axis=1)


def wald_p_values(z) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values of Wald statistics ``z`` and their log10, without underflow.

    ``p = 2·Φ(−|z|)`` from the normal survival function in log space (``log_ndtr``), so
    ``log10_p`` stays exact far below the smallest double (|z| > 38 gives p < 1e-308). The
    returned ``p`` is floored at :data:`P_FLOOR` so it is never reported as exactly 0;
    ``log10_p`` then carries its size. NaN in, NaN out.
    """
    z = np.asarray(z, float)
    with np.errstate(invalid="ignore"):
        log_p = np.log(2.0) + special.log_ndtr(-np.abs(z))
    return p_from_log(log_p), log_p / np.log(10.0)


#: Smallest p-value reported as a number (the smallest normal double); smaller ones are floored
#: here and given exactly by their log10.
P_FLOOR = float(np.finfo(float).tiny)


def p_from_log(log_p) -> np.ndarray:
    """``exp(log_p)`` floored at :data:`P_FLOOR` (NaN stays NaN)."""
    log_p = np.asarray(log_p, float)
    with np.errstate(under="ignore"):
        return np.where(np.isnan(log_p), np.nan, np.maximum(np.exp(log_p), P_FLOOR))


@dataclass(frozen=True)
class ParameterSpec:
    """One reported parameter: its name and whether it is ``exp(theta)`` (positive) or ``theta``."""

    name: str
    positive: bool


def maximise(
    loglik: Callable[[np.ndarray], float],
    start: np.ndarray,
    score: Callable[[np.ndarray], np.ndarray] | None = None,
    scale: float = 1.0,
) -> tuple[np.ndarray, float]:
    """Maximise ``loglik`` over an unconstrained vector; return ``(theta_hat, loglik_hat)``.

    ``scale`` divides the objective (e.g. the number of customers) so that the gradient
    tolerance means the same thing for 100 and for 1,000,000 rows. BFGS starts the search;
    a few Newton steps on the observed information then polish the optimum so estimates are
    reproducible to ~1e-9 relative (needed to compare with other implementations).
    """
    def objective(theta):
        # The line search probes extreme points where the likelihood overflows; such a point
        # counts as infinitely bad, so numpy's floating-point warnings there are expected.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            value = loglik(theta)
        return np.inf if not np.isfinite(value) else -value / scale

    def gradient(theta):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return -np.asarray(score(theta)) / scale

    jac = None if score is None else gradient
    result = optimize.minimize(objective, np.asarray(start, float), jac=jac, method="BFGS",
                               options={"gtol": 1e-9, "maxiter": 2000})
    theta = result.x
    if not np.isfinite(result.fun):
        raise RuntimeError("the log-likelihood is not finite at any point the optimiser tried")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _polish(loglik, theta, score)


def _polish(loglik, theta, score) -> tuple[np.ndarray, float]:
    # Newton polishing: BFGS stops on a gradient tolerance that leaves ~1e-6 relative error.
    # Non-finite steps are rejected below, so floating-point warnings on the way are expected.
    current = loglik(theta)
    for _ in range(8):
        information = observed_information(loglik, theta, score)
        gradient = _score_or_numeric(loglik, theta, score)
        try:
            step = np.linalg.solve(information, gradient)
        except np.linalg.LinAlgError:
            break
        candidate = theta + step
        value = loglik(candidate)
        if not np.isfinite(value) or value < current - 1e-9 * abs(current):
            break
        theta, current = candidate, value
        if np.max(np.abs(step)) < 1e-10:
            break
    return theta, float(current)


def _score_or_numeric(loglik, theta, score):
    if score is not None:
        return np.asarray(score(theta), float)
    return approx_fprime(theta, loglik, centered=True)


def observed_information(
    loglik: Callable[[np.ndarray], float],
    theta: np.ndarray,
    score: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Negative Hessian of the log-likelihood at ``theta`` (symmetrised)."""
    if score is not None:
        hessian = approx_fprime(theta, score, centered=True)
    else:
        hessian = approx_hess(theta, loglik)
    hessian = np.atleast_2d(hessian)
    return -(hessian + hessian.T) / 2.0


def covariance(information: np.ndarray) -> np.ndarray:
    """Inverse observed information (symmetrised); NaN where it is singular (a parameter not identified)."""
    if not np.all(np.isfinite(information)):
        return np.full_like(information, np.nan)
    try:
        cov = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return np.full_like(information, np.nan)
    return (cov + cov.T) / 2.0


#: A standard error of an unconstrained parameter above this (a factor e^±20 on a positive
#: parameter's 95 % interval) means the data do not pin the parameter down.
MAX_THETA_SE = 10.0


def degeneracy(theta: np.ndarray, cov: np.ndarray, loglik: float, specs: list[ParameterSpec]) -> str | None:
    """Why a maximum-likelihood fit cannot be trusted for intervals, or None when it can.

    Degenerate: a non-finite log-likelihood or estimate, a singular or not positive-definite
    information matrix at the optimum (the optimiser ran off towards a boundary, e.g. an sBG
    whose alpha and beta grow without limit because every customer looks alike), or a
    standard error so large that the parameter is not identified.
    """
    if not np.isfinite(loglik) or not np.all(np.isfinite(theta)):
        return "the optimum is not finite"
    if not np.all(np.isfinite(cov)):
        return "the information matrix is singular: the data do not identify every parameter"
    eigenvalues = np.linalg.eigvalsh(cov)
    if eigenvalues.min() <= 1e-14 * max(abs(eigenvalues.max()), 1.0):
        return ("the likelihood has no proper maximum (the estimates run off towards a boundary; "
                "the information matrix is not positive definite)")
    se = np.sqrt(np.diag(cov))
    worst = int(np.argmax(se))
    if se[worst] > MAX_THETA_SE:
        return f"{specs[worst].name} is not identified by the data (standard error {se[worst]:.3g} on the log scale)"
    return None


def summary_table(theta: np.ndarray, cov: np.ndarray, specs: list[ParameterSpec], level: float = 0.95) -> pd.DataFrame:
    """Estimates on the natural scale with standard errors and ``level`` intervals (see module doc)."""
    z = stats.norm.ppf(0.5 + level / 2.0)
    se_theta = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    rows = []
    with np.errstate(over="ignore", invalid="ignore"):
        _summary_rows(theta, se_theta, specs, z, rows)
    pct = int(round(level * 100))
    return pd.DataFrame(rows, index=[s.name for s in specs],
                        columns=["estimate", "se", f"lower_{pct}", f"upper_{pct}"])


def _summary_rows(theta, se_theta, specs, z, rows) -> None:
    for value, se, spec in zip(theta, se_theta, specs):
        if spec.positive:
            estimate = np.exp(value)
            rows.append((estimate, estimate * se, np.exp(value - z * se), np.exp(value + z * se)))
        else:
            rows.append((value, se, value - z * se, value + z * se))


#: Newton-step test for a coefficient running off to ±infinity: a further Newton step of more than
#: this many standard deviations of its covariate (so the test does not depend on units) at the
#: point where the optimiser stopped. At a proper maximum the step is ~1e-10 or less; when the
#: likelihood keeps rising towards infinity the step stays of order 1 (R ``coxph`` uses the same
#: test for its "coefficient may be infinite" warning).
DIVERGENCE_STEP = 1e-4


def diverging(information: np.ndarray, gradient: np.ndarray, column_sd: np.ndarray,
              candidates, theta: np.ndarray | None = None) -> dict[int, int]:
    """Indices among ``candidates`` whose estimate runs off to infinity, with the direction (+1/−1).

    ``information``: negative Hessian of the log-likelihood; ``gradient``: its score at the same
    point; ``column_sd``: standard deviation of each parameter's covariate (1 for parameters
    without one); ``theta``: the estimates (their sign gives the direction when the information
    of a coefficient has underflowed to exactly 0, which happens only far out on the way to
    infinity). The information of a diverging coefficient is nearly 0 (1e-15 of the others is
    usual), so the Newton step ``information⁻¹·gradient`` is solved on the diagonally scaled
    (correlation-like) matrix, which stays well conditioned; a plain or least-squares solve
    would drop that coefficient's direction as numerical noise.
    """
    information = np.asarray(information, float)
    gradient = np.asarray(gradient, float)
    if not (np.all(np.isfinite(information)) and np.all(np.isfinite(gradient))):
        return {}
    diag = np.diag(information).copy()
    dead = diag <= 0
    found = {int(j): int(np.sign(theta[j])) if theta is not None else 0 for j in candidates if dead[j]}
    live = ~dead
    root = np.sqrt(diag[live])
    scaled = information[np.ix_(live, live)] / np.outer(root, root)
    try:
        step_live = np.linalg.solve(scaled, gradient[live] / root) / root
    except np.linalg.LinAlgError:
        step_live = np.linalg.lstsq(scaled, gradient[live] / root, rcond=None)[0] / root
    step = np.zeros(len(diag))
    step[live] = step_live
    found.update({int(j): int(np.sign(step[j])) for j in candidates
                  if live[j] and abs(step[j]) * column_sd[j] > DIVERGENCE_STEP})
    return found


#: Profile test for a parameter at the edge of its range: move log(parameter) by a factor of 100
#: either way, re-maximise over the others; if the log-likelihood has not fallen by at least
#: :data:`FLAT_LOGLIK` there (a likelihood ratio of 0.99), the data do not keep the parameter
#: away from that edge.
PROFILE_STEP = float(np.log(100.0))
FLAT_LOGLIK = 0.01


def profile_edges(loglik, theta: np.ndarray, value: float, information: np.ndarray,
                  step: float = PROFILE_STEP, flat: float = FLAT_LOGLIK) -> tuple[np.ndarray, float, dict[int, int]]:
    """Parameters whose profile log-likelihood stays flat (or rises) towards an edge.

    Returns ``(theta, loglik, edges)``: the best point met on the way (the optimiser may have
    stopped on a nearly flat ridge short of the supremum) and ``{index: +1, −1 or 0}`` — the
    direction each flagged parameter runs off to (0: flat both ways, not identified at all).
    The other parameters are re-maximised from two starts: unchanged, and moved along the
    ridge the information matrix predicts (``−I_oo⁻¹ I_oj`` per unit of parameter j).
    """
    k = len(theta)
    best_theta, best_value = np.asarray(theta, float), float(value)
    edges: dict[int, int] = {}
    for j in range(k):
        others = np.arange(k) != j
        try:
            slope = -np.linalg.solve(information[np.ix_(others, others)], information[others, j])
        except np.linalg.LinAlgError:
            slope = np.zeros(k - 1)
        if not np.all(np.isfinite(slope)):
            slope = np.zeros(k - 1)
        flat_ways = []
        for sign in (1, -1):
            fixed = theta[j] + sign * step
            found, point = -np.inf, None
            for start in (theta[others], theta[others] + sign * step * slope):
                candidate, candidate_value = _maximise_others(loglik, theta, j, fixed, start)
                if candidate_value > found:
                    found, point = candidate_value, candidate
            if found >= value - flat:
                flat_ways.append(sign)
            if found > best_value:
                best_theta, best_value = point, found
        if flat_ways:
            edges[j] = flat_ways[0] if len(flat_ways) == 1 else 0
    return best_theta, best_value, edges


def _maximise_others(loglik, theta, j, fixed, start) -> tuple[np.ndarray, float]:
    """Maximise ``loglik`` over every parameter but ``j`` (held at ``fixed``)."""
    def full(rest):
        point = np.insert(np.asarray(rest, float), j, fixed)
        return point

    def objective(rest):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            value = loglik(full(rest))
        return np.inf if not np.isfinite(value) else -value

    if len(start) == 0:
        point = full(start)
        return point, -objective(start)
    result = optimize.minimize(objective, np.asarray(start, float), method="Nelder-Mead" if len(start) == 1 else "BFGS",
                               options={"maxiter": 2000} if len(start) == 1 else {"gtol": 1e-8, "maxiter": 2000})
    return full(result.x), -float(result.fun)


def no_profile(profile, model: str) -> None:
    """Refuse a covariate profile for a model without covariates (None or an empty mapping is fine)."""
    if profile is not None and len(dict(profile)):
        names = sorted(map(str, dict(profile)))
        raise ValueError(f"{model} has no covariates: survival takes no profile (got {names})")


def survival_frame(survival: Callable, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``predict`` table of a fitter from its ``survival(times, profile)``.

    Index: ``times`` (periods), named "t". Columns: one per row of ``profiles`` (labelled by
    its index; the row's values are the profile), or a single "survival" column at the
    reference profile when ``profiles`` is None.
    """
    times = np.asarray(times, float)
    index = pd.Index(times, name="t")
    if profiles is None:
        return pd.DataFrame({"survival": survival(times)}, index=index)
    return pd.DataFrame({idx: survival(times, row.to_dict()) for idx, row in profiles.iterrows()}, index=index)


class MaximumLikelihoodFitter:
    """Base of the fitters whose likelihood csim writes (parametric and contract-renewal models).

    ``level``: confidence level of the intervals in ``summary`` (0.95).

    Subclasses set ``theta_``, ``cov_`` (covariance of ``theta_``), ``loglik_`` and
    ``_specs``; this class derives ``summary``, ``aic_``, ``bic_`` and parameter draws used
    for projection bands.

    Edge-of-range fits (see the module doc): ``at_bound_`` maps each parameter whose estimate
    runs off to the edge of its range to where it goes (``"0"`` or ``"∞"`` for a positive
    parameter, ``"+∞"``/``"−∞"`` for a coefficient, ``"not identified"`` when the likelihood is
    flat both ways); such parameters have NaN standard error and interval. ``notes_`` holds one
    sentence per problem, for reports.
    """

    _specs: list[ParameterSpec]
    theta_: np.ndarray
    cov_: np.ndarray
    loglik_: float
    n_obs_: int

    #: Why the fit is degenerate (no trustworthy intervals or bands), or None; set by :meth:`_finish`.
    degenerate_: str | None = None
    #: Parameter name → edge it runs off to; empty for a proper maximum.
    at_bound_: dict[str, str] = {}
    #: Sentences describing problems of the fit (empty when there are none).
    notes_: list[str] = []
    #: Whether a parameter at an edge makes the whole fit degenerate (no intervals, no bands).
    _edge_is_degenerate: bool = True

    def __init__(self, level: float = 0.95):
        self.level = level

    @property
    def summary(self) -> pd.DataFrame:
        """Estimate, se and ``level`` interval per parameter (NaN for a degenerate fit or a parameter at an edge)."""
        return self._summary_table

    def _edges(self, loglik, theta, value, information, score) -> tuple[np.ndarray, float, dict[int, int]]:
        """Parameters running off to an edge (index → +1, −1 or 0); subclasses choose the test.

        May return a better point than ``theta`` met while testing. The default finds none.
        """
        return theta, value, {}

    def _edge_note(self, edges: dict[int, int]) -> str:
        """One sentence on the parameters at an edge (subclasses may say what the limit means)."""
        where = ", ".join(self._edge_phrase(j, direction) for j, direction in edges.items())
        return (f"the likelihood keeps rising (or stays flat) towards the edge of the parameter space ({where}): "
                "those estimates are where the optimiser stopped and have no standard error or interval")

    def _edge_phrase(self, j: int, direction: int) -> str:
        """``"beta_ → ∞"``, or ``"alpha_ flat both ways"`` for a parameter the data do not locate at all."""
        name = self._specs[j].name
        return f"{name} flat both ways" if direction == 0 else f"{name} → {self._edge_label(j, direction)}"

    def _edge_label(self, j: int, direction: int) -> str:
        if direction == 0:
            return "not identified"
        if self._specs[j].positive:
            return "∞" if direction > 0 else "0"
        return "+∞" if direction > 0 else "−∞"

    def _finish(self, loglik, start, score=None, scale=1.0) -> None:
        theta, value = maximise(loglik, start, score=score, scale=scale)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            information = observed_information(loglik, theta, score)
            moved, value, edges = self._edges(loglik, theta, value, information, score)
            if moved is not theta:
                theta = moved
                information = observed_information(loglik, theta, score)
        self.theta_, self.loglik_ = theta, value
        k = len(theta)
        free = np.array([j not in edges for j in range(k)], bool)
        # Parameters at an edge no longer move the likelihood: the others get the inverse of
        # their own block (the limit's information), the ones at the edge no variance at all.
        self.cov_ = np.full((k, k), np.nan)
        if free.any():
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                self.cov_[np.ix_(free, free)] = covariance(information[np.ix_(free, free)])
        self.aic_ = 2.0 * k - 2.0 * self.loglik_
        self.bic_ = k * np.log(max(float(self.n_obs_), 1.0)) - 2.0 * self.loglik_
        self.at_bound_ = {self._specs[j].name: self._edge_label(j, d) for j, d in edges.items()}
        self.notes_ = []
        if free.any():
            self.degenerate_ = degeneracy(theta[free], self.cov_[np.ix_(free, free)], self.loglik_,
                                          [s for s, f in zip(self._specs, free) if f])
        else:
            self.degenerate_ = None
        if edges:
            note = self._edge_note(edges)
            self.notes_.append(note)
            if self._edge_is_degenerate:
                self.degenerate_ = note
        if self.degenerate_ and self.degenerate_ not in self.notes_:
            self.notes_.append(self.degenerate_)
        self._summary_table = summary_table(self.theta_, self.cov_, self._specs, self.level)
        if self.degenerate_:
            # A zero-width or absurd interval would mislead: report none.
            self._summary_table.iloc[:, 1:] = np.nan
        self.params_ = self._summary_table["estimate"]

    @property
    def n_params(self) -> int:
        """Number of free parameters (the ``k`` in AIC = 2k − 2·loglik)."""
        return len(self.theta_)

    def sample_theta(self, draws: int, seed: int = 0) -> np.ndarray:
        """Draws of ``theta`` from the asymptotic normal law N(theta_hat, cov) (shape draws × k).

        Used for projection bands ("simulation from the sampling distribution of the MLE",
        Krinsky & Robb 1986): each draw gives one curve; percentiles of the curves give bands.
        """
        rng = np.random.default_rng(seed)
        if self.degenerate_ or self.at_bound_:
            # No usable sampling distribution: every draw is undefined, so bands come out as NaN
            # (null in JSON) instead of a zero-width band around the point estimate.
            return np.full((draws, len(self.theta_)), np.nan)
        cov = np.nan_to_num(self.cov_, nan=0.0)
        return rng.multivariate_normal(self.theta_, cov, size=draws, method="eigh")

    def to_dict(self) -> dict:
        """Plain-JSON description: parameters with intervals, log-likelihood, AIC."""
        return {
            "model": type(self).__name__,
            "parameters": {
                name: {key: _json_float(value) for key, value in row.items()}
                for name, row in self.summary.to_dict(orient="index").items()
            },
            "loglik": _json_float(self.loglik_),
            "aic": _json_float(self.aic_),
            "bic": _json_float(self.bic_),
            "n": int(self.n_obs_),
            "degenerate": self.degenerate_,
            "at_bound": dict(self.at_bound_),
            "notes": list(self.notes_),
        }


def _json_float(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
