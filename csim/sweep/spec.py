"""Sweep definitions: which scenario keys vary, over what, on which design.

A swept parameter is a dotted scenario path with levels or a range, typed and checked by the
scenario schema before anything runs:

- ``cs_team.headcount=2,4,8`` — levels (a grid takes them all; a sampled design picks among them);
- ``segments.smb.annual_churn=0.1:0.4`` — a range, sampled by the design (an integer key such as
  ``cs_team.headcount=1:12`` takes the whole numbers of the range, each equally likely);
- ``strategy=renewal_focus,expansion_focus`` — a whole section taken from scenario files: the
  levels of a key that is a section (``strategy``, ``cs_team``, ``health`` …) are scenario files
  (``NAME``, ``NAME.toml``, looked up as given and next to the base scenario) whose section
  replaces the base's;
- one level (``horizon_months=24``) is not swept: it is set in every point, like ``--set``.

The definition (:meth:`Sweep.definition`) is what a result directory is bound to: a different
definition pointed at an existing directory is refused, naming what differs.
"""

from __future__ import annotations

import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydantic import BaseModel

from csim.errors import InputError
from csim.scenario.load import (_parse_value, leaf_annotation, read_scenario_dict, set_path,
                                validate_scenario)
from csim.scenario.model import Scenario
from csim.sweep.design import DESIGNS, unit_design

__all__ = ["Parameter", "Sweep", "parse_parameter", "build_sweep", "DEFAULT_POINTS"]

#: Points of a sampled design when ``--points`` is not given (a Sobol' design: base sample size).
DEFAULT_POINTS = {"lhs": 20, "sobol": 16, "morris": 10, "grid": 3}
SIDES = ("base", "versus")


