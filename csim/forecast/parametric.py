"""Parametric survival models for right-censored (and left-truncated) tenure.

All four models are log-location-scale families: ``log T = mu + sigma·W`` with ``W`` a
standard extreme-value (Weibull, exponential with ``sigma = 1``), normal (log-normal) or
logistic (log-logistic) variable. With covariates the location becomes ``mu_i = x_i'beta``
(an accelerated-failure-time model: a covariate multiplies tenure by ``exp(beta_j)``).

Parametrisation (the same as lifelines, so results compare directly):

=================  ====================================  ==========================
model              survival S(t)                         parameters
=================  ====================================  ==========================
exponential        exp(−t/λ)                             ``lambda_`` = exp(mu); rate 1/λ
Weibull            exp(−(t/λ)^ρ)                         ``lambda_`` = exp(mu), ``rho_`` = 1/sigma
log-normal         1 − Φ((log t − μ)/σ)                  ``mu_``, ``sigma_``
log-logistic       1 / (1 + (t/α)^β)                     ``alpha_`` = exp(mu), ``beta_`` = 1/sigma
=================  ====================================  ==========================

Times are in the unit of the durations given (csim uses months). The log-likelihood is that
of the density of ``T`` (it includes the ``−log t`` Jacobian term), so values and AICs are
comparable with lifelines (R ``survreg`` reports the same value). Fitting: BFGS on the unconstrained ``(mu or beta, log sigma)`` with
the analytic score, Newton-polished; standard errors from the observed information
(:mod:`csim.forecast.mle`).

AFT covariates that cannot be estimated stop the fit with :class:`csim.forecast.mle.SingularFitError`
(a constant column — confounded with the intercept — or collinear columns, named in the error).
A covariate that separates churned from active customers (e.g. a level in which nobody churns)
has no finite estimate: its coefficient runs off to ±infinity (the likelihood is monotone). That
is detected with a Newton step at the optimum (:func:`csim.forecast.mle.diverging`); the fit is
kept, ``at_bound_`` and ``notes_`` name the coefficient, which gets NaN standard error and
interval, and the other parameters get the standard errors of the limit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from csim.forecast.mle import (MaximumLikelihoodFitter, ParameterSpec, SingularFitError, check_design, diverging,
                               survival_frame)


class _StandardFamily:
    """log S_W(z), log f_W(z) and their z-derivatives for the standardised error W."""

    @staticmethod
    def logsf(z):  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def logpdf(z):  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def dlogsf(z):  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def dlogpdf(z):  # pragma: no cover - interface
        raise NotImplementedError


class _ExtremeValue(_StandardFamily):
    """Minimum extreme value: S_W(z) = exp(−e^z). Gives Weibull tenure."""

    logsf = staticmethod(lambda z: -np.exp(z))
    logpdf = staticmethod(lambda z: z - np.exp(z))
    dlogsf = staticmethod(lambda z: -np.exp(z))
    dlogpdf = staticmethod(lambda z: 1.0 - np.exp(z))
    quantile = staticmethod(lambda p: np.log(-np.log1p(-p)))


class _Normal(_StandardFamily):
    """Standard normal. Gives log-normal tenure."""

    # scipy.special directly: the scipy.stats wrappers cost more than the arithmetic on 1M rows.
    logsf = staticmethod(lambda z: special.log_ndtr(-z))
    logpdf = staticmethod(lambda z: -0.5 * z * z - 0.5 * np.log(2.0 * np.pi))
    dlogsf = staticmethod(lambda z: -np.exp(-0.5 * z * z - 0.5 * np.log(2.0 * np.pi) - special.log_ndtr(-z)))
    dlogpdf = staticmethod(lambda z: -z)
    quantile = staticmethod(special.ndtri)


class _Logistic(_StandardFamily):
    """Standard logistic. Gives log-logistic tenure."""

    logsf = staticmethod(lambda z: -np.logaddexp(0.0, z))
    logpdf = staticmethod(lambda z: z - 2.0 * np.logaddexp(0.0, z))
    dlogsf = staticmethod(lambda z: -special.expit(z))
    dlogpdf = staticmethod(lambda z: 1.0 - 2.0 * special.expit(z))
    quantile = staticmethod(special.logit)


class ParametricFitter(MaximumLikelihoodFitter):
    """A log-location-scale tenure model fitted by maximum likelihood.

    Use a subclass: :class:`ExponentialFitter`, :class:`WeibullFitter`,
    :class:`LogNormalFitter`, :class:`LogLogisticFitter`.

    ``level``: confidence level of the intervals in ``summary`` (0.95).

    After :meth:`fit`: ``params_`` (natural scale), ``summary`` (estimate, se, ``level``
    interval), ``loglik_``, ``aic_``, ``bic_``, ``theta_``/``cov_`` (unconstrained scale) and
    the model's named attributes (e.g. ``lambda_``, ``rho_``).
    """

    kind = "parametric"
    supports_entry = True
    supports_covariates = True
    needs_covariates = False
    needs_whole_periods = False
    needs_period_grid = False
    has_density = True
    whole_period_steps = False
    #: One distinct churn tenure per free parameter (location and, unless fixed, shape).
    min_churn_tenures = 2

    family: type[_StandardFamily]
    fixed_sigma: float | None = None
    #: Reported name of exp(mu) (or mu when ``location_is_log`` is False) and of the shape.
    location_name: str
    scale_name: str | None
    location_is_log: bool = True
    #: The shape reported is 1/sigma (Weibull rho, log-logistic beta) rather than sigma.
    scale_is_inverse: bool = True
    #: A separating covariate leaves the other parameters usable (see module doc).
    _edge_is_degenerate = False

    # ---------------------------------------------------------------- fitting
    def fit(self, durations, events, entry=None, covariates: pd.DataFrame | None = None):
        """Fit to tenures.

        Parameters
        ----------
        durations : array of tenure in periods (e.g. months), ≥ 0; an event needs tenure > 0.
        events : array of 0/1 (1 = churned at ``durations``, 0 = still active: right-censored).
        entry : optional array of the tenure at which each customer came under observation
            (left truncation); ``None`` means everyone observed from tenure 0.
        covariates : optional DataFrame of numeric columns (already encoded). Fits an AFT
            model; the intercept is added here.

        Returns ``self``.
        """
        t = np.asarray(durations, float)
        d = np.asarray(events, float)
        if np.any((t <= 0) & (d > 0)):
            raise ValueError("parametric models need positive tenure for every churn (an event at tenure 0 has zero density)")
        if np.any(t < 0):
            raise ValueError("durations must be ≥ 0")
        a = np.zeros_like(t) if entry is None else np.asarray(entry, float)
        self.covariate_names_ = [] if covariates is None else [str(c) for c in covariates.columns]
        X = None
        if covariates is not None and len(self.covariate_names_):
            check_design(np.asarray(covariates, float), self.covariate_names_, baseline="the intercept")
            X = np.column_stack([np.ones(len(t)), np.asarray(covariates, float)])
            self._column_sd = np.concatenate([[1.0], X[:, 1:].std(axis=0), [1.0]])
        self.n_obs_ = len(t)
        self.n_events_ = int(d.sum())
        self._specs = self._parameter_specs()
        start = self._start_values(t, d, np.ones((len(t), 1)) if X is None else X)
        self._prepare(t, d, a, X)
        self._finish(self._loglik, start, score=self._score, scale=max(len(t), 1))
        self._set_named_attributes()
        del self._parts  # keep the fitted object small
        return self

    def _edges(self, loglik, theta, value, information, score):
        """Covariate coefficients running off to ±infinity (separation; see module doc)."""
        if not self.covariate_names_:
            return theta, value, {}
        candidates = range(1, 1 + len(self.covariate_names_))
        edges = diverging(information, score(theta), self._column_sd, candidates, theta)
        dead = [self.covariate_names_[j - 1] for j, direction in edges.items() if direction == 0]
        if dead:
            raise SingularFitError(dead, f"covariate{'s' if len(dead) > 1 else ''} {', '.join(dead)} carr"
                                         f"{'y' if len(dead) > 1 else 'ies'} no information (the information matrix "
                                         "is singular there); drop " + ("them" if len(dead) > 1 else "it"))
        return theta, value, edges

    def _edge_note(self, edges: dict[int, int]) -> str:
        parts = []
        for j, direction in edges.items():
            name = self.covariate_names_[j - 1]
            longer = "longer" if direction > 0 else "shorter"
            parts.append(f"the coefficient of {name} runs off to {'+∞' if direction > 0 else '−∞'} (higher {name} "
                         f"means ever {longer} tenure: it separates churned from active customers, e.g. a level in "
                         "which nobody churns)")
        return ("; ".join(parts) + ": no finite estimate exists, so the value shown is where the optimiser stopped and "
                "has no standard error or interval; the other parameters are those of the limit")

    def _prepare(self, t, d, a, X) -> None:
        """Split the rows once into churned, censored and truncated parts (log times, weights).

        Without covariates, rows with the same (tenure, churned, entry) are merged with a
        count weight: exact, and a million monthly tenures shrink to a few thousand rows.
        Censored rows at tenure 0 are dropped: S(0) = 1 adds nothing to the likelihood.
        """
        w = np.ones(len(t))
        if X is None:
            merged = pd.DataFrame({"t": t, "d": d, "a": a}).value_counts(sort=False).reset_index(name="w")
            t, d, a, w = (merged[c].to_numpy(float) for c in ("t", "d", "a", "w"))
        keep = t > 0
        ev, cen, tr = keep & (d > 0), keep & (d <= 0), keep & (a > 0)

        def part(mask, times):
            return np.log(times[mask]), w[mask], None if X is None else X[mask]

        self._parts = {"event": part(ev, t), "censored": part(cen, t), "entry": part(tr, a)}

    def _parameter_specs(self) -> list[ParameterSpec]:
        if self.covariate_names_:
            # AFT: location coefficients are reported on the log-tenure scale (like lifelines).
            specs = [ParameterSpec(f"{self.location_name}: Intercept", False)]
            specs += [ParameterSpec(f"{self.location_name}: {c}", False) for c in self.covariate_names_]
        else:
            specs = [ParameterSpec(self.location_name, self.location_is_log)]
        if self.fixed_sigma is None:
            specs.append(ParameterSpec(self.scale_name, True))
        return specs

    def _start_values(self, t, d, X) -> np.ndarray:
        # Least squares of log tenure on X over the churned customers is close enough for BFGS;
        # censored tenures are lower bounds, so it under-shoots, which the optimiser fixes.
        y = np.log(np.where(t > 0, t, np.nan))
        use = np.isfinite(y) & (d > 0)
        if use.sum() <= X.shape[1]:
            use = np.isfinite(y)
        beta, *_ = np.linalg.lstsq(X[use], y[use], rcond=None)
        beta[0] += np.log(max(len(t), 1) / max(d.sum(), 1.0))  # censoring lengthens the mean
        start = list(beta)
        if self.fixed_sigma is None:
            start.append(0.0)
        return np.asarray(start)

    def _log_sigma(self, theta, p):
        # theta's last entry is log(shape) = −log(sigma) for Weibull and log-logistic.
        if self.fixed_sigma is not None:
            return np.log(self.fixed_sigma)
        return -theta[..., p] if self.scale_is_inverse else theta[..., p]

    def _z(self, theta, part):
        p = 1 + len(self.covariate_names_)
        log_sigma = self._log_sigma(theta, p)
        log_t, weight, X = part
        mu = theta[0] if X is None else X @ theta[:p]
        return (log_t - mu) / np.exp(log_sigma), weight, log_sigma

    def _loglik(self, theta) -> float:
        fam = self.family
        z, w, log_sigma = self._z(theta, self._parts["event"])
        total = w @ (fam.logpdf(z) - log_sigma - self._parts["event"][0])
        z, w, _ = self._z(theta, self._parts["censored"])
        total += w @ fam.logsf(z)
        z, w, _ = self._z(theta, self._parts["entry"])
        total -= w @ fam.logsf(z)
        return float(total)

    def _score(self, theta) -> np.ndarray:
        fam = self.family
        p = 1 + len(self.covariate_names_)
        sigma = np.exp(self._log_sigma(theta, p))
        grad_beta = np.zeros(p)
        grad_log_sigma = 0.0
        # d loglik / d z per row, and the sign each part enters with.
        for name, g_of, sign, extra in (("event", fam.dlogpdf, 1.0, 1.0), ("censored", fam.dlogsf, 1.0, 0.0),
                                        ("entry", fam.dlogsf, -1.0, 0.0)):
            z, w, _ = self._z(theta, self._parts[name])
            g = sign * w * g_of(z)
            X = self._parts[name][2]
            # dz/dmu = −1/sigma; dz/dlog sigma = −z; events also carry −log sigma.
            grad_beta -= (np.array([g.sum()]) if X is None else X.T @ g) / sigma
            grad_log_sigma -= g @ z + extra * w.sum()
        grad = list(grad_beta)
        if self.fixed_sigma is None:
            grad.append(-grad_log_sigma if self.scale_is_inverse else grad_log_sigma)
        return np.asarray(grad)

    def _set_named_attributes(self) -> None:
        """Hook for subclasses to expose ``lambda_``, ``rho_`` … (no covariates only)."""

    # ---------------------------------------------------------------- prediction
    def _location_scale(self, theta, covariates=None):
        p = 1 + len(self.covariate_names_)
        beta = theta[..., :p]
        log_sigma = self._log_sigma(theta, p)
        x = np.ones(p)
        if covariates is not None and self.covariate_names_:
            row = pd.Series(covariates, dtype=float).reindex(self.covariate_names_)
            if row.isna().any():
                missing = list(row.index[row.isna()])
                raise ValueError(f"profile lacks covariates {missing}")
            x[1:] = row.to_numpy()
        return beta @ x, np.exp(log_sigma)

    def survival_at(self, theta, times, covariates=None) -> np.ndarray:
        """S(t) under parameter vector ``theta`` (rows of draws allowed: returns draws × times)."""
        theta = np.asarray(theta, float)
        mu, sigma = self._location_scale(theta, covariates)
        t = np.asarray(times, float)
        mu = np.asarray(mu)[..., None]
        sigma = np.asarray(sigma)[..., None]
        with np.errstate(divide="ignore"):
            z = (np.log(t) - mu) / sigma
        return np.where(t > 0, np.exp(self.family.logsf(z)), 1.0)

    def survival(self, times, profile=None) -> np.ndarray:
        """Fraction of customers still active at tenure ``times`` (periods), for one profile.

        ``profile``: mapping of covariate name → value, every covariate given (AFT models);
        ``None`` = all zero.
        """
        return self.survival_at(self.theta_, times, profile)

    def quantile(self, p: float, profile=None) -> float:
        """Tenure by which a fraction ``p`` has churned (``p = 0.5``: median), in periods."""
        mu, sigma = self._location_scale(self.theta_, profile)
        return float(np.exp(mu + sigma * self.family.quantile(p)))

    @property
    def median_(self) -> float:
        """Median tenure in periods (no covariates, or the all-zero profile)."""
        return self.quantile(0.5)

    def predict(self, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Survival at ``times`` (index "t") for each profile (rows of ``profiles``), or one "survival" column."""
        return survival_frame(self.survival, times, profiles)


