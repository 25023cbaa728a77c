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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.tools.numdiff import approx_fprime, approx_hess


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


class MaximumLikelihoodFitter:
    """Base of the fitters whose likelihood csim writes (parametric and contract-renewal models).

    Subclasses set ``theta_``, ``cov_`` (covariance of ``theta_``), ``loglik_`` and
    ``_specs``; this class derives ``summary``, ``aic_``, ``bic_`` and parameter draws used
    for projection bands.
    """

    _specs: list[ParameterSpec]
    theta_: np.ndarray
    cov_: np.ndarray
    loglik_: float
    n_obs_: int

    #: Why the fit is degenerate (no trustworthy intervals or bands), or None; set by :meth:`_finish`.
    degenerate_: str | None = None

    def _finish(self, loglik, start, score=None, scale=1.0) -> None:
        self.theta_, self.loglik_ = maximise(loglik, start, score=score, scale=scale)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            self.cov_ = covariance(observed_information(loglik, self.theta_, score))
        k = len(self.theta_)
        self.aic_ = 2.0 * k - 2.0 * self.loglik_
        self.bic_ = k * np.log(max(float(self.n_obs_), 1.0)) - 2.0 * self.loglik_
        self.degenerate_ = degeneracy(self.theta_, self.cov_, self.loglik_, self._specs)
        self.summary = summary_table(self.theta_, self.cov_, self._specs)
        if self.degenerate_:
            # A zero-width or absurd interval would mislead: report none.
            self.summary.iloc[:, 1:] = np.nan
        self.params_ = self.summary["estimate"]

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
        if self.degenerate_:
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
        }


def _json_float(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
