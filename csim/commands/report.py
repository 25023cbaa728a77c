"""``csim report DIR``: rebuild ``report.html`` from a results folder, without simulating anything."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="rebuild report.html of a results folder",
        description="Rebuild DIR/report.html (one self-contained page: the report with its figures embedded and the "
                    "scenario as run) from DIR/report.md and the figures beside it, as run, compare, sweep, "
                    "forecast and ledger metrics write them.")
    parser.add_argument("folder", metavar="DIR", help="a results folder holding report.md")
    parser.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    from csim.errors import InputError
    from csim.html_report import write_html_report

    folder = Path(args.folder)
    if not (folder / "report.md").is_file():
        raise InputError(folder, None, "no report.md here; give a folder that csim run, compare, sweep, forecast "
                                       "or ledger metrics wrote")
    print(f"report: {write_html_report(folder)}")
    return 0
