"""``csim compare``: run scenarios side by side on common random numbers and report the differences."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="compare scenario files on common random numbers",
        description="Simulate every SCENARIO on the same replication seeds and write comparison.json "
                    "(means, paired differences against the first scenario, variance bought by common random "
                    "numbers), survival.json, figures, report.md and report.html into --out.")
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                        help="scenario TOML files; the first is the reference of every difference")
    parser.add_argument("--reps", type=int, default=None,
                        help="replications per scenario (default: the first scenario's)")
    parser.add_argument("--seed", type=int, default=None, help="root seed shared by all (default: the first scenario's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value in every scenario, e.g. --set cs_team.headcount=2 (repeatable)")
    parser.add_argument("--out", required=True,
                        help="output folder; its files are replaced together at the end, or not at all")
    parser.add_argument("--executor", choices=("serial", "local", "joblib", "dask"), default="local",
                        help="where replications run (results are identical either way; joblib is another name "
                             "for local)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    parser.add_argument("--survival-reps", type=int, default=10, metavar="N",
                        help="replications pooled in the survival comparison (default 10; 0 = all)")
    parser.add_argument("--no-survival", action="store_true", help="skip the Kaplan–Meier / log-rank / Cox comparison")
    parser.add_argument("--equalize", choices=("csm_hours", "cs_cost"), default=None,
                        help="scale each scenario's CS capacity (hours and cost per CSM) until its CSM-hours used "
                             "(or CS cost) match the first scenario's within 2 %%, and lead with that equal-effort answer")
    parser.add_argument("--decompose", action="store_true",
                        help="re-run the pair with one mechanism channel off at a time (referral loop, health → "
                             "expansion, health → churn, first value, direct touch effects) and report each "
                             "channel's share of the difference")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep each replication's records under OUT/.replications after success "
                             "(while running, and after an interruption, they are in .OUT.partial/.replications beside OUT)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.set_defaults(handler=compare_command)


def _small_team_command(args: argparse.Namespace, headcount: int) -> str:
    """The same command with the CS team cut to about a quarter (at least one CSM)."""
    small = max(1, headcount // 4)
    words = ["csim", "compare", *args.scenarios]
    if args.reps is not None:
        words += ["--reps", str(args.reps)]
    if args.seed is not None:
        words += ["--seed", str(args.seed)]
    for assignment in args.overrides:
        if not assignment.startswith("cs_team.headcount="):
            words += ["--set", assignment]
    words += ["--set", f"cs_team.headcount={small}", "--out", str(Path(args.out).with_name(Path(args.out).name + "-small-team"))]
    return " ".join(shlex.quote(w) for w in words)


def compare_command(args: argparse.Namespace) -> int:
    from csim.compare import compare_scenarios
    from csim.errors import InputError
    from csim.io import check_output_dir
    from csim.scenario.load import load_scenario, overrides_dict, scenario_notices

    scenarios = [load_scenario(path, args.overrides) for path in args.scenarios]
    first = args.scenarios[0]
    if args.reps is not None and args.reps < 2:
        raise InputError(first, "--reps", "must be at least 2 (intervals need two replications)")
    if args.seed is not None and args.seed < 0:
        raise InputError(first, "--seed", "must be a non-negative integer")
    if args.workers is not None and args.workers < 1:
        raise InputError(first, "--workers", "must be at least 1")
    if args.survival_reps < 0:
        raise InputError(first, "--survival-reps", "must be 0 (all) or a positive number")
    horizons = {s.horizon_months for s in scenarios}
    if len(horizons) > 1:
        raise InputError(first, "horizon_months", f"scenarios differ in horizon_months {sorted(horizons)}; "
                                                  "set one with --set horizon_months=N")
    reps = scenarios[0].replications if args.reps is None else args.reps
    seed = scenarios[0].seed if args.seed is None else args.seed
    if reps < 2:
        raise InputError(first, "replications", "must be at least 2 for a comparison (use --reps)")
    check_output_dir(args.out, inputs=args.scenarios)
    for path, scenario in zip(args.scenarios, scenarios):
        for notice in scenario_notices(scenario):
            print(f"csim: notice: {path}: {notice}", file=sys.stderr)
    out = Path(args.out)
    started = time.perf_counter()
    result = compare_scenarios(scenarios, reps, seed, out, sources=args.scenarios, executor=args.executor,
                               workers=args.workers, progress=not args.no_progress, survival=not args.no_survival,
                               survival_replications=args.survival_reps or None,
                               equalize=args.equalize, decompose=args.decompose,
                               small_team_command=_small_team_command(args, max(s.cs_team.headcount for s in scenarios)),
                               overrides=overrides_dict(args.overrides), keep_checkpoints=args.keep_checkpoints)
    elapsed = time.perf_counter() - started
    from csim.compare.report import format_difference

    reference = result["reference"]
    changed = f" with {', '.join(args.overrides)}" if args.overrides else ""
    print(f"{len(scenarios)} scenarios{changed} × {reps} replications × {scenarios[0].horizon_months} months "
          f"on common random numbers in {elapsed:.1f} s")
    if result.get("equal_effort"):
        for label, eq in result["equal_effort"].items():
            print(f"  at equal effort: {label}'s CS capacity × {eq['capacity_factor']:.2f} "
                  f"({'matches' if eq['reached'] else 'cannot reach'} {reference}'s {eq['target']})")
    for name in ("ending_arr", "cumulative_revenue", "nrr_t12_window", "logo_churn_annual"):
        m = result["metrics"][name]
        for label, d in m["paired_difference"].items():
            p = d.get("p_beats", {}).get("probability", float("nan"))
            print(f"  {m['label']}: {label} − {reference} = {format_difference(d['mean'], m['unit'])} "
                  f"(95 % interval {format_difference(d['ci_low'], m['unit'])} to {format_difference(d['ci_high'], m['unit'])}), "
                  f"P({label} better) = {f'{p:.2f}' if p == p else 'n/a'}")
    print(f"report: {out / 'report.html'}")
    sys.stdout.flush()
    return 0
