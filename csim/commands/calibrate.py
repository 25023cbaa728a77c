"""``csim calibrate``: a scenario fitted to a company's own history (ledger, customer table or cohorts)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from csim.commands.ledger import add_ledger_options

DESCRIPTION = """\
Fit a scenario to a company's history and check it by simulating that history again.

Inputs (give one):
  LEDGER                            subscription ledger (billing export, CSV or Parquet): customer_id,
                                    start_date, end_date, monthly_amount; optional subscription_id,
                                    segment, plan, channel, currency (rename with --columns)
  TABLE --duration COL --event COL  customer table: tenure and churn flag (1 = churned, 0 = active);
                                    only churn (and MRR with --mrr) is fitted
  --survivors N0,N1,...             survivor counts of one cohort (repeat for several), or
  --cohorts FILE                    a survivor table, one row per cohort: churn of one segment only

From a ledger, per segment: term, churn (contract-renewal or monthly hazard model), MRR,
price uplift, expansion, contraction and new customers; reactivation and the book at the as-of
date. What the input cannot tell (conversion, health, CS touches, effect sizes, costs) is kept
from --base as an assumption. Each written value says where it came from. The churn,
expansion, contraction and lead values are then adjusted by simulating the history with the
base's world and strategy, and the history is simulated once more and compared with the
observed one (the self-check; figures outside their 95 % simulation interval are flagged).

With --holdout-from DATE (a ledger), the fit ends at DATE and the calibrated scenario, started from
the book paying then, is run on to the ledger's end and compared with what happened after DATE
(customers, MRR, logo churn, new customers, the book's GRR and NRR), with the same intervals.

Writes FILE.toml (a complete scenario for csim run) and FILE.calibration.json next to it, and
from a ledger FILE.book.csv, the customers paying at the as-of date (the scenario's initial book)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("calibrate", help="fit a scenario to a company's ledger, customer table or cohorts",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", metavar="INPUT",
                   help="ledger or customer table (CSV or Parquet); omit with --survivors or --cohorts")
    p.add_argument("--out", required=True, metavar="FILE.toml",
                   help="the calibrated scenario to write (.toml); FILE.calibration.json (and from a ledger "
                        "FILE.book.csv) are written next to it")
    p.add_argument("--base", default=None, metavar="SCENARIO",
                   help="scenario whose world and strategy supply what the input cannot tell "
                        "(default scenarios/baseline.toml: the working folder's, else the one csim comes with)")
    p.add_argument("--check-reps", type=int, default=10, metavar="N",
                   help="replications of each simulation of the history, for the adjustment and the self-check "
                        "(default 10; 0 = neither)")
    p.add_argument("--seed", type=int, default=None, metavar="S",
                   help="root seed of those simulations (default the base's seed)")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="also write check.csv and report.md into this folder (replaced whole)")
    ledger = p.add_argument_group("ledger")
    add_ledger_options(ledger)
    ledger.add_argument("--holdout-from", default=None, metavar="YYYY-MM-01",
                        help="fit on the history before this date (the first day of a month, as --as-of would), then "
                             "simulate from it to the ledger's last date, the book then as the start, and compare "
                             "with what the ledger shows after it (the holdout check)")
    t = p.add_argument_group("customer table")
    t.add_argument("--duration", metavar="COL", help="tenure column (months unless --unit days), numbers ≥ 0")
    t.add_argument("--event", metavar="COL", help="churn column: 1 churned, 0 still active (or true/false)")
    t.add_argument("--mrr", metavar="COL", help="monthly amount column (fits the MRR of new customers)")
    t.add_argument("--unit", choices=["months", "days"], default=None,
                   help="unit of the tenure column (default months)")
    t.add_argument("--segment", metavar="COL|NAME",
                   help="customer table: the segment column; cohorts: the base segment the counts belong to "
                        "(default: the base's only segment)")
    c = p.add_argument_group("cohorts")
    c.add_argument("--survivors", action="append", default=[], metavar="N0,N1,...",
                   help="customers active at periods 0,1,2,... of one cohort (repeat for several)")
    c.add_argument("--cohorts", default=None, metavar="FILE",
                   help="survivor table: one row per cohort, counts for periods 0, 1, 2, ...")
    c.add_argument("--period-months", type=int, default=None, metavar="N",
                   help="months one period of the counts lasts, the contract term (default 12)")
    p.set_defaults(handler=calibrate_command)


#: Options that belong to one kind of input (attribute, flag).
_LEDGER = (("as_of", "--as-of"), ("columns", "--columns"), ("skip_bad_rows", "--skip-bad-rows"),
           ("holdout_from", "--holdout-from"))
_TABLE = (("duration", "--duration"), ("event", "--event"), ("mrr", "--mrr"), ("unit", "--unit"))
_COHORTS = (("period_months", "--period-months"),)


