"""Parameter sweeps: designs, resumable execution on any executor, sensitivity and scenario discovery.

``csim sweep`` and notebooks use :func:`build_sweep` (a validated definition),
:func:`run_sweep` (compute the missing tasks into a directory) and
:func:`csim.sweep.analysis.analyze` (tables, indices, figures and report from that directory).
"""

from csim.sweep.execute import run_sweep
from csim.sweep.spec import Parameter, Sweep, build_sweep

__all__ = ["Parameter", "Sweep", "build_sweep", "run_sweep"]
