"""Contract-renewal models for cohorts (Fader & Hardie): shifted-beta-geometric and beta-discrete-Weibull.

Setting: customers sign contracts of one period (month, year); at the end of each period each
customer renews or churns. Period ``t = 1, 2, …`` is the renewal at which a customer leaves.

* **sBG** (Fader & Hardie 2007, "How to project customer retention", J. Interactive
  Marketing 21(1)): each customer churns at every renewal with her own probability ``p``,
  constant over her lifetime; ``p ~ Beta(alpha, beta)`` across customers. Then
  ``S(t) = B(alpha, beta + t) / B(alpha, beta)`` and
  ``P(T = t) = B(alpha + 1, beta + t − 1) / B(alpha, beta)``. The cohort's retention rate
  ``r(t) = S(t)/S(t−1) = (beta + t − 1)/(alpha + beta + t − 1)`` rises with tenure although no
  one's churn probability changes: the churn-prone leave first (heterogeneity, not loyalty).
* **BdW** (Fader, Hardie, Liu, Davin & Steenburgh 2018, "'How to project customer retention'
  revisited: the role of duration dependence", J. Interactive Marketing 43): each customer's
  churn follows a discrete Weibull with ``S_i(t) = (1 − theta)^(t^c)``, ``theta ~ Beta``; then
  ``S(t) = B(alpha, beta + t^c) / B(alpha, beta)``. ``c > 1``: individual churn probability
  rises with tenure; ``c < 1``: falls; ``c = 1`` is the sBG.

Input: survivor counts per cohort, ``[n_0, n_1, …, n_k]`` (customers active at period 0, 1, …;
``fit_survivors``), or individual whole-period tenures with a churn flag (``fit``, the protocol of
every fitter). Estimation is by maximum likelihood (counts lost at each period, the survivors
right-censored at the last period), optimised over ``log alpha, log beta (, log c)``; see
:mod:`csim.forecast.mle` for the standard errors and intervals.

**Covariates** (``fit(durations, events, covariates=frame)``: time-invariant numeric columns, e.g.
segment dummies) enter the beta mixing distribution through log links,
``alpha_i = exp(a0 + a'x_i)`` and ``beta_i = exp(b0 + b'x_i)`` (``c`` of the BdW is shared by
everyone), the form of Fader & Hardie (2007), "Incorporating time-invariant covariates into the
Pareto/NBD and BG/NBD models" (brucehardie.com note 019), for the beta distribution of churn
probabilities. Each customer then follows the model without covariates with her own ``alpha_i,
beta_i``; rows are grouped into distinct (tenure, churned, covariates) patterns with counts, which
is exact. A 0/1 dummy on both alpha and beta is the two groups' separate fits in one model. The
summary reports ``a0, a, b0, b`` on the log scale (``"alpha_: Intercept"``, ``"alpha_: x"`` …);
:meth:`~_ContractRenewalModel.parameters_at` gives alpha, beta (, c) at a profile with intervals.
Survivor counts have no covariates (``fit_survivors``).

**Fits at the edge of the parameter space.** With few or no churns, or churn that does not
fall with tenure, the likelihood has no interior maximum: it keeps rising (or stays flat) as
parameters run to 0 or infinity — alpha and beta both to infinity is one churn probability for
every customer (geometric churn), alpha and beta both to 0 is "some leave at the first renewal,
the rest never". The optimiser then stops somewhere on a flat ridge (alpha = 1e-4, beta = 2588
with a standard error of "0" is a typical output), which means nothing. Each fit is therefore
checked with the profile likelihood (:func:`csim.forecast.mle.profile_edges`): a parameter that
can move by a factor of 100 towards an edge without the log-likelihood falling by 0.01 is
reported in ``at_bound_`` (name → ``"0"``, ``"∞"`` or ``"not identified"``); the fit is then
``degenerate_`` (a sentence saying which limit the data point to, also in ``notes_``), has NaN
standard errors and intervals and gives no projection bands. With covariates, a covariate
coefficient at an edge is a covariate that separates (e.g. a segment in which nobody churned:
its churn probability runs to 0); the note names the values without churn, those coefficients
have NaN standard errors and intervals, the other parameters keep the standard errors of the
limit, and there are no bands. An intercept or ``c`` at an edge makes the whole fit degenerate,
as without covariates.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import betaln

from csim.forecast.mle import (MaximumLikelihoodFitter, ParameterSpec, check_design, no_profile, profile_edges,
                               summary_table, survival_frame)


def survivors_to_counts(cohorts: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn survivor counts into (period, customers, churned?) rows for the likelihood.

    Each cohort ``[n_0, …, n_k]`` gives ``n_{t−1} − n_t`` churns at period ``t`` (t = 1…k)
    and ``n_k`` customers still active (right-censored) at period ``k``. A cohort with only its
    period-0 count (acquired in the last period) adds nothing to the likelihood; at least one
    cohort must have been observed for a period.
    """
    periods, weights, churned = [], [], []
    if not any(np.size(c) >= 2 for c in cohorts):
        raise ValueError("a cohort needs survivor counts for at least periods 0 and 1")
    for counts in cohorts:
        counts = np.asarray(counts, float)
        if counts.ndim != 1 or len(counts) < 1:
            raise ValueError("a cohort needs survivor counts for at least periods 0 and 1")
        if len(counts) == 1:
            continue
        if np.any(np.diff(counts) > 0) or np.any(counts < 0) or counts[0] <= 0:
            raise ValueError("survivor counts must start positive and never increase")
        lost = -np.diff(counts)
        k = len(counts) - 1
        periods += list(range(1, k + 1)) + [k]
        weights += list(lost) + [counts[-1]]
        churned += [True] * k + [False]
    return np.asarray(periods, float), np.asarray(weights, float), np.asarray(churned, bool)


