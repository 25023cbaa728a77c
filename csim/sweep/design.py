"""Experimental designs in the unit hypercube: grid, Latin hypercube, Sobol (Saltelli) and Morris.

A design is a matrix ``U`` of shape (points, d) with entries in [0, 1]; each swept parameter
maps its column to values (:meth:`csim.sweep.spec.Parameter.values_at`). Sampling is done by
the libraries made for it — :class:`scipy.stats.qmc.LatinHypercube` and SALib's Saltelli/Sobol'
and Morris samplers — so that the matching SALib analyses apply to the outputs unchanged.

Every design is seeded from the sweep's root seed through its own ``SeedSequence`` stream
(:data:`csim.engine.streams.SWEEP_DESIGN`), so the points never depend on anything else.
"""

from __future__ import annotations

import numpy as np

from csim.engine.streams import SWEEP_DESIGN, stream

__all__ = ["DESIGNS", "MORRIS_LEVELS", "unit_design", "salib_problem"]

DESIGNS = ("grid", "lhs", "sobol", "morris")
#: Grid levels of a Morris design (SALib's default ``num_levels``).
MORRIS_LEVELS = 4


def salib_problem(names: list[str]) -> dict:
    """SALib's problem definition for ``names`` on the unit hypercube."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def _design_seed(seed: int) -> int:
    # SALib takes an integer seed; draw it from the design's own stream.
    return int(stream(seed, *SWEEP_DESIGN).integers(0, 2**31 - 1))


def unit_design(design: str, names: list[str], points: int, seed: int) -> np.ndarray:
    """The design matrix for a sampled design (``lhs``, ``sobol`` or ``morris``).

    Parameters
    ----------
    design:
        ``lhs``: ``points`` rows, one per stratum of each of the ``points`` equal strata of
        every column. ``sobol``: Saltelli's scheme for first- and total-order Sobol' indices,
        ``points`` × (d + 2) rows (``points`` a power of two). ``morris``: ``points``
        trajectories of d + 1 rows on a 4-level grid.
    names:
        The swept parameters, one per column.
    points:
        Sample size as above.
    seed:
        The sweep's root seed.
    """
    d = len(names)
    if design == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d, seed=stream(seed, *SWEEP_DESIGN)).random(points)
    if design == "sobol":
        from SALib.sample import sobol

        return sobol.sample(salib_problem(names), points, calc_second_order=False, seed=_design_seed(seed))
    if design == "morris":
        from SALib.sample import morris

        return morris.sample(salib_problem(names), points, num_levels=MORRIS_LEVELS, seed=_design_seed(seed))
    raise ValueError(f"not a sampled design: {design!r}")
