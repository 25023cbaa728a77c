"""Kaplan–Meier survival and log-rank tests (statsmodels ``SurvfuncRight`` and ``survdiff``).

Pointwise intervals use Greenwood's variance (statsmodels' ``surv_prob_se``) on the
log(−log S) scale, the usual choice (it keeps the band inside [0, 1]; lifelines and R's
``survival`` with ``conf.type = "log-log"`` do the same). Median and other quantiles with
their intervals come from ``SurvfuncRight.quantile`` / ``quantile_ci`` (Brookmeyer–Crowley
inversion with the complementary log-log transform).

Log-rank p-values come from the chi-square survival function in log space
(:func:`chi2_log_sf`): a large difference between groups gives a p-value like 1e-300, or, beyond
the range of a double, p floored at 2.2e-308 with its exact size in ``log10_p`` — never 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from csim.forecast.mle import no_profile, p_from_log, survival_frame

#: Weighted variants of the log-rank test: csim name -> (statsmodels weight_type, description).
LOG_RANK_WEIGHTS: dict[str, tuple[str | None, str]] = {
    "logrank": (None, "equal weight at every event time"),
    "gehan-breslow": ("gb", "weights by the number at risk: stresses early differences"),
    "tarone-ware": ("tw", "weights by sqrt(number at risk): between the two"),
    "fleming-harrington": ("fh", "weights by S(t−)^p (p = 1): stresses early differences"),
}


class KaplanMeier:
    """Kaplan–Meier estimate of the share of customers still active by tenure.

    ``level``: confidence level of the pointwise intervals and of the quantile intervals (0.95).

    After :meth:`fit`: ``table_`` (one row per churn time: at_risk, churned, survival, se,
    lower, upper), ``median_`` and ``median_ci_`` (periods; NaN when the curve never falls to
    0.5), ``survfunc_`` (the statsmodels object).
    """

    name = "kaplan_meier"
    kind = "nonparametric"
    supports_entry = True
    supports_covariates = False
    needs_covariates = False
    needs_whole_periods = False
    needs_period_grid = False
    has_density = False
    whole_period_steps = False
    min_churn_tenures = 1

    def __init__(self, level: float = 0.95):
        self.level = level

    def fit(self, durations, events, entry=None, covariates=None, label: str | None = None):
        """Fit to tenures (periods), 0/1 churn flags and optional entry tenures (left truncation).

        ``covariates`` must be None (one curve per group: :func:`csim.forecast.compare_groups`);
        ``label`` names the curve in figures. Returns ``self``.
        """
        from statsmodels.duration.survfunc import SurvfuncRight

        if covariates is not None:
            raise ValueError("Kaplan–Meier takes no covariates: fit one curve per group (compare_groups), "
                             "or use CoxPH for covariates")
        self.label = label
        level = self.level
        durations = np.asarray(durations, float)
        events = np.asarray(events, float)
        # statsmodels takes log(0) once the curve reaches 0; the resulting inf/NaN standard
        # errors are handled below, so its floating-point warnings are noise here.
        with np.errstate(divide="ignore", invalid="ignore"):
            self.survfunc_ = sf = SurvfuncRight(durations, events,
                                                entry=None if entry is None else np.asarray(entry, float))
        z = stats.norm.ppf(0.5 + level / 2.0)
        surv = np.asarray(sf.surv_prob, float)
        se = np.asarray(sf.surv_prob_se, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Greenwood on log(-log S): S^exp(±z·se/(S·|log S|)).
            half = z * se / (surv * np.abs(np.log(surv)))
            lower = surv ** np.exp(half)
            upper = surv ** np.exp(-half)
        lower = np.where(surv > 0, lower, 0.0)
        upper = np.where(surv > 0, upper, 0.0)
        self.table_ = pd.DataFrame({
            "t": sf.surv_times, "at_risk": sf.n_risk, "churned": sf.n_events,
            "survival": surv, "se": se, "lower": lower, "upper": upper,
        })
        self.n_obs_ = len(durations)
        self.n_events_ = int(events.sum())
        self.median_ = self.quantile(0.5)
        self.median_ci_ = self.quantile_ci(0.5)
        return self

    def _step(self, column: str, times) -> np.ndarray:
        t = np.asarray(times, float)
        values = self.table_[column].to_numpy(float)
        if len(values) == 0:  # nobody churned: the curve never leaves 1
            return np.ones_like(t)
        idx = np.searchsorted(self.table_["t"].to_numpy(), t, side="right") - 1
        return np.where(idx >= 0, values[np.clip(idx, 0, None)], 1.0)

    def survival(self, times, profile=None) -> np.ndarray:
        """Estimated share still active at tenure ``times`` (a right-continuous step function).

        ``profile`` must be None or empty: the curve describes everyone in the data.
        """
        no_profile(profile, "Kaplan–Meier")
        return self._step("survival", times)

    def survival_ci(self, times) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise (lower, upper) interval of :meth:`survival` at ``times``."""
        return self._step("lower", times), self._step("upper", times)

    def quantile(self, p: float) -> float:
        """Tenure by which a share ``p`` of customers has churned (p = 0.5: median), periods."""
        value = self.survfunc_.quantile(p)
        return float("nan") if value is None else float(value)

    def quantile_ci(self, p: float) -> tuple[float, float]:
        """Interval for :meth:`quantile` (NaN bound = not reached within the data)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            low, high = self.survfunc_.quantile_ci(p, alpha=1.0 - self.level, method="cloglog")
        return (float("nan") if low is None else float(low), float("nan") if high is None else float(high))

    @property
    def summary(self) -> pd.DataFrame:
        """The survival table (see class docstring)."""
        return self.table_

    def predict(self, times, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Survival at ``times`` (index "t"): one "survival" column (``profiles`` must be None)."""
        return survival_frame(self.survival, times, profiles)

    def at(self, times) -> pd.DataFrame:
        """Survival with interval at the requested tenures (e.g. 3, 6, 12 months)."""
        times = np.asarray(times, float)
        lower, upper = self.survival_ci(times)
        return pd.DataFrame({"survival": self.survival(times), "lower": lower, "upper": upper},
                            index=pd.Index(times, name="t"))