class ExponentialFitter(ParametricFitter):
    """Constant churn hazard: S(t) = exp(−t/λ). ``lambda_`` = mean tenure, ``rate_`` = 1/λ per period.

    ``rate_interval_``: the ``level`` interval of ``rate_``.
    """

    name = "exponential"
    min_churn_tenures = 1
    family = _ExtremeValue
    fixed_sigma = 1.0
    location_name = "lambda_"
    scale_name = None

    def _set_named_attributes(self):
        if not self.covariate_names_:
            self.lambda_ = float(self.params_["lambda_"])
            self.rate_ = 1.0 / self.lambda_
            se = float(np.sqrt(self.cov_[0, 0]))
            z = stats.norm.ppf(0.5 + self.level / 2.0)
            # rate = exp(−theta): its log-scale interval is the mirror image of lambda's.
            self.rate_interval_ = (float(np.exp(-self.theta_[0] - z * se)), float(np.exp(-self.theta_[0] + z * se)))


class WeibullFitter(ParametricFitter):
    """S(t) = exp(−(t/λ)^ρ). ρ < 1: churn hazard falls with tenure; ρ > 1: rises."""

    name = "weibull"

    family = _ExtremeValue
    location_name = "lambda_"
    scale_name = "rho_"

    def _set_named_attributes(self):
        self.rho_ = float(self.params_["rho_"])
        if not self.covariate_names_:
            self.lambda_ = float(self.params_["lambda_"])


class LogNormalFitter(ParametricFitter):
    """log T ~ Normal(μ, σ²). Hazard rises then falls."""

    name = "lognormal"

    family = _Normal
    location_name = "mu_"
    location_is_log = False
    scale_name = "sigma_"
    scale_is_inverse = False

    def _set_named_attributes(self):
        self.sigma_ = float(self.params_["sigma_"])
        if not self.covariate_names_:
            self.mu_ = float(self.params_["mu_"])


class LogLogisticFitter(ParametricFitter):
    """S(t) = 1/(1 + (t/α)^β). β > 1: hazard rises then falls; β ≤ 1: falls."""

    name = "loglogistic"

    family = _Logistic
    location_name = "alpha_"
    scale_name = "beta_"

    def _set_named_attributes(self):
        self.beta_ = float(self.params_["beta_"])
        if not self.covariate_names_:
            self.alpha_ = float(self.params_["alpha_"])

