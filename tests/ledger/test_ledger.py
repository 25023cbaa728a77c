"""Ledgers: the simulated history exported as one, and a company's own read into the run's metric code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csim.cli import main
from csim.ledger import ledger_records, ledger_table, parse_column_map, read_ledger
from csim.metrics import check_mrr_bridge, monthly
from tests.bad_input import assert_bad_input

DATA = Path(__file__).resolve().parents[1] / "data"
HAND = """account,subscription_id,start_date,end_date,mrr,segment
c1,s1,2024-01-15,2024-04-15,100,smb
c1,s1,2024-04-15,,150,smb
c2,s2,2024-02-01,2024-03-10,50,mid
c2,s3,2024-05-01,,60,mid
c3,s4,2024-01-01,2024-06-01,200,mid
c3,s5,2024-03-01,,20,mid
"""
MAP = "customer_id=account,monthly_amount=mrr"


def _hand_history(tmp_path, as_of):
    """The hand-made ledger's month-end table as of ``as_of`` (bridge checked): rows of MRR, the five
    movements and customers; and what reading it counted."""
    path = tmp_path / "ledger.csv"
    path.write_text(HAND)
    ledger, read = read_ledger(path, parse_column_map(MAP))
    table = monthly(ledger_records(ledger, as_of=as_of))
    check_mrr_bridge(table)
    columns = ["mrr", "new", "expansion", "contraction", "churn", "reactivation", "customers"]
    return table[columns].to_numpy().tolist(), read


def test_a_hand_made_ledger_gives_the_known_history(tmp_path):
    """Calendar months, per-customer MRR summed over its subscriptions, each change classified."""
    got, read = _hand_history(tmp_path, "2024-06-30")
    assert got == [[300, 300, 0, 0, 0, 0, 2], [350, 50, 0, 0, 0, 0, 3], [320, 0, 20, 0, 50, 0, 2],
                   [370, 0, 50, 0, 0, 0, 2], [430, 0, 0, 0, 0, 60, 3], [230, 0, 0, 200, 0, 0, 3]]
    assert read == {"rows": 6, "skipped": 0, "first_skipped": None}


def test_nothing_after_a_mid_month_as_of_date_is_read(tmp_path):
    # c1 moves from 100 to 150 on 2024-04-15: with the history as of 2024-04-10 April is a partial
    # month whose figures are those of the 10th (no expansion yet).
    got, _ = _hand_history(tmp_path, "2024-04-10")
    assert got == [[300, 300, 0, 0, 0, 0, 2], [350, 50, 0, 0, 0, 0, 3], [320, 0, 20, 0, 50, 0, 2],
                   [320, 0, 0, 0, 0, 0, 2]]


def test_the_messy_ledger_with_bad_rows_skipped_and_counted(tmp_path, capsys):
    out = tmp_path / "history"
    argv = ["ledger", "metrics", str(DATA / "messy_ledger.csv"), "--columns",
            "customer_id=account,subscription_id=sub,start_date=begins,end_date=ends,monthly_amount=mrr,currency=cur",
            "--as-of", "2024-12-31", "--out", str(out)]
    # Without --skip-bad-rows the first bad row stops it, named.
    assert_bad_input(capsys, argv, out, ["messy_ledger.csv", "column 'begins' row 8", "not a date",
                                         "--skip-bad-rows"])
    assert main(argv + ["--skip-bad-rows"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["rows_skipped"] == 2 and summary["provenance"]["rows"] == 9
    table = pd.read_csv(out / "monthly.csv")
    check_mrr_bridge(table)
    # A-1 upgrades in July (plan change mid-term: expansion 60); A-2 leaves in April and returns in
    # June (reactivation 300); A-3 downgrades in May (30) and leaves in September (60).
    by_month = table.set_index("month")
    assert by_month.loc[6, "expansion"] == 60 and by_month.loc[5, "reactivation"] == 300
    assert by_month.loc[3, "churn"] == 300 and by_month.loc[4, "contraction"] == 30 and by_month.loc[8, "churn"] == 60
    assert by_month.loc[11, "mrr"] == 180 + 300 + 1000
    by_segment = pd.read_csv(out / "monthly_by_segment.csv")
    last = by_segment[by_segment["month"] == 11].set_index("segment")["mrr"].to_dict()
    assert last == {"enterprise": 1000, "mid": 300, "smb": 180}
    for _, part in by_segment.groupby("segment"):
        check_mrr_bridge(part)
    assert summary["metrics"]["cac"]["mean"] is None  # not in a ledger: null, with its reason
    assert "not in a ledger" in summary["nan_reasons"]["cac"][0]


@pytest.mark.parametrize(("rows", "names"), [
    ("c1,s1,2024-01-01,,-5\n", ["column 'mrr' row 1", "≥ 0"]),
    ("c1,s1,2024-01-01,,ten\n", ["column 'mrr' row 1"]),
    ("c1,s1,2024-03-01,2024-02-01,5\n", ["column 'end_date' row 1", "before the start"]),
    ("c1,s1,01/02/2024x,,5\n", ["column 'start_date' row 1", "not a date"]),
    ("c1,s1,2024-01-01,,5\nc1,s1,2024-02-01,,5\n", ["subscription s1", "overlapping", "rows 1 and 2"]),
    (",s1,2024-01-01,,5\n", ["empty customer id", "row 1"]),
], ids=["negative", "not-a-number", "end-before-start", "bad-date", "overlap", "no-customer"])
def test_bad_ledgers(capsys, tmp_path, rows, names):
    path = tmp_path / "bad.csv"
    path.write_text("account,subscription_id,start_date,end_date,mrr\n" + rows)
    assert_bad_input(capsys, ["ledger", "metrics", path, "--columns", MAP, "--out", tmp_path / "o"], tmp_path / "o",
                     [str(path), *names])


def test_bad_ledger_options_and_shapes(capsys, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(HAND)
    out = tmp_path / "o"
    assert_bad_input(capsys, ["ledger", "metrics", path, "--out", out], out, ["column 'customer_id'", "missing",
                                                                              "--columns customer_id=YOURS"])
    assert_bad_input(capsys, ["ledger", "metrics", path, "--columns", "owner=account", "--out", out], out,
                     ["--columns", "owner", "not a ledger column"])
    assert_bad_input(capsys, ["ledger", "metrics", path, "--columns", MAP, "--as-of", "June", "--out", out], out,
                     ["--as-of", "June"])
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("account,start_date,end_date,mrr,currency\nc1,2024-01-01,,5,EUR\nc2,2024-01-01,,5,USD\n")
    assert_bad_input(capsys, ["ledger", "metrics", mixed, "--columns", MAP, "--out", out], out,
                     ["column 'currency'", "several currencies", "EUR, USD"])


def test_a_simulated_history_read_back_from_its_ledger(tmp_path):
    """csim run's ledger.csv, read as a company's ledger, gives back the run's ending book."""
    from tests.engine.scenarios import scenario

    s = scenario(horizon_months=24)
    from csim.engine.runner import simulate

    records = simulate(s, 1, 3, executor="serial", progress=False)
    exported = ledger_table(records)
    path = tmp_path / "ledger.csv"
    exported.drop(columns=["replication", "start_day", "end_day"]).to_csv(path, index=False)
    ledger, read = read_ledger(path)
    end = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(np.floor(records.horizon_days)) - 1)
    back = monthly(ledger_records(ledger, as_of=end))
    check_mrr_bridge(back)
    ran = monthly(records)
    assert read["skipped"] == 0
    assert back["mrr"].iloc[-1] == pytest.approx(ran["mrr"].iloc[-1], rel=0.01)
    assert back["customers"].iloc[-1] == pytest.approx(ran["customers"].iloc[-1], abs=2)
