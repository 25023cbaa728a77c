"""Uncertain parameters: an effect size or elasticity given as a distribution instead of a number.

The public evidence on what a customer-success touch does is weak (domain notes §4), so a
scenario may say how unsure it is::

    effect = { renewal_logodds = { dist = "normal", mean = 0.4, sd = 0.2, source = "assumption" } }

Every replication draws each uncertain parameter once (:mod:`csim.engine.parameters`) and runs
a plain scenario with the drawn numbers. The draw is keyed by the distribution's ``name`` if it
has one, else by the parameter's dotted path (``health.churn_effect``,
``strategy.plays[1].effect.renewal_logodds``), and made by inverse transform from one uniform
number per key and replication: two strategies that name the same parameter draw the same
quantile of it (common random numbers across strategies), so a comparison's paired difference
carries the uncertainty of the effect sizes without confounding it with luck.

Distributions (``scipy.stats`` frozen distributions; parameters in the parameter's own unit):

============  ==========================  =====================================================
``dist``      keys                        meaning
============  ==========================  =====================================================
normal        ``mean``, ``sd``            N(mean, sd²)
lognormal     ``median``, ``sigma``       exp(N(log median, sigma²)); positive
beta          ``a``, ``b`` (``low``,      Beta(a, b) on [low, high] (default [0, 1])
              ``high``)
uniform       ``low``, ``high``           U(low, high)
triangular    ``low``, ``mode``, ``high`` triangular on [low, high] with its peak at mode
============  ==========================  =====================================================

A bounded parameter (a probability, a fraction) accepts only a distribution whose support lies
inside its bounds; the error names the key.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Iterator, Literal, Mapping

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

__all__ = ["Distribution", "UncertainFloat", "bounded", "UncertainParameter", "uncertain_parameters",
           "with_values", "at_means", "DISTRIBUTION_KEYS"]

#: Probability left out of each tail of a prior's draws (see :meth:`Distribution.value`).
TAIL = 1e-9

#: The keys each distribution needs (optional ones after a "?").
DISTRIBUTION_KEYS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "beta": ("a", "b", "low?", "high?"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
}


class Distribution(BaseModel):
    """A prior for one parameter: a ``scipy.stats`` distribution, its draw key and its source."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    dist: Literal["normal", "lognormal", "beta", "uniform", "triangular"] = Field(
        description="Distribution family: normal, lognormal, beta, uniform or triangular.")
    mean: float | None = Field(None, description="normal: mean.")
    sd: float | None = Field(None, gt=0, description="normal: standard deviation.")
    median: float | None = Field(None, gt=0, description="lognormal: median.")
    sigma: float | None = Field(None, gt=0, description="lognormal: sigma of the log.")
    a: float | None = Field(None, gt=0, description="beta: first shape.")
    b: float | None = Field(None, gt=0, description="beta: second shape.")
    low: float | None = Field(None, description="uniform, triangular: lower end; beta: lower end (default 0).")
    mode: float | None = Field(None, description="triangular: peak.")
    high: float | None = Field(None, description="uniform, triangular: upper end; beta: upper end (default 1).")
    name: str | None = Field(None, description="Draw key: parameters with the same name share their draw "
                                               "(the same quantile) in every scenario; default: the parameter's path.")
    source: str = Field("assumption", description="Where the prior comes from, or 'assumption'.")

    @model_validator(mode="after")
    def _keys(self) -> "Distribution":
        wanted = DISTRIBUTION_KEYS[self.dist]
        required = [k for k in wanted if not k.endswith("?")]
        allowed = {k.rstrip("?") for k in wanted}
        missing = [k for k in required if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.dist} distribution needs '{missing[0]}' (keys: {', '.join(required)})")
        extra = [k for k in ("mean", "sd", "median", "sigma", "a", "b", "low", "mode", "high")
                 if k not in allowed and getattr(self, k) is not None]
        if extra:
            raise ValueError(f"'{extra[0]}' is not a key of a {self.dist} distribution (keys: {', '.join(sorted(allowed))})")
        low, high = self._range()
        if self.dist in ("uniform", "triangular", "beta") and not low < high:
            raise ValueError(f"{self.dist}: low must be below high")
        if self.dist == "triangular" and not low <= self.mode <= high:
            raise ValueError("triangular: mode must lie between low and high")
        return self

    def _range(self) -> tuple[float, float]:
        low = 0.0 if self.low is None else self.low
        high = 1.0 if self.high is None else self.high
        return low, high

    def frozen(self):
        """The ``scipy.stats`` frozen distribution."""
        from scipy import stats

        low, high = self._range()
        if self.dist == "normal":
            return stats.norm(self.mean, self.sd)
        if self.dist == "lognormal":
            return stats.lognorm(s=self.sigma, scale=self.median)
        if self.dist == "beta":
            return stats.beta(self.a, self.b, loc=low, scale=high - low)
        if self.dist == "uniform":
            return stats.uniform(low, high - low)
        return stats.triang((self.mode - low) / (high - low), loc=low, scale=high - low)

    def value(self, u: float) -> float:
        """The quantile at ``u``: the draw for a uniform number ``u``.

        ``u`` is kept within [10⁻⁹, 1 − 10⁻⁹]: a draw never comes from the outer 10⁻⁹ of either
        tail (a normal prior's ±6 sd), so checking a prior's bounds at those quantiles covers
        every draw, and an unbounded prior never yields ±infinity.
        """
        return float(self.frozen().ppf(min(max(u, TAIL), 1.0 - TAIL)))

    def describe(self) -> str:
        """e.g. ``normal(mean 0.4, sd 0.2)``."""
        keys = [k.rstrip("?") for k in DISTRIBUTION_KEYS[self.dist]]
        return f"{self.dist}(" + ", ".join(f"{k} {getattr(self, k):g}" for k in keys if getattr(self, k) is not None) + ")"


