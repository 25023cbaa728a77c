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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from csim.forecast.mle import MaximumLikelihoodFitter, ParameterSpec


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

    logsf = staticmethod(stats.norm.logsf)
    logpdf = staticmethod(stats.norm.logpdf)
    dlogsf = staticmethod(lambda z: -np.exp(stats.norm.logpdf(z) - stats.norm.logsf(z)))
    dlogpdf = staticmethod(lambda z: -z)
    quantile = staticmethod(stats.norm.ppf)


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

    After :meth:`fit`: ``params_`` (natural scale), ``summary`` (estimate, se, 95 % interval),
    ``loglik_``, ``aic_``, ``bic_``, ``theta_``/``cov_`` (unconstrained scale) and the
    model's named attributes (e.g. ``lambda_``, ``rho_``).
    """

    family: type[_StandardFamily]
    fixed_sigma: float | None = None
    #: Reported name of exp(mu) (or mu when ``location_is_log`` is False) and of the shape.
    location_name: str
    scale_name: str | None
    location_is_log: bool = True
    #: The shape reported is 1/sigma (Weibull rho, log-logistic beta) rather than sigma.
    scale_is_inverse: bool = True

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
        a = None if entry is None else np.asarray(entry, float)
        if a is not None and not np.any(a > 0):
            a = None
        self.covariate_names_ = [] if covariates is None else [str(c) for c in covariates.columns]
        X = np.ones((len(t), 1))
        if covariates is not None and len(self.covariate_names_):
            X = np.column_stack([X, np.asarray(covariates, float)])
        self.n_obs_ = len(t)
        self.n_events_ = int(d.sum())
        self._X, self._t, self._d, self._a = X, t, d, a
        self._specs = self._parameter_specs()
        start = self._start_values(t, d, X)
        self._finish(self._loglik, start, score=self._score, scale=max(len(t), 1))
        self._set_named_attributes()
        del self._X, self._t, self._d, self._a  # keep the fitted object small
        return self

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

    def _split(self, theta):
        p = self._X.shape[1]
        return theta[:p], self._log_sigma(theta, p)

    def _loglik(self, theta) -> float:
        beta, log_sigma = self._split(theta)
        sigma = np.exp(log_sigma)
        mu = self._X @ beta
        t, d = self._t, self._d
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(t) - mu) / sigma
            fam = self.family
            ev = d > 0
            total = np.sum(fam.logpdf(z[ev]) - log_sigma - np.log(t[ev]))
            total += np.sum(fam.logsf(z[~ev][t[~ev] > 0]))
            if self._a is not None:
                tr = self._a > 0
                za = (np.log(self._a[tr]) - mu[tr]) / sigma
                total -= np.sum(fam.logsf(za))
        return float(total)

    def _score(self, theta) -> np.ndarray:
        beta, log_sigma = self._split(theta)
        sigma = np.exp(log_sigma)
        mu = self._X @ beta
        t, d, fam = self._t, self._d, self.family
        ev = d > 0
        pos = t > 0
        z = np.zeros_like(t)
        z[pos] = (np.log(t[pos]) - mu[pos]) / sigma
        # d loglik_i / d z_i, zero for censored tenure 0 (S(0) = 1 does not depend on theta).
        g = np.where(ev, fam.dlogpdf(z), np.where(pos, fam.dlogsf(z), 0.0))
        dmu = -g / sigma
        dlogsigma = -(g * z) - ev
        if self._a is not None:
            tr = self._a > 0
            za = (np.log(self._a[tr]) - mu[tr]) / sigma
            ga = fam.dlogsf(za)
            dmu[tr] += ga / sigma
            dlogsigma[tr] += ga * za
        grad = list(self._X.T @ dmu)
        if self.fixed_sigma is None:
            grad.append(-dlogsigma.sum() if self.scale_is_inverse else dlogsigma.sum())
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

    def survival(self, times, covariates=None) -> np.ndarray:
        """Fraction of customers still active at tenure ``times`` (periods), for one profile.

        ``covariates``: mapping of covariate name → value (AFT models); ``None`` = all zero.
        """
        return self.survival_at(self.theta_, times, covariates)

    def quantile(self, p: float, covariates=None) -> float:
        """Tenure by which a fraction ``p`` has churned (``p = 0.5``: median), in periods."""
        mu, sigma = self._location_scale(self.theta_, covariates)
        return float(np.exp(mu + sigma * self.family.quantile(p)))

    @property
    def median_(self) -> float:
        """Median tenure in periods (no covariates, or the all-zero profile)."""
        return self.quantile(0.5)

    def predict(self, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Survival at ``times`` for each profile (rows of ``profiles``); index = times."""
        times = np.asarray(times, float)
        if profiles is None:
            return pd.DataFrame({"survival": self.survival(times)}, index=pd.Index(times, name="t"))
        return pd.DataFrame({idx: self.survival(times, row.to_dict()) for idx, row in profiles.iterrows()},
                            index=pd.Index(times, name="t"))


class ExponentialFitter(ParametricFitter):
    """Constant churn hazard: S(t) = exp(−t/λ). ``lambda_`` = mean tenure, ``rate_`` = 1/λ per period."""

    family = _ExtremeValue
    fixed_sigma = 1.0
    location_name = "lambda_"
    scale_name = None

    def _set_named_attributes(self):
        if not self.covariate_names_:
            self.lambda_ = float(self.params_["lambda_"])
            self.rate_ = 1.0 / self.lambda_
            se = float(np.sqrt(self.cov_[0, 0]))
            # rate = exp(−theta): its log-scale interval is the mirror image of lambda's.
            self.rate_interval_ = (float(np.exp(-self.theta_[0] - 1.959963984540054 * se)),
                                   float(np.exp(-self.theta_[0] + 1.959963984540054 * se)))


class WeibullFitter(ParametricFitter):
    """S(t) = exp(−(t/λ)^ρ). ρ < 1: churn hazard falls with tenure; ρ > 1: rises."""

    family = _ExtremeValue
    location_name = "lambda_"
    scale_name = "rho_"

    def _set_named_attributes(self):
        self.rho_ = float(self.params_["rho_"])
        if not self.covariate_names_:
            self.lambda_ = float(self.params_["lambda_"])


class LogNormalFitter(ParametricFitter):
    """log T ~ Normal(μ, σ²). Hazard rises then falls."""

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

    family = _Logistic
    location_name = "alpha_"
    scale_name = "beta_"

    def _set_named_attributes(self):
        self.beta_ = float(self.params_["beta_"])
        if not self.covariate_names_:
            self.alpha_ = float(self.params_["alpha_"])


#: The parametric fitters by the names the command line and reports use.
PARAMETRIC_MODELS: dict[str, type[ParametricFitter]] = {
    "exponential": ExponentialFitter,
    "weibull": WeibullFitter,
    "lognormal": LogNormalFitter,
    "loglogistic": LogLogisticFitter,
}
