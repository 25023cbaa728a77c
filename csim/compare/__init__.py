"""Compare customer-success strategies side by side on common random numbers.

:func:`compare_scenarios` runs every scenario on the same replication seeds and writes
``comparison.json`` (means, paired differences, what common random numbers bought),
survival comparisons, figures and ``report.md``; ``csim compare`` is its command line.

Modules: :mod:`~csim.compare.run` (simulate on shared seeds), :mod:`~csim.compare.paired`
(paired differences, CS ROI), :mod:`~csim.compare.survival` (Kaplan–Meier, log-rank, Cox via
:mod:`csim.forecast`), :mod:`~csim.compare.cohort` (starting-cohort revenue),
:mod:`~csim.compare.figures`, :mod:`~csim.compare.report`, :mod:`~csim.compare.outputs`.
"""

from csim.compare.outputs import compare_scenarios
from csim.compare.paired import COMPARED, metric_values, paired_statistics
from csim.compare.run import ScenarioRun, run_scenarios

__all__ = ["COMPARED", "ScenarioRun", "compare_scenarios", "metric_values", "paired_statistics", "run_scenarios"]