def _parse(value: Any) -> Any:
    """A table becomes a :class:`Distribution`, with its first problem as one line."""
    if isinstance(value, Mapping):
        try:
            return Distribution.model_validate(dict(value))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                message = "unknown key of a distribution"
            raise ValueError(f"{where + ': ' if where else ''}{message}") from None
    return value


def _within(low: float | None, high: float | None, high_open: bool = False):
    def check(value: float | Distribution) -> float | Distribution:
        if isinstance(value, Distribution):
            a, b = value.value(0.0), value.value(1.0)  # the range of every draw (see Distribution.value)
            if (low is not None and a < low) or (high is not None and b > high):
                bounds = f"[{'-inf' if low is None else low:g}, {'inf' if high is None else high:g}" + (")" if high_open else "]")
                raise ValueError(f"{value.describe()} reaches outside {bounds}: use a distribution inside the bounds "
                                 "(e.g. beta for a probability)")
            return value
        if (low is not None and value < low) or (high is not None and (value >= high if high_open else value > high)):
            bounds = f"[{'-inf' if low is None else low:g}, {'inf' if high is None else high:g}" + (")" if high_open else "]")
            raise ValueError(f"must be in {bounds}, got {value:g}")
        return value
    return check


def bounded(low: float | None = None, high: float | None = None, high_open: bool = False):
    """A number or a :class:`Distribution`, both checked against ``[low, high]``."""
    return Annotated[float | Distribution, BeforeValidator(_parse), AfterValidator(_within(low, high, high_open))]


#: An unbounded number or distribution (log-odds, elasticities, health shifts).
UncertainFloat = bounded()


class UncertainParameter:
    """One distribution in a scenario: its draw key, path and distribution."""

    __slots__ = ("key", "path", "distribution")

    def __init__(self, key: str, path: tuple, distribution: Distribution):
        self.key, self.path, self.distribution = key, path, distribution

    @property
    def dotted(self) -> str:
        """The path as a dotted key: ``strategy.plays[1].effect.renewal_logodds``."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (("." if text else "") + part)
        return text

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"UncertainParameter({self.key!r}, {self.dotted!r}, {self.distribution.describe()})"


def _walk(node: Any, path: tuple) -> Iterator[tuple[tuple, Distribution]]:
    if isinstance(node, Distribution):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), path + (name,))
    elif isinstance(node, tuple):
        for i, item in enumerate(node):
            yield from _walk(item, path + (i,))


def uncertain_parameters(scenario: BaseModel) -> list[UncertainParameter]:
    """Every distribution in a scenario, in schema order, with its draw key."""
    out = []
    for path, dist in _walk(scenario, ()):
        p = UncertainParameter("", path, dist)
        p.key = dist.name or p.dotted
        out.append(p)
    return out


def with_values(scenario: BaseModel, values: Mapping[tuple, float]) -> BaseModel:
    """The scenario with the parameter at each path (as from :func:`uncertain_parameters`) set to a number."""
    if any(math.isnan(v) for v in values.values()):
        raise ValueError("a drawn parameter is NaN")
    data = scenario.model_dump(mode="json")
    for path, value in values.items():
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return type(scenario).model_validate(data)


def at_means(scenario: BaseModel) -> BaseModel:
    """The scenario with every distribution replaced by its mean: the point-effect version of it
    (to separate what common random numbers buy from the spread the priors add)."""
    params = uncertain_parameters(scenario)
    if not params:
        return scenario
    return with_values(scenario, {p.path: float(p.distribution.frozen().mean()) for p in params})
