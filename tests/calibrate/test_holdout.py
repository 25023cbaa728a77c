"""The holdout check: fit on the first 24 months of the round-trip ledger, check on the last 12.

The round-trip world (tests/calibrate/conftest.py) runs 36 months from 2025-01-01; calibrating
with ``--holdout-from 2027-01-01`` fits on 2025–2026 and simulates 2027 from the book paying on
2027-01-01. What is tested:

* the fit saw nothing after the date (its history is 24 months, its book the customers paying then);
* the observed holdout figures are those of the ledger itself for 2027: from the full ledger's
  month-end table (:mod:`csim.metrics`, months 24–35) and from its rows, computed here without the
  rebasing the calibration does;
* the interval rule: under a correct calibration each observed figure falls outside its 95 %
  simulation interval with probability about 0.05 from the simulation's spread; the holdout adds
  the error of values fitted on 24 months, which the interval carries only for the growth of new
  customers (each replication draws its own from the fit's standard error) — if that error is as
  large as the spread, a figure falls outside with probability 2·Φ(−1.96/√2) ≈ 0.17. Of the six
  headline figures at most two may fall outside: three or more happen with probability ≈ 0.06 at
  0.17 (binomial, independent figures) and 0.002 at 0.05.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

from tests.calibrate.conftest import CHECK_REPS

HOLDOUT_FROM = "2027-01-01"
HEADLINE = {"ending_customers", "ending_mrr", "logo_churn_annual", "new_customers", "grr_holdout", "nrr_holdout"}


@pytest.fixture(scope="module")
def holdout(round_trip, tmp_path_factory):
    from csim.cli import main

    root = tmp_path_factory.mktemp("holdout")
    out = root / "fit24.toml"
    console = io.StringIO()
    with contextlib.redirect_stdout(console):
        status = main(["calibrate", str(round_trip["ledger"]), "--out", str(out), "--base", str(round_trip["base"]),
                       "--check-reps", str(CHECK_REPS), "--holdout-from", HOLDOUT_FROM, "--report",
                       str(root / "report")])
    assert status == 0
    return {"json": json.loads((root / "fit24.calibration.json").read_text()), "console": console.getvalue(),
            "check": pd.read_csv(root / "report" / "check.csv"), "report": (root / "report" / "report.md").read_text(),
            "out": out}


def test_the_fit_sees_only_the_history_before_the_date(holdout, round_trip):
    provenance = holdout["json"]["input"]
    assert provenance["as_of"] == HOLDOUT_FROM and provenance["months"] == 24
    assert provenance["holdout_from"] == HOLDOUT_FROM and provenance["holdout_months"] == 12
    ledger = round_trip["ledger_frame"]
    start, end = pd.to_datetime(ledger["start_date"]), pd.to_datetime(ledger["end_date"])
    paying = (start < HOLDOUT_FROM) & (end.isna() | (end >= HOLDOUT_FROM))
    expected = ledger[paying].groupby("customer_id")["monthly_amount"].sum()
    book = pd.read_csv(holdout["out"].with_name("fit24.book.csv"))
    assert len(book) == len(expected) == holdout["json"]["estimates"]["initial_book.customers"]["value"]
    assert abs(book["mrr"].sum() - expected.sum()) < 0.01 * len(book)


def test_observed_holdout_figures_are_the_ledgers_own(holdout, round_trip):
    """Customers and MRR at the end, new customers and logo churn of 2027 from the full ledger's
    monthly table (months 24–35 of its history), and the book's GRR/NRR from its rows."""
    from csim.ledger import ledger_records, read_ledger
    from csim.metrics import monthly
    from csim.metrics.retention import annualise

    check = holdout["check"]
    held = check[check["check"] == "holdout"].set_index("metric")
    ledger, _ = read_ledger(round_trip["ledger"])
    table = monthly(ledger_records(ledger))
    year = table[table["month"] >= 24]
    assert held.loc["ending_customers", "observed"] == year["customers"].iloc[-1]
    assert held.loc["ending_mrr", "observed"] == pytest.approx(year["mrr"].iloc[-1], abs=0.01)
    churn = year["logos_churned"].sum() / year["customers_start"].sum()
    assert held.loc["logo_churn_annual", "observed"] == pytest.approx(float(annualise(churn)), rel=1e-12)
    # New customers: those whose first period starts in 2027 (as csim.metrics.summary counts them:
    # one that starts and leaves within a month counts too, unlike the month-end table's count).
    frame = round_trip["ledger_frame"]
    start, end = pd.to_datetime(frame["start_date"]), pd.to_datetime(frame["end_date"])
    first = start.groupby(frame["customer_id"]).min()
    assert held.loc["new_customers", "observed"] == ((first >= HOLDOUT_FROM) & (first < "2028-01-01")).sum()
    # The book's NRR: MRR at the end of those paying on 2027-01-01 over their MRR then, from the rows.

    def mrr_at(day):
        running = (start <= day) & (end.isna() | (end > day))
        return frame[running].groupby("customer_id")["monthly_amount"].sum()

    then = mrr_at(pd.Timestamp(HOLDOUT_FROM) - pd.Timedelta(days=1))
    now = mrr_at(pd.Timestamp("2027-12-31")).reindex(then.index, fill_value=0.0)
    assert held.loc["nrr_holdout", "observed"] == pytest.approx(now.sum() / then.sum(), abs=1e-9)
    assert held.loc["grr_holdout", "observed"] == pytest.approx(np.minimum(now, then).sum() / then.sum(), abs=1e-9)


def test_the_holdout_flags_at_most_what_the_interval_rule_allows(holdout):
    check = holdout["check"]
    assert set(check["check"]) == {"history", "holdout"}
    held = check[(check["check"] == "holdout") & check["headline"]]
    assert set(held["metric"]) == HEADLINE
    assert int(held["outside"].sum()) <= 2, held[["label", "observed", "low", "high"]]
    # Each segment's logo churn is there too, not counted as headline.
    segments = check[(check["check"] == "holdout") & (check["segment"].fillna("") != "")]
    assert set(segments["segment"]) == {"enterprise", "mid", "smb"} and not segments["headline"].any()
    assert "holdout check: the calibrated scenario run" in holdout["console"]
    assert "## Holdout check" in holdout["report"] and "## Self-check" in holdout["report"]
