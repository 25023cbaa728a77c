"""``csim run``: simulate a scenario and write tables, figures, a summary and a report."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="simulate a scenario file",
        description="Simulate SCENARIO and write summary.json, monthly.csv, events.parquet, accounts.parquet, "
                    "figures, report.md and report.html into --out.")
    parser.add_argument("scenario", help="scenario TOML file")
    parser.add_argument("--reps", type=int, default=None, help="replications (default: the scenario's)")
    parser.add_argument("--seed", type=int, default=None, help="root seed (default: the scenario's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario value, e.g. --set cs_team.headcount=4 (repeatable)")
    parser.add_argument("--out", required=True,
                        help="output folder; its files are replaced together at the end, or not at all")
    parser.add_argument("--executor", choices=("auto", "serial", "local", "joblib", "dask"), default="auto",
                        help="where replications run; results are identical either way (auto: local processes "
                             "when there are several replications; joblib is another name for local)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (local / dask)")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep each replication's records under OUT/.replications after success "
                             "(while running, and after an interruption, they are in .OUT.partial/.replications beside OUT)")
    parser.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    from csim.errors import InputError
    from csim.io import check_output_dir
    from csim.scenario.load import load_scenario, overrides_dict, scenario_notices

    scenario = load_scenario(args.scenario, args.overrides)
    if args.reps is not None and args.reps < 1:
        raise InputError(args.scenario, "--reps", "must be at least 1")
    if args.seed is not None and args.seed < 0:
        raise InputError(args.scenario, "--seed", "must be a non-negative integer")
    if args.workers is not None and args.workers < 1:
        raise InputError(args.scenario, "--workers", "must be at least 1")
    check_output_dir(args.out, inputs=[args.scenario])
    for notice in scenario_notices(scenario):
        print(f"csim: notice: {args.scenario}: {notice}", file=sys.stderr)
    overrides = overrides_dict(args.overrides)
    seed = scenario.seed if args.seed is None else args.seed
    reps = scenario.replications if args.reps is None else args.reps
    out = Path(args.out)
    started = time.perf_counter()
    from csim.runs import run_scenario

    summary = run_scenario(scenario, reps, seed, out, executor=args.executor, workers=args.workers,
                           scheduler=args.scheduler, progress=not args.no_progress, source=args.scenario,
                           overrides=overrides, keep_checkpoints=args.keep_checkpoints)
    elapsed = time.perf_counter() - started
    m = summary["metrics"]

    def number(value, scale: float, fmt: str) -> str:
        # Undefined (a 3-month run has no 12-month NRR; one replication no interval) reads "n/a".
        return fmt.format(value * scale) if isinstance(value, (int, float)) and math.isfinite(value) else "n/a"

    def line(name: str, scale: float = 1.0, fmt: str = "{:,.0f}") -> str:
        x = m[name]
        # "to", not a comma: "[2,390, 2,714]" reads as three numbers.
        return (f"{number(x['mean'], scale, fmt)} (95 % interval {number(x['ci_low'], scale, fmt)} to "
                f"{number(x['ci_high'], scale, fmt)})")

    changed = f" with {', '.join(args.overrides)}" if args.overrides else ""
    print(f"{scenario.name}{changed}: {reps} replication(s) × {scenario.horizon_months} months in {elapsed:.1f} s")
    print(f"  ending ARR {line('ending_arr')}")
    print(f"  customers {line('ending_customers')}")
    print(f"  NRR (trailing-12-month cohort, mean of the last 12 months) {line('nrr_t12_window', 100, '{:.1f}')} %")
    print(f"  GRR (trailing-12-month cohort, mean of the last 12 months) {line('grr_t12_window', 100, '{:.1f}')} %")
    print(f"  logo churn per year {line('logo_churn_annual', 100, '{:.1f}')} %")
    print(f"report: {out / 'report.html'}")
    sys.stdout.flush()
    return 0