def _numeric_kind(annotation: Any) -> str | None:
    """``"int"``, ``"float"`` or None for the scenario field type ``annotation``."""
    found: set[str] = set()

    def walk(a: Any) -> None:
        if a is bool:
            return
        if a is int:
            found.add("int")
        elif a is float:
            found.add("float")
        origin = typing.get_origin(a)
        if origin in (typing.Union, types.UnionType, typing.Annotated):
            for arg in typing.get_args(a):
                walk(arg)

    walk(annotation)
    return "int" if found == {"int"} else ("float" if found else None)


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@dataclass(frozen=True)
class Parameter:
    """One swept scenario key.

    Attributes
    ----------
    path: dotted scenario path (``segments.smb.annual_churn``).
    low, high: the range of a ranged parameter (None for levels).
    levels: the levels of a levelled parameter (numbers, or section names).
    integer: the key takes whole numbers (a range then samples the integers low..high).
    sections: for a section parameter, level name -> the raw section taken from that file.
    """

    path: str
    low: float | None = None
    high: float | None = None
    levels: tuple = ()
    integer: bool = False
    sections: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_range(self) -> bool:
        return self.low is not None

    @property
    def categorical(self) -> bool:
        """Levels without an order (section files or text)."""
        return not self.is_range and not all(isinstance(v, (int, float)) for v in self.levels)

    def values_at(self, u: np.ndarray) -> list:
        """Map design coordinates in [0, 1] to values: a range linearly (integers in equal-width
        cells), levels by equal-width cells in their given order."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.is_range and not self.integer:
            return [float(v) for v in self.low + u * (self.high - self.low)]
        if self.is_range:
            lo, hi = int(self.low), int(self.high)
            return [int(v) for v in np.minimum(lo + np.floor(u * (hi - lo + 1)), hi)]
        k = len(self.levels)
        return [self.levels[int(i)] for i in np.minimum(np.floor(u * k), k - 1)]

    def grid(self, n: int) -> tuple:
        """The levels a grid design takes: the levels, or ``n`` evenly spaced values of a range
        (every whole number when an integer range has no more than ``n``)."""
        if not self.is_range:
            return self.levels
        if self.integer:
            lo, hi = int(self.low), int(self.high)
            if hi - lo + 1 <= n:
                return tuple(range(lo, hi + 1))
            return tuple(dict.fromkeys(int(round(v)) for v in np.linspace(lo, hi, n)))
        return tuple(float(v) for v in np.linspace(self.low, self.high, n))

    def describe(self) -> dict:
        """JSON form, part of the sweep definition."""
        if self.is_range:
            return {"path": self.path, "range": [self.low, self.high], "integer": self.integer}
        out: dict = {"path": self.path, "levels": list(self.levels)}
        if self.sections:
            out["sections_sha256"] = {k: hashlib.sha256(json.dumps(v, sort_keys=True, default=str).encode()).hexdigest()[:16]
                                      for k, v in self.sections.items()}
        return out


def _find_section_file(name: str, base_dir: Path) -> Path | None:
    for candidate in (Path(name), Path(name + ".toml"), base_dir / name, base_dir / (name + ".toml")):
        if candidate.is_file():
            return candidate
    return None


def parse_parameter(text: str, base: dict, source: str | Path, base_dir: Path) -> tuple[Parameter | None, tuple[str, Any] | None]:
    """Parse ``PATH=LEVELS`` into a swept :class:`Parameter`, or a fixed ``(path, value)`` for one level.

    Raises :class:`InputError` naming ``--param PATH`` for an unknown path, an empty range, a
    range on a non-numeric key, or a level the schema rejects.
    """
    if "=" not in text:
        raise InputError(source, f"--param {text}", "expected PATH=LEVELS (e.g. cs_team.headcount=2,4,8 or segments.smb.annual_churn=0.1:0.4)")
    path, _, spec = (part.strip() for part in text.partition("="))
    where = f"--param {path}"
    annotation = leaf_annotation(path)
    if annotation is None:
        # Let the scenario's own path walker say which key is unknown.
        set_path(base, path, 0, source, label="--param")
        raise InputError(source, where, "unknown scenario key")
    if not spec:
        raise InputError(source, where, "no levels given")
    kind = _numeric_kind(annotation)
    if _is_section(annotation):
        names = [s.strip() for s in spec.split(",") if s.strip()]
        sections = {}
        for name in names:
            found = _find_section_file(name, base_dir)
            if found is None:
                raise InputError(source, where, f"no scenario file {name!r} (looked for {name}, {name}.toml and next to the base scenario)")
            section_data = read_scenario_dict(found)
            sections[name] = section_data.get(path.split(".")[-1], {})
        levels = tuple(dict.fromkeys(names))
        param = Parameter(path, levels=levels, sections=sections)
        for name in levels:
            _check(base, path, sections[name], source, where, f"the {path} of {name!r}")
        return (param, None) if len(levels) > 1 else (None, (path, sections[levels[0]]))
    parts = spec.split(":")
    if len(parts) == 2 and all(p.strip() for p in parts):
        if kind is None:
            raise InputError(source, where, f"a range needs a numeric key; {path} is not a number")
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise InputError(source, where, f"range {spec!r} is not LOW:HIGH with two numbers") from None
        if not (math.isfinite(low) and math.isfinite(high)):
            raise InputError(source, where, f"range {spec!r} must be finite")
        if high <= low:
            raise InputError(source, where, f"empty range {spec!r}: HIGH must be above LOW")
        integer = kind == "int"
        if integer and not (low.is_integer() and high.is_integer()):
            raise InputError(source, where, f"{path} takes whole numbers; range {spec!r} has a fraction")
        for value in (low, high):
            _check(base, path, int(value) if integer else value, source, where, f"range end {value:g}")
        return Parameter(path, low=low, high=high, integer=integer), None
    if ":" in spec and kind is not None:
        raise InputError(source, where, f"range {spec!r} is not LOW:HIGH")
    levels = tuple(dict.fromkeys(_parse_value(s.strip()) for s in spec.split(",") if s.strip()))
    if not levels:
        raise InputError(source, where, "no levels given")
    for level in levels:
        if kind is not None and (isinstance(level, bool) or not isinstance(level, (int, float))):
            raise InputError(source, where, f"level {level!r} is not a number")
        if kind == "int" and isinstance(level, float) and not level.is_integer():
            raise InputError(source, where, f"level {level!r} is not a whole number")
        _check(base, path, level, source, where, f"level {level!r}")
    if kind == "int":
        levels = tuple(int(v) for v in levels)
    param = Parameter(path, levels=levels, integer=kind == "int")
    return (param, None) if len(levels) > 1 else (None, (path, levels[0]))


def _check(base: dict, path: str, value: Any, source: str | Path, where: str, what: str) -> None:
    """Validate the base scenario with ``path`` set to ``value``; a rejection names the parameter."""
    data = set_path(base, path, value, source, label="--param")
    try:
        validate_scenario(data, source)
    except InputError as exc:
        raise InputError(source, where, f"{what}: {exc.where + ': ' if exc.where else ''}{exc.problem}") from None


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the base (and versus) scenario, the parameters and the design.

    ``points`` holds every point's parameter values (path -> value), in point order.
    """

    base: Scenario
    versus: Scenario | None
    sources: tuple[str, str | None]
    parameters: tuple[Parameter, ...]
    fixed: tuple[tuple[str, Any], ...]
    design: str
    size: int
    reps: int
    seed: int
    points: tuple[dict, ...]
    _scenarios: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def names(self) -> list[str]:
        return [p.path for p in self.parameters]

    @property
    def sides(self) -> tuple[str, ...]:
        return SIDES if self.versus is not None else SIDES[:1]

    def tasks(self) -> list[tuple[int, str, int]]:
        """Every (point, side, replication), in the order results are tabulated."""
        return [(p, side, r) for p in range(len(self.points)) for side in self.sides for r in range(self.reps)]

    def scenario(self, point: int, side: str) -> Scenario:
        """The validated scenario of one point on one side (built and validated once, then kept)."""
        key = (point, side)
        if key not in self._scenarios:
            self._scenarios[key] = self._build(point, side)
        return self._scenarios[key]

    def _build(self, point: int, side: str) -> Scenario:
        scenario = self.base if side == "base" else self.versus
        data = scenario.model_dump(mode="json")
        source = self.sources[0] if side == "base" else self.sources[1]
        values = self.points[point]
        for param in self.parameters:
            value = values[param.path]
            data = set_path(data, param.path, param.sections[value] if param.sections else value, source, label="--param")
        try:
            return validate_scenario(data, source)
        except InputError as exc:
            at = ", ".join(f"{k}={v}" for k, v in values.items())
            raise InputError(source, f"point {point} ({at})", f"{exc.where}: {exc.problem}") from None

    def definition(self) -> dict:
        """What a result directory is bound to (JSON)."""
        return {
            "base": {"name": self.base.name, "source": self.sources[0], "sha256": self.base.content_hash()},
            "versus": None if self.versus is None else {"name": self.versus.name, "source": self.sources[1],
                                                        "sha256": self.versus.content_hash()},
            "parameters": [p.describe() for p in self.parameters],
            "fixed": {path: value for path, value in self.fixed},
            "design": self.design,
            "size": self.size,
            "reps": self.reps,
            "seed": self.seed,
            "n_points": len(self.points),
            "n_tasks": len(self.points) * len(self.sides) * self.reps,
        }


