"""``csim ledger metrics``: a company's subscription ledger as the history metrics of ``csim run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ledger", help="a subscription ledger (billing export) as history metrics",
        description="csim ledger metrics LEDGER --out DIR: read a billing export (one row per subscription period: "
                    "customer_id, start_date, end_date, monthly_amount; optional subscription_id, segment, plan, "
                    "channel, currency) and write the metrics csim run writes for a simulated history - "
                    "monthly.csv (MRR and the five movements, bridge exact; NRR, GRR, logo churn) and "
                    "monthly_by_segment.csv, cohort "
                    "retention tables, figures, summary.json, report.md and report.html - computed by the same code.")
    parser.add_argument("action", choices=("metrics",), help="what to do with the ledger (metrics: its history)")
    parser.add_argument("ledger", help="ledger file (CSV or Parquet)")
    parser.add_argument("--out", required=True,
                        help="output folder; its files are replaced together at the end, or not at all")
    add_ledger_options(parser)
    parser.set_defaults(handler=ledger_command)


def add_ledger_options(group) -> None:
    """``--as-of``, ``--columns`` and ``--skip-bad-rows``: how a ledger is read (csim ledger, csim calibrate)."""
    group.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                       help="end of the history (default: the latest date in the ledger); later rows are not read")
    group.add_argument("--columns", default=None, metavar="NAME=COLUMN,...",
                       help="the file's names for ledger columns, e.g. customer_id=account,monthly_amount=mrr")
    group.add_argument("--skip-bad-rows", action="store_true",
                       help="drop rows with an unreadable date or amount or an end before the start, and count "
                            "them in the output (default: stop at the first, naming it)")


def ledger_command(args: argparse.Namespace) -> int:
    import pandas as pd

    from csim.errors import InputError
    from csim.html_report import write_html_report
    from csim.io import atomic_write_csv, check_output_dir, staged_output
    from csim.ledger import ledger_records, mark_unknown, parse_column_map, read_ledger, segment_records
    from csim.metrics import check_mrr_bridge, cohort_retention, monthly, summary as summarise
    from csim.plots import save_run_figures
    from csim.provenance import write_json
    from csim.report import write_run_report

    check_output_dir(args.out, inputs=[args.ledger])
    columns = parse_column_map(args.columns)
    as_of = None
    if args.as_of is not None:
        as_of = pd.to_datetime(args.as_of, errors="coerce", format="%Y-%m-%d")
        if pd.isna(as_of):
            raise InputError("--as-of", None, f"not a date in YYYY-MM-DD form: {args.as_of!r}")
    ledger, read = read_ledger(args.ledger, columns, skip_bad_rows=args.skip_bad_rows)
    records = ledger_records(ledger, as_of=as_of, name=Path(args.ledger).stem)
    table = monthly(records)
    check_mrr_bridge(table)
    result = summarise(records, table)
    mark_unknown(result, has_channel="channel" in ledger)
    provenance = {"ledger_file": str(args.ledger), "columns": columns, "as_of": None if as_of is None else
                  str(as_of.date()), "rows": read["rows"], "rows_skipped": read["skipped"],
                  "first_skipped": read["first_skipped"], "customers": int(len(records.accounts["account"])),
                  "months": records.horizon_months}
    result["provenance"] = provenance
    with staged_output(args.out) as staging:
        atomic_write_csv(table, staging / "monthly.csv")
        if len(records.segments) > 1:
            atomic_write_csv(pd.concat([monthly(part).assign(segment=name)
                                        for name, part in segment_records(records).items()], ignore_index=True),
                             staging / "monthly_by_segment.csv")
        for value in ("logos", "revenue"):
            atomic_write_csv(cohort_retention(records, value=value), staging / f"cohort_retention_{value}.csv",
                             index=True)
        figures = save_run_figures(table, staging)
        write_run_report(staging, result, figures, provenance)
        write_json(staging / "summary.json", result)
        write_html_report(staging)
    skipped = f", {read['skipped']} skipped ({read['first_skipped']})" if read["skipped"] else ""
    last = table.iloc[-1]
    print(f"{args.ledger}: {read['rows']} rows{skipped}, {provenance['customers']} customers over "
          f"{records.horizon_months} months; MRR at the end {last['mrr']:,.2f}")
    print(f"report: {Path(args.out) / 'report.html'}")
    sys.stdout.flush()
    return 0