def _route(args) -> str:
    """Which input was given; InputError for options that do not belong to it."""
    from csim.errors import InputError

    def refuse(options, kind):
        for attr, flag in options:
            if getattr(args, attr):
                raise InputError(flag, None, f"applies to a {kind}, not to this input")

    if args.survivors or args.cohorts:
        if args.input:
            raise InputError(args.input, None, "give either INPUT or --survivors/--cohorts, not both")
        if args.survivors and args.cohorts:
            raise InputError("--cohorts", None, "give either --survivors or --cohorts, not both")
        refuse(_LEDGER, "ledger")
        refuse(_TABLE, "customer table")
        return "cohorts"
    if not args.input:
        raise InputError("csim calibrate", None, "give INPUT (a ledger or customer table), --survivors or --cohorts")
    refuse(_COHORTS, "survivor count")
    if args.duration or args.event:
        if not (args.duration and args.event):
            raise InputError(args.input, "--event" if args.duration else "--duration", "missing: give both "
                                                                                     "--duration and --event")
        refuse(_LEDGER, "ledger")
        return "table"
    refuse((("mrr", "--mrr"), ("unit", "--unit"), ("segment", "--segment")), "customer table")
    return "ledger"


#: The default base scenario, relative to the working folder or to csim's own source tree.
DEFAULT_BASE = Path("scenarios") / "baseline.toml"


def default_base() -> Path:
    """``scenarios/baseline.toml`` of the working folder, else the one next to csim's own package
    (a source checkout or an editable install), so that a team calibrating its table from its own
    folder gets the documented baseline; neither: an input error asking for ``--base``."""
    from csim.errors import InputError

    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / DEFAULT_BASE).is_file():
            return root / DEFAULT_BASE if root != Path.cwd() else DEFAULT_BASE
    raise InputError("--base", None, f"no {DEFAULT_BASE} in this folder or beside csim; give --base SCENARIO.toml "
                                     "(the scenario whose world and strategy fill in what the input cannot tell)")


def _check_options(args, route: str):
    """Every option checked before any data is read; returns the loaded base scenario."""
    from csim.errors import InputError
    from csim.io import check_output_dir
    from csim.scenario import load_scenario

    out = Path(args.out)
    if out.suffix.lower() != ".toml" or not out.stem:
        raise InputError("--out", None, f"must be a scenario file name ending in .toml, got {args.out!r}")
    if out.is_dir():
        raise InputError(out, "--out", "is a folder; give a file name ending in .toml")
    if args.base is None:
        args.base = str(default_base())
    base_path = Path(args.base)
    if out.resolve() == base_path.resolve():
        raise InputError(out, "--out", f"is the base scenario {args.base}; write the calibration to another file")
    for given in (args.input, args.cohorts):
        if given and out.resolve() == Path(given).resolve():
            raise InputError(out, "--out", "is the input file; give another name")
    if not 0 <= args.check_reps <= 1000:
        raise InputError("--check-reps", None, f"must be 0 to 1000, got {args.check_reps}")
    if args.seed is not None and args.seed < 0:
        raise InputError("--seed", None, f"must be ≥ 0, got {args.seed}")
    if args.period_months is not None and not 1 <= args.period_months <= 60:
        raise InputError("--period-months", None, f"must be 1 to 60 months (a contract term), got {args.period_months}")
    if args.report is not None:
        check_output_dir(args.report, "--report", inputs=[args.input, args.cohorts, args.base])
    base = load_scenario(base_path)
    if route == "cohorts":
        names = [s.name for s in base.segments]
        if args.segment is None and len(names) > 1:
            raise InputError("--segment", None,
                             f"name the base segment the cohorts belong to (one of {', '.join(names)})")
        if args.segment is not None and args.segment not in names:
            raise InputError("--segment", args.segment,
                             f"not a segment of {args.base} (its segments: {', '.join(names)})")
    return base


def calibrate_command(args: argparse.Namespace) -> int:
    from csim.calibrate import calibrate, read_cohorts, read_customer_table, read_ledger_input, write_calibration
    from csim.calibrate.calibration import book_file
    from csim.calibrate.inputs import parse_as_of
    from csim.calibrate.report import check_lines, console

    route = _route(args)
    base = _check_options(args, route)
    started = time.perf_counter()
    if route == "ledger":
        holdout = parse_as_of(args.holdout_from, "--holdout-from")
        if holdout is not None and args.check_reps == 0:
            from csim.errors import InputError

            raise InputError("--holdout-from", None, "the holdout is checked by simulation: give --check-reps 1 or more")
        observed = read_ledger_input(args.input, args.columns, parse_as_of(args.as_of), args.skip_bad_rows,
                                     holdout_from=holdout)
    elif route == "table":
        observed = read_customer_table(args.input, args.duration, args.event, args.segment, args.mrr,
                                       args.unit or "months")
    else:
        observed = read_cohorts(args.survivors, args.cohorts, args.period_months or 12,
                                args.segment or base.segments[0].name)
    out = Path(args.out)
    read = time.perf_counter() - started
    calibration = calibrate(observed, base, args.base, out.stem, check_reps=args.check_reps, seed=args.seed)
    calibration.timings = {"read_input_seconds": round(read, 3), **calibration.timings}
    write_calibration(calibration, out, args.report)
    for line in console(calibration) + check_lines(calibration):
        print(line)
    book = f", {book_file(out.stem)}" if calibration.book is not None else ""
    print(f"wrote {out}{book} and {out.with_name(out.stem + '.calibration.json').name}"
          + (f"; report in {args.report}" if args.report else ""))
    sys.stdout.flush()
    return 0