def _as_cohorts(survivors) -> list[np.ndarray]:
    """Accept one cohort (list of counts) or several (list of lists)."""
    if len(survivors) and np.ndim(survivors[0]) == 0:
        return [np.asarray(survivors, float)]
    return [np.asarray(c, float) for c in survivors]


class _ContractRenewalModel(MaximumLikelihoodFitter):
    """Shared fitting and projection for sBG and BdW (a mixture of per-customer churn laws).

    ``level``: confidence level of the intervals in ``summary`` (0.95).

    After a fit with covariates: ``covariate_names_``; ``summary`` rows ``"alpha_: Intercept"``,
    ``"alpha_: <column>"`` …, ``"beta_: …"`` (log-link coefficients, log scale) and ``c_``
    (BdW); the named attributes ``alpha_``, ``beta_`` (, ``c_``) are the values at all
    covariates 0 (the reference profile).
    """

    _names: tuple[str, ...]
    #: The parameters of the beta mixing distribution, which take the covariates (log links).
    _linked: tuple[str, ...] = ("alpha_", "beta_")

    kind = "contract_renewal"
    # Every customer is watched from acquisition and leaves at a renewal: no entry (left truncation).
    supports_entry = False
    supports_covariates = True
    needs_covariates = False
    needs_whole_periods = True
    needs_period_grid = False
    has_density = False
    whole_period_steps = True
    #: Fewest observed periods after period 0 that survivor counts need for a fit.
    min_survivor_periods = 1
    covariate_names_: list[str] = []
    #: Largest patterns × periods table of log S evaluated at once; larger designs go row by row.
    _TABLE_CELLS = 5_000_000

    def fit_survivors(self, survivors):
        """Fit to survivor counts: one cohort ``[1000, 631, 468, …]`` or a list of cohorts.

        Counts are customers still active at periods 0, 1, 2, … of each cohort. Returns ``self``.
        """
        self.cohorts_ = _as_cohorts(survivors)
        periods, weights, churned = survivors_to_counts(self.cohorts_)
        self.n_obs_ = int(sum(c[0] for c in self.cohorts_))
        self.covariate_names_ = []
        return self._fit_rows(periods, weights, churned)

    def fit(self, durations, events, entry=None, covariates: pd.DataFrame | None = None):
        """Fit to individual tenures in whole periods (integers ≥ 0) with a 0/1 churn flag.

        A churn at tenure ``t`` counts as leaving at renewal ``t`` (so churns need ``t ≥ 1``);
        an active customer at tenure ``t`` has survived ``t`` renewals. ``entry`` must be None:
        the model follows every customer from acquisition. ``covariates``: optional DataFrame of
        time-invariant numeric columns (e.g. segment dummies), one row per customer; they enter
        alpha and beta through log links (module doc). Constant or collinear columns raise
        :class:`csim.forecast.mle.SingularFitError`. Returns ``self``.
        """
        if entry is not None:
            raise ValueError(f"{type(self).__name__} takes no entry tenures: a contract-renewal model needs every "
                             "customer observed from acquisition (no left truncation)")
        t = np.asarray(durations, float)
        d = np.asarray(events, bool)
        if np.any(t != np.round(t)) or np.any(t < 0):
            raise ValueError("contract-renewal models need whole-period tenures (integers ≥ 0)")
        if np.any(d & (t < 1)):
            raise ValueError("a churn at tenure 0 has no renewal: contract-renewal models need churn tenures ≥ 1")
        self.cohorts_ = []
        self.n_obs_ = len(t)
        names = [] if covariates is None else [str(c) for c in covariates.columns]
        if not names:
            self.covariate_names_ = []
            frame = pd.DataFrame({"t": t, "d": d}).value_counts().reset_index(name="w")
            return self._fit_rows(frame["t"].to_numpy(float), frame["w"].to_numpy(float), frame["d"].to_numpy(bool))
        X = np.asarray(covariates, float)
        if X.shape != (len(t), len(names)):
            raise ValueError(f"covariates must have one row per tenure ({len(t)} rows), got {X.shape[0]}")
        if not np.all(np.isfinite(X)):
            raise ValueError("covariates must be finite numbers (encode or drop missing values first)")
        check_design(X, names, baseline="the intercepts of alpha and beta")
        # Start from the fit without covariates (every coefficient 0): the covariate model at the
        # best point it has with no covariate effect. A fit at an edge stopped somewhere arbitrary
        # on a flat ridge, so then start from alpha = beta (= c) = 1 instead.
        pooled = type(self)(level=self.level).fit(t, d)
        start = self._expand(pooled.theta_ if not pooled.at_bound_ else np.zeros(len(self._names)), len(names))
        self.covariate_names_ = names
        # Distinct (tenure, churned, covariates) rows with their counts: exact, and far fewer rows.
        frame = pd.DataFrame(X).assign(t=t, d=d).value_counts(sort=False).reset_index(name="w")
        patterns, pattern_of = np.unique(frame.iloc[:, :len(names)].to_numpy(float), axis=0, return_inverse=True)
        self._patterns, self._pattern_of = patterns, pattern_of.ravel()
        try:
            return self._fit_rows(frame["t"].to_numpy(float), frame["w"].to_numpy(float), frame["d"].to_numpy(bool),
                                  start)
        finally:
            del self._patterns, self._pattern_of

    def _expand(self, theta_plain, k: int) -> np.ndarray:
        """Parameters without covariates → the covariate model's vector with every coefficient 0."""
        theta_plain = np.asarray(theta_plain, float)
        parts = []
        for j, _ in enumerate(self._names):
            parts.append([theta_plain[j]] + ([0.0] * k if j < len(self._linked) else []))
        return np.concatenate(parts)

    def _parameter_specs(self) -> list[ParameterSpec]:
        if not self.covariate_names_:
            return [ParameterSpec(name, True) for name in self._names]
        specs = []
        for name in self._linked:
            specs.append(ParameterSpec(f"{name}: Intercept", False))
            specs += [ParameterSpec(f"{name}: {c}", False) for c in self.covariate_names_]
        return specs + [ParameterSpec(name, True) for name in self._names if name not in self._linked]

    def _fit_rows(self, periods, weights, churned, start=None):
        self._rows = (periods, weights, churned)
        self._specs = self._parameter_specs()
        self.max_period_ = int(periods.max())
        self._edge_is_degenerate = True
        self._finish(self._loglik, np.zeros(len(self._specs)) if start is None else start,
                     scale=max(weights.sum(), 1.0))
        # Without covariates these are the estimates; with covariates, the reference profile's values.
        with np.errstate(over="ignore"):  # a parameter run off to infinity may exceed the double range
            for name, value in zip(self._names, np.ravel(self._log_parameters(self.theta_, None))):
                setattr(self, name, float(np.exp(value)))
        del self._rows
        return self

    def _log_parameters(self, theta, x):
        """log alpha, log beta (, log c) under ``theta`` (… × parameters) for covariate rows ``x``.

        Without covariates ``theta`` is already that. With covariates ``x`` is rows × covariates
        (None: one row at all covariates 0) and the result has shape (3 or 2, …, rows).
        """
        theta = np.asarray(theta, float)
        if not self.covariate_names_:
            return theta.T if theta.ndim == 2 else theta
        k = len(self.covariate_names_)
        x = np.zeros((1, k)) if x is None else np.atleast_2d(np.asarray(x, float))
        design = np.column_stack([np.ones(len(x)), x])
        out = [theta[..., j * (k + 1):(j + 1) * (k + 1)] @ design.T for j in range(len(self._linked))]
        shared = len(self._linked) * (k + 1)
        out += [np.broadcast_to(theta[..., j, None], out[0].shape) for j in range(shared, theta.shape[-1])]
        return np.stack(out)

    def _profile_row(self, profile) -> np.ndarray:
        """One profile (name → value; None: all covariates 0) as a 1 × covariates row."""
        if profile is None:
            return np.zeros((1, len(self.covariate_names_)))
        row = pd.Series(dict(profile), dtype=float).reindex(self.covariate_names_)
        if row.isna().any():
            raise ValueError(f"profile lacks covariates {list(row.index[row.isna()])} (or gives NaN for them)")
        return row.to_numpy()[None, :]

    def _edges(self, loglik, theta, value, information, score):
        """Profile-likelihood test for parameters running off to 0 or infinity (see module doc)."""
        theta, value, edges = profile_edges(loglik, theta, value, information)
        if self.covariate_names_:
            # A separating covariate leaves the rest of the model usable; an intercept or c at an
            # edge is the model-wide problem it is without covariates.
            self._edge_is_degenerate = any(not self._is_coefficient(j) for j in edges)
        return theta, value, edges

    def _is_coefficient(self, j: int) -> bool:
        name = self._specs[j].name
        return ": " in name and not name.endswith(": Intercept")

    def _edge_note(self, edges: dict[int, int]) -> str:
        """Say which limit the data point to, in words, then which parameters are at an edge."""
        if self.covariate_names_:
            return self._covariate_edge_note(edges)
        names = [s.name for s in self._specs]
        where = {names[j] for j in edges}
        periods, weights, churned = self._rows
        churns = float(weights[churned].sum())
        # Renewals faced: a churn at t faced t renewals, a customer still active at t also t.
        exposure = float(weights @ periods)
        with np.errstate(over="ignore"):  # a parameter run off to infinity may exceed the double range
            a, b = float(np.exp(self.theta_[0])), float(np.exp(self.theta_[1]))
        # Where the optimiser stopped on the flat ridge tells which limit the data point to:
        # Var(p) = mean·(1 − mean)/(alpha + beta + 1) across customers.
        if churns == 0:
            meaning = "no customer churned, so the churn probability runs to 0"
        elif self.max_period_ == 1:
            meaning = (f"only one renewal is observed, which fixes the average churn probability "
                       f"alpha/(alpha + beta) = {a / (a + b):.3g} but not how it varies between customers")
        elif a + b > 1e3 and "c_" in names:
            meaning = ("no difference between customers is visible: the fit tends to one discrete-Weibull churn law "
                       f"for everyone (c = {float(np.exp(self.theta_[2])):.3g})" if "c_" not in where else
                       "no difference between customers is visible, and the data do not pin down how churn changes "
                       "with tenure")
        elif a + b > 1e3:
            meaning = (f"no difference between customers is visible: the fit tends to one churn probability of "
                       f"{churns / exposure:.3g} per period for everyone (geometric churn)")
        elif a + b < 1e-3:
            meaning = (f"the fit tends to a share {a / (a + b):.3g} of customers leaving at the first renewal and the "
                       "rest never leaving")
        else:
            meaning = "the data do not pin these parameters down"
        labels = ", ".join(self._edge_phrase(j, d) for j, d in edges.items())
        return (f"estimates at the edge of the parameter space ({labels}): {meaning}; the numbers shown are where the "
                "optimiser stopped on a flat likelihood and have no standard errors, intervals or bands")

    def _covariate_edge_note(self, edges: dict[int, int]) -> str:
        """The edge note of a fit with covariates: which covariate values nobody churned at, if any."""
        periods, weights, churned = self._rows
        x = self._patterns[self._pattern_of]
        k = len(self.covariate_names_)
        labels = ", ".join(self._edge_phrase(j, d) for j, d in edges.items())
        found = []
        for j in sorted({(j % (k + 1)) - 1 for j in edges if self._is_coefficient(j)}):
            name = self.covariate_names_[j]
            values = np.unique(x[:, j])
            if len(values) > 10:
                found.append(f"{name} separates customers who churn from those who do not")
                continue
            quiet = [v for v in values if weights[churned & (x[:, j] == v)].sum() == 0]
            found.append(f"nobody with {name} = {', '.join(f'{v:g}' for v in quiet)} churned, so their churn "
                         "probability runs to 0" if quiet else
                         f"for some value of {name} the churn does not fall with tenure (or all of it is at the "
                         "first renewal), which the model reaches only in a limit")
        meaning = "; ".join(found) if found else "the data do not pin these parameters down"
        tail = ("the numbers shown are where the optimiser stopped on a flat likelihood and have no standard errors, "
                "intervals or bands" if self._edge_is_degenerate else
                "those coefficients are where the optimiser stopped and have no standard error or interval, the other "
                "parameters are those of the limit, and there are no projection bands")
        return f"estimates at the edge of the parameter space ({labels}): {meaning}; {tail}"

    def _loglik(self, theta) -> float:
        periods, weights, churned = self._rows
        if self.covariate_names_:
            log_s, log_s_prev = self._covariate_log_survival(theta, periods)
        else:
            log_s = self._log_survival(theta, periods)
            # Censored rows at tenure 0 have no previous period; clip so S(t−1) stays defined (unused there).
            log_s_prev = self._log_survival(theta, np.maximum(periods - 1, 0))
        # log P(T = t) = log(S(t−1) − S(t)), computed without cancellation.
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = log_s_prev + np.log(-np.expm1(log_s - log_s_prev))
            terms = np.where(churned, log_p, log_s)
            # Rows of weight 0 (no churn at a period) add nothing, even where log P is −inf.
            terms = np.where(weights > 0, weights * terms, 0.0)
        return float(terms.sum())

    def _covariate_log_survival(self, theta, periods) -> tuple[np.ndarray, np.ndarray]:
        """log S(t) and log S(t − 1) of each row, at the alpha, beta (, c) of its covariate pattern."""
        base = self._log_parameters(theta, self._patterns)
        previous = np.maximum(periods - 1, 0)
        if len(self._patterns) * (self.max_period_ + 1) <= self._TABLE_CELLS:
            # One row of log S(0…T) per covariate pattern, then a lookup per row.
            table = self._log_survival_table(base, self.max_period_)
            at = periods.astype(np.int64)
            return table[self._pattern_of, at], table[self._pattern_of, previous.astype(np.int64)]
        rows = base[:, self._pattern_of]
        return self._log_survival(rows, periods), self._log_survival(rows, previous)

    def _log_survival_table(self, base, last: int) -> np.ndarray:
        """log S(t) for t = 0 … ``last`` (columns) at each column of ``base`` (log alpha, log beta (, log c))."""
        return self._log_survival(base[:, :, None], np.arange(last + 1, dtype=float)[None, :])

    def _log_survival(self, theta, t):  # pragma: no cover - interface
        raise NotImplementedError

    def survival_at(self, theta, periods, covariates=None) -> np.ndarray:
        """S(t) under parameter vector ``theta`` (draws × periods for a matrix of draws).

        ``covariates``: the profile (name → value; None: all covariates 0) of a fit with
        covariates; must be None or empty without.
        """
        theta = np.asarray(theta, float)
        t = np.maximum(np.asarray(periods, float), 0.0)  # before period 0 everyone is active
        if self.covariate_names_:
            base = self._log_parameters(theta, self._profile_row(covariates))[..., 0]
        else:
            no_profile(covariates, type(self).__name__)
            base = theta.T if theta.ndim == 2 else theta
        if theta.ndim == 2:
            return np.exp(self._log_survival(base[:, :, None], t[None, None, :])[0])
        return np.exp(self._log_survival(base, t))

    def survival(self, times, profile=None) -> np.ndarray:
        """Fraction of a cohort still active at period ``times`` (t = 0, 1, 2, …; S(0) = 1).

        ``profile``: covariate name → value for a fit with covariates (every covariate given;
        None: all 0, the reference); None or empty without covariates.
        """
        return self.survival_at(self.theta_, times, profile)

    def parameters_at(self, profile=None) -> pd.DataFrame:
        """alpha, beta (, c) for customers with covariates ``profile`` (None: all 0), with ``level`` intervals.

        Columns as ``summary``: estimate, se (delta method) and the interval, ``exp`` of a Wald
        interval of the log parameter. Without covariates this is ``summary``. NaN where a
        coefficient the profile uses is at an edge, and everywhere for a degenerate fit.
        """
        if not self.covariate_names_:
            no_profile(profile, type(self).__name__)
            return self.summary.copy()
        x = self._profile_row(profile)[0]
        k = len(self.covariate_names_)
        rows = np.zeros((len(self._names), len(self.theta_)))
        for j in range(len(self._linked)):
            rows[j, j * (k + 1):(j + 1) * (k + 1)] = np.concatenate([[1.0], x])
        for j in range(len(self._linked), len(self._names)):
            rows[j, len(self._linked) * (k + 1) + j - len(self._linked)] = 1.0
        variances = np.empty(len(rows))
        for j, row in enumerate(rows):
            # Only the parameters this profile uses: a coefficient at an edge multiplied by 0 is not there.
            used = row != 0
            variances[j] = row[used] @ self.cov_[np.ix_(used, used)] @ row[used]
        table = summary_table(rows @ self.theta_, np.diag(variances), [ParameterSpec(n, True) for n in self._names],
                              self.level)
        if self.degenerate_:
            table.iloc[:, 1:] = np.nan
        return table

    def retention_rate(self, periods, profile=None) -> np.ndarray:
        """Share of customers active at period t−1 who renew at period t: S(t)/S(t−1), t ≥ 1."""
        t = np.asarray(periods, float)
        return self.survival(t, profile) / self.survival(t - 1, profile)

    def churn_probability(self, periods, profile=None) -> np.ndarray:
        """P(T = t): share of the original cohort that leaves at period t (t ≥ 1)."""
        t = np.asarray(periods, float)
        return self.survival(t - 1, profile) - self.survival(t, profile)

    def predict(self, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Survival at ``times`` (index "t"): one column per row of ``profiles`` (fits with covariates), or "survival"."""
        return survival_frame(self.survival, times, profiles)

    def expected_active(self, periods, initial: float = 1.0, profile=None) -> np.ndarray:
        """Expected customers still active at ``periods`` out of ``initial`` at period 0."""
        return initial * self.survival(periods, profile)


class ShiftedBetaGeometric(_ContractRenewalModel):
    """Shifted-beta-geometric (sBG) contract-renewal model; attributes ``alpha_``, ``beta_``.

    >>> m = ShiftedBetaGeometric().fit_survivors([1000, 869, 743, 653, 593, 551, 517, 491])
    >>> round(m.alpha_, 3), round(m.beta_, 3)
    (0.668, 3.806)
    """

    _names = ("alpha_", "beta_")
    name = "sbg"
    min_churn_tenures = 2

    #: Longest tenure (periods) for which log S(t) is summed term by term instead of via betaln.
    _PRODUCT_FORM_MAX_T = 100_000

    def _log_survival(self, theta, t):
        with np.errstate(over="ignore"):  # beta = inf (no churn at all) is a proper limit: S = 1
            alpha, beta = np.exp(theta[0]), np.exp(theta[1])
        t = np.asarray(t, float)
        if np.ndim(alpha) == 0 and t.size and np.all(t == np.round(t)) and 0 <= t.min() \
                and t.max() <= self._PRODUCT_FORM_MAX_T:
            # S(t) = prod_{k<t} (beta + k)/(alpha + beta + k). The difference of two betaln
            # values loses ~1e-9 absolute once beta is large (1e5 and more, where fits near the
            # edge go), enough to make the likelihood surface noisy there; the sum of log1p terms
            # is exact to rounding.
            k = np.arange(int(t.max()), dtype=float)
            with np.errstate(divide="ignore"):  # beta = 0 (an optimiser's trial step): S(t ≥ 1) = 0, log = −inf
                cumulative = np.concatenate([[0.0], np.cumsum(np.log1p(-alpha / (alpha + beta + k)))])
            return cumulative[t.astype(np.int64)]
        return betaln(alpha, beta + t) - betaln(alpha, beta)

    def _log_survival_table(self, base, last: int) -> np.ndarray:
        if last > self._PRODUCT_FORM_MAX_T:
            return super()._log_survival_table(base, last)
        with np.errstate(over="ignore"):
            alpha, beta = np.exp(base[0])[:, None], np.exp(base[1])[:, None]
        # The product form of _log_survival, one row per covariate pattern.
        k = np.arange(last, dtype=float)[None, :]
        steps = np.log1p(-alpha / (alpha + beta + k))
        return np.concatenate([np.zeros((len(alpha), 1)), np.cumsum(steps, axis=1)], axis=1)

    def retention_rate(self, periods, profile=None) -> np.ndarray:
        """Closed form (beta + t − 1)/(alpha + beta + t − 1), t ≥ 1 (alpha, beta of ``profile``)."""
        t = np.asarray(periods, float)
        if self.covariate_names_:
            alpha, beta = np.exp(self._log_parameters(self.theta_, self._profile_row(profile))[:2, 0])
        else:
            no_profile(profile, type(self).__name__)
            alpha, beta = self.alpha_, self.beta_
        return (beta + t - 1.0) / (alpha + beta + t - 1.0)

    @property
    def mean_churn_probability_(self) -> float:
        """Average per-renewal churn probability at acquisition, alpha/(alpha + beta) (reference profile)."""
        return self.alpha_ / (self.alpha_ + self.beta_)


class BetaDiscreteWeibull(_ContractRenewalModel):
    """Beta-discrete-Weibull (BdW) contract-renewal model; attributes ``alpha_``, ``beta_``, ``c_``."""

    _names = ("alpha_", "beta_", "c_")
    name = "bdw"
    min_churn_tenures = 3
    # The time shape c is told apart from the mixing only by how churn changes across periods.
    min_survivor_periods = 2

    def _log_survival(self, theta, t):
        alpha, beta, c = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
        return betaln(alpha, beta + np.power(t, c)) - betaln(alpha, beta)

