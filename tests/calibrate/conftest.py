"""The round trip shared by the calibration tests: a known world → its ledger → ``csim calibrate``.

The known world is the baseline (three segments: SMB on monthly plans, mid-market and enterprise on
12-month terms) started empty for 36 months with 100 marketing leads a month (about 590 accounts),
its priors fixed at their means so that "the truth" is one number per key (a prior is drawn once
per replication, so a history would otherwise carry one draw the calibration cannot see), and
mid-market given as many leads as SMB so that its 12-month renewals are numerous enough to fit.
One replication's ledger is the company's history; the calibration's base is the same world, so
what a ledger cannot tell is right and what it can tell must be recovered.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The known world, as overrides of scenarios/baseline.toml.
TRUTH = ["initial_book.customers=0", "horizon_months=36", "acquisition.leads_per_month=100",
         "segments.smb.lead_share=0.45", "segments.mid.lead_share=0.45", "segments.enterprise.lead_share=0.1",
         "health.churn_effect=4.0", "health.expansion_effect=2.0", "health.contraction_effect=2.0",
         "health.referral_effect=4.0", "onboarding.first_value_prob=0.65", "onboarding.value_gain=0.2",
         "onboarding.miss_penalty=0.15", "strategy.plays.0.effect.health=0.02"]
#: Replications of each simulation of the history in the calibration.
CHECK_REPS = 10


@pytest.fixture(scope="package")
def round_trip(tmp_path_factory):
    """Simulate the truth, export replication 0 as a ledger, calibrate it through the command line.

    Returns a dict: the truth scenario, the ledger path, the written scenario path and text, the
    calibration JSON, the report folder and the console output.
    """
    from csim.cli import main
    from csim.engine.runner import simulate
    from csim.ledger import ledger_table
    from csim.provenance import write_json
    from csim.scenario import load_scenario

    root = tmp_path_factory.mktemp("round_trip")
    truth = load_scenario(ROOT / "scenarios" / "baseline.toml", TRUTH)
    base = root / "truth.json"  # a scenario file: the run's scenario.json is one too
    write_json(base, truth.model_dump(mode="json", exclude_none=True))
    records = simulate(truth, [0], executor="serial", progress=False)
    ledger = root / "ledger.csv"
    # A company's export: no replication column and no exact simulated days.
    ledger_table(records).drop(columns=["replication", "start_day", "end_day"]).to_csv(ledger, index=False)
    out = root / "company.toml"
    import contextlib
    import io

    console = io.StringIO()
    with contextlib.redirect_stdout(console):
        status = main(["calibrate", str(ledger), "--out", str(out), "--base", str(base), "--check-reps",
                       str(CHECK_REPS), "--report", str(root / "report")])
    assert status == 0
    return {"truth": truth, "records": records, "ledger": ledger, "out": out, "text": out.read_text(),
            "json": json.loads((root / "company.calibration.json").read_text()), "report": root / "report",
            "console": console.getvalue(), "base": base, "ledger_frame": pd.read_csv(ledger)}
