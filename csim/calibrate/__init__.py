"""Calibration: a scenario fitted to a company's own history, with the source of every value.

Modules, one job each:

* :mod:`csim.calibrate.inputs` — read a ledger, a customer table or survivor counts;
* :mod:`csim.calibrate.fit` — the estimators (term, churn, MRR, movements, new customers, reactivation);
* :mod:`csim.calibrate.measure` — the same measurements on observed and simulated histories;
* :mod:`csim.calibrate.adjust` — the simulation-based adjustment for what the engine adds;
* :mod:`csim.calibrate.calibration` — the steps in order (:func:`calibrate`);
* :mod:`csim.calibrate.check` — the self-check against the observed history;
* :mod:`csim.calibrate.scenario_file` — the scenario TOML with a source comment per value;
* :mod:`csim.calibrate.report` — the console summary, the file header and report.md;
* :mod:`csim.calibrate.write` — the files a calibration writes (:func:`write_calibration`).

See ``docs/calibration.md``.
"""

from csim.calibrate.calibration import Calibration, calibrate
from csim.calibrate.inputs import Observed, read_cohorts, read_customer_table, read_ledger_input
from csim.calibrate.write import write_calibration

__all__ = ["Calibration", "Observed", "calibrate", "read_cohorts", "read_customer_table", "read_ledger_input",
           "write_calibration"]