def chi2_log_sf(x: float, df: int) -> float:
    """Natural log of P(X > x) for X ~ chi-square(df), exact far below 1e-308.

    scipy's ``chi2.logsf`` returns −inf once ``sf`` underflows (x > ~1500 for 1 df). For whole
    ``df`` the upper tail has a closed form (Abramowitz & Stegun 26.4.4–26.4.5), a sum of
    positive terms evaluated with ``logsumexp``:

    * even df = 2m: P = e^(−x/2) · Σ_{k<m} (x/2)^k / k!
    * odd df = 2m+1: P = erfc(√(x/2)) + e^(−x/2) · Σ_{k=1..m} (x/2)^(k−½) / Γ(k+½),
      with log erfc(√(x/2)) = log 2 + log Φ(−√x).

    Other ``df`` fall back to scipy. NaN in, NaN out.
    """
    x = float(x)
    if np.isnan(x):
        return float("nan")
    if x <= 0:
        return 0.0
    if float(df) != int(df) or df < 1:
        return float(stats.chi2.logsf(x, df))
    half = x / 2.0
    m, odd = divmod(int(df), 2)
    if not odd:
        k = np.arange(m, dtype=float)
        return float(-half + special.logsumexp(k * np.log(half) - special.gammaln(k + 1.0)))
    tail = np.log(2.0) + special.log_ndtr(-np.sqrt(x))
    if m == 0:
        return float(tail)
    k = np.arange(1, m + 1, dtype=float)
    terms = -half + (k - 0.5) * np.log(half) - special.gammaln(k + 0.5)
    return float(special.logsumexp(np.append(terms, tail)))


def log_rank(durations, events, groups, entry=None, weighting: str = "logrank", fh_p: float = 1.0) -> dict:
    """Test whether groups share one survival curve (statsmodels ``survdiff``).

    ``weighting``: one of :data:`LOG_RANK_WEIGHTS`. Returns a dict with ``test``, ``chisq``,
    ``df`` (number of groups − 1), ``p`` (floored at 2.2e-308, never 0) and ``log10_p``
    (exact, also where ``p`` is below the range of a double).
    """
    from statsmodels.duration.survfunc import survdiff

    if weighting not in LOG_RANK_WEIGHTS:
        raise ValueError(f"unknown weighting {weighting!r}; choose from {sorted(LOG_RANK_WEIGHTS)}")
    weight_type = LOG_RANK_WEIGHTS[weighting][0]
    kwargs = {"fh_p": fh_p} if weight_type == "fh" else {}
    groups = np.asarray(groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        chisq, _ = survdiff(np.asarray(durations, float), np.asarray(events, float), groups,
                            weight_type=weight_type, entry=None if entry is None else np.asarray(entry, float), **kwargs)
    df = int(len(np.unique(groups)) - 1)
    # statsmodels returns 1 - cdf, which is 0 below about 1e-16; the log survival function keeps
    # every p-value, however small.
    log_p = chi2_log_sf(chisq, df)
    return {"test": weighting, "chisq": float(chisq), "df": df, "p": float(p_from_log(log_p)),
            "log10_p": float(log_p / np.log(10.0))}


def log_rank_table(durations, events, groups, entry=None) -> pd.DataFrame:
    """All weighted variants of :func:`log_rank`, one row each.

    With left truncation the Fleming–Harrington row is left out: statsmodels' weights then take
    the log of a zero-size risk set and return NaN.
    """
    truncated = entry is not None and np.any(np.asarray(entry, float) > 0)
    rows = [log_rank(durations, events, groups, entry=entry, weighting=w) for w in LOG_RANK_WEIGHTS
            if not (truncated and w == "fleming-harrington")]
    return pd.DataFrame(rows).set_index("test")