def _design_points(parameters: Sequence[Parameter], design: str, size: int, seed: int) -> list[dict]:
    if not parameters:
        return [{}]
    if design == "grid":
        import itertools

        combos = itertools.product(*(p.grid(size) for p in parameters))
        return [dict(zip((p.path for p in parameters), combo)) for combo in combos]
    u = unit_design(design, [p.path for p in parameters], size, seed)
    columns = [p.values_at(u[:, j]) for j, p in enumerate(parameters)]
    return [{p.path: columns[j][i] for j, p in enumerate(parameters)} for i in range(u.shape[0])]


def build_sweep(base_path: str | Path, params: Sequence[str], *, versus_path: str | Path | None = None,
                design: str | None = None, points: int | None = None, reps: int | None = None,
                seed: int | None = None) -> Sweep:
    """Read, type-check and expand a sweep; every point's scenario is validated before anything runs.

    ``design`` defaults to ``grid`` when every parameter has levels, else ``lhs``; ``points`` to
    :data:`DEFAULT_POINTS`; ``reps`` and ``seed`` to the base scenario's.
    """
    base_path = Path(base_path)
    base_data = read_scenario_dict(base_path)
    validate_scenario(base_data, base_path)
    versus_data = None
    if versus_path is not None:
        versus_data = read_scenario_dict(versus_path)
        validate_scenario(versus_data, versus_path)
    swept: list[Parameter] = []
    fixed: list[tuple[str, Any]] = []
    for text in params:
        param, constant = parse_parameter(text, base_data, base_path, base_path.parent)
        if versus_data is not None:
            parse_parameter(text, versus_data, versus_path, base_path.parent)
        path = param.path if param is not None else constant[0]
        if path in {p.path for p in swept} | {p for p, _ in fixed}:
            raise InputError(base_path, f"--param {path}", "given twice")
        if param is not None:
            swept.append(param)
        else:
            fixed.append(constant)
    if design is None:
        design = "lhs" if any(p.is_range for p in swept) else "grid"
    if design not in DESIGNS:
        raise InputError(base_path, "--design", f"must be one of {', '.join(DESIGNS)}, got {design!r}")
    if design in ("sobol", "morris") and not swept:
        raise InputError(base_path, "--design", f"a {design} design needs at least one swept parameter")
    size = DEFAULT_POINTS[design] if points is None else int(points)
    if size < 1:
        raise InputError(base_path, "--points", "must be at least 1")
    if design == "sobol" and size & (size - 1):
        raise InputError(base_path, "--points", f"a Sobol' design needs a power of two (e.g. {1 << size.bit_length() - 1} or {1 << size.bit_length()}), not {size}")
    if design == "grid" and any(p.is_range for p in swept) and size < 2:
        raise InputError(base_path, "--points", "a grid over a range needs at least 2 levels per range")

    def finish(data: dict, source: Path) -> Scenario:
        for path, value in fixed:
            data = set_path(data, path, value, source, label="--param")
        return validate_scenario(data, source)

    base = finish(base_data, base_path)
    versus = None if versus_data is None else finish(versus_data, Path(versus_path))
    reps = base.replications if reps is None else int(reps)
    seed = base.seed if seed is None else int(seed)
    if reps < 1:
        raise InputError(base_path, "--reps", "must be at least 1")
    if seed < 0:
        raise InputError(base_path, "--seed", "must be a non-negative integer")
    if versus is not None and versus.horizon_months != base.horizon_months:
        raise InputError(versus_path, "horizon_months", f"differs from the base's ({versus.horizon_months} vs "
                                                       f"{base.horizon_months}); fix one with --param horizon_months=N")
    sweep = Sweep(base=base, versus=versus, sources=(str(base_path), None if versus_path is None else str(versus_path)),
                  parameters=tuple(swept), fixed=tuple(fixed), design=design, size=size, reps=reps, seed=seed,
                  points=tuple(_design_points(swept, design, size, seed)))
    for point in range(len(sweep.points)):  # a combination can be invalid where each level alone is not
        for side in sweep.sides:
            sweep.scenario(point, side)
    return sweep
