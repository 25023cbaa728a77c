"""``csim sweep``: parameter sweeps, resumable, on one machine or a Dask cluster; and ``csim sweep analyze``.

::

    csim sweep BASE.toml --param PATH=LEVELS ... [--design grid|lhs|sobol|morris] [--points N]
               [--reps R] [--seed S] [--versus OTHER.toml] --out DIR
               [--executor serial|local|dask] [--workers N] [--scheduler tcp://HOST:PORT] [--dry-run]
    csim sweep SWEEP.toml --out DIR ...        # the same, from a file with a [sweep] table
    csim sweep analyze DIR                     # (re)build tables, indices, figures, report

A sweep file::

    [sweep]
    base = "renewal_focus.toml"        # paths relative to the sweep file
    versus = "expansion_focus.toml"
    design = "lhs"
    points = 40
    reps = 4
    seed = 20261124
    metric = "ending_arr"
    [sweep.params]
    "cs_team.headcount" = "1:12"       # the --param syntax, or an array of levels
    "segments.smb.annual_churn" = "0.1:0.4"

Options on the command line win over the file; a ``--param`` replaces the file's entry for the same path.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from csim.errors import InputError

_FILE_KEYS = {"base", "versus", "design", "points", "reps", "seed", "metric", "params"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="sweep scenario parameters (grid, LHS, Sobol, Morris); resumable; sensitivity and discovery",
        usage="csim sweep BASE.toml --param PATH=LEVELS ... [--versus OTHER.toml] --out DIR [options]\n"
              "       csim sweep SWEEP.toml --out DIR [options]\n"
              "       csim sweep analyze DIR [--metric NAME] [--heatmap A,B]",
        description="Run every point of a design over scenario parameters, each replication on the same seeds, "
                    "and write results.parquet, points.csv, sensitivity indices, figures, report.md and report.html into --out. "
                    "Rerunning the same command resumes. 'csim sweep analyze DIR' rebuilds the analysis.")
    parser.add_argument("target", nargs="+", metavar="BASE.toml | SWEEP.toml | analyze DIR",
                        help="the base scenario, a sweep file with a [sweep] table, or 'analyze DIR'")
    parser.add_argument("--param", dest="params", action="append", default=[], metavar="PATH=LEVELS",
                        help="a swept scenario key: levels 'cs_team.headcount=2,4,8', a range "
                             "'segments.smb.annual_churn=0.1:0.4', scenario files 'strategy=renewal_focus,expansion_focus'; "
                             "one level fixes the key in every point (repeatable)")
    parser.add_argument("--design", choices=("grid", "lhs", "sobol", "morris"), default=None,
                        help="grid (all levels), lhs (Latin hypercube), sobol (Saltelli, for Sobol' indices), "
                             "morris (trajectories, for Morris indices); default grid if all keys have levels, else lhs")
    parser.add_argument("--points", type=int, default=None,
                        help="lhs: points; sobol: base sample (power of two; runs N×(d+2) points); morris: "
                             "trajectories (N×(d+1) points); grid: levels per range")
    parser.add_argument("--reps", type=int, default=None, help="replications per point (default: the base scenario's)")
    parser.add_argument("--seed", type=int, default=None, help="root seed (default: the base scenario's)")
    parser.add_argument("--versus", default=None, metavar="OTHER.toml",
                        help="also run OTHER at every point on the same random numbers; outcomes are paired "
                             "differences OTHER − BASE")
    parser.add_argument("--out", default=None, help="result directory (required to run; resumes if it holds this sweep)")
    parser.add_argument("--executor", choices=("serial", "local", "dask"), default="local",
                        help="serial, local processes (default) or a Dask cluster; results are identical")
    parser.add_argument("--workers", type=int, default=None, help="local processes / local Dask workers (default: CPUs)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="address of a running Dask scheduler (with --executor dask)")
    parser.add_argument("--metric", default=None, help="the outcome the analysis leads with (default ending_arr)")
    parser.add_argument("--heatmap", default=None, metavar="A,B", help="two swept parameters for the heatmap")
    parser.add_argument("--dry-run", action="store_true", help="print the points and the task count, run nothing")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=sweep_command)


def _read_sweep_file(path: Path) -> dict | None:
    """The [sweep] table of ``path`` with paths made relative to the current directory, or None."""
    from csim.scenario.load import read_toml

    data = read_toml(path, "sweep or scenario file")
    if "sweep" not in data:
        return None
    table = data["sweep"]
    if not isinstance(table, dict):
        raise InputError(path, "sweep", "must be a table")
    unknown = sorted(set(table) - _FILE_KEYS)
    if unknown:
        raise InputError(path, f"sweep.{unknown[0]}", f"unknown key (known: {', '.join(sorted(_FILE_KEYS))})")
    if "base" not in table:
        raise InputError(path, "sweep.base", "required key is missing")
    for key in ("base", "versus"):
        if key in table:
            if not isinstance(table[key], str):
                raise InputError(path, f"sweep.{key}", "must be a file path string")
            table[key] = str(path.parent / table[key])
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise InputError(path, "sweep.params", "must be a table of PATH = LEVELS")
    texts = []
    for key, value in params.items():
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InputError(path, f"sweep.params.{key}", "must be a string like \"1:12\", a number or an array of levels")
        texts.append(f"{key}={value}")
    table["params"] = texts
    for key in ("points", "reps", "seed"):
        if key in table and (isinstance(table[key], bool) or not isinstance(table[key], int)):
            raise InputError(path, f"sweep.{key}", "must be an integer")
    for key in ("design", "metric"):
        if key in table and not isinstance(table[key], str):
            raise InputError(path, f"sweep.{key}", "must be a string")
    return table


def _merge_params(from_file: list[str], from_command: list[str]) -> list[str]:
    paths = {text.partition("=")[0].strip() for text in from_command}
    return [t for t in from_file if t.partition("=")[0].strip() not in paths] + list(from_command)


def sweep_command(args: argparse.Namespace) -> int:
    from csim.sweep import build_sweep, run_sweep
    from csim.sweep.analyze import DEFAULT_METRIC, analyze, check_options
    from csim.sweep.report import answer_paragraph

    target = args.target
    heatmap = None
    if args.heatmap is not None:
        heatmap = tuple(s.strip() for s in args.heatmap.split(","))
        if len(heatmap) != 2:
            raise InputError("csim sweep", "--heatmap", "expected two parameters A,B")
    if target[0] == "analyze":
        if len(target) != 2:
            raise InputError("csim sweep analyze", None, "expected one directory: csim sweep analyze DIR")
        started = time.perf_counter()
        answers = analyze(target[1], args.metric or DEFAULT_METRIC, heatmap=heatmap)
        print(f"analysed {answers['n_points']} points in {time.perf_counter() - started:.1f} s")
        print(answer_paragraph(answers).replace("**", ""))
        print(f"report: {Path(target[1]) / 'report.html'}")
        return 0
    if len(target) != 1:
        raise InputError("csim sweep", None, f"expected one BASE.toml or SWEEP.toml, got {len(target)} paths")
    path = Path(target[0])
    spec = _read_sweep_file(path) or {"base": str(path)}
    params = _merge_params(spec.get("params", []), args.params)
    pick = lambda name: getattr(args, name) if getattr(args, name) is not None else spec.get(name)  # noqa: E731
    if args.workers is not None and args.workers < 1:  # --points, --reps and --seed: build_sweep checks them
        raise InputError(path, "--workers", "must be at least 1")
    try:
        sweep = build_sweep(spec["base"], params, versus_path=pick("versus"), design=pick("design"),
                            points=pick("points"), reps=pick("reps"), seed=pick("seed"))
    except InputError as exc:
        # A parameter from the sweep file is named where the user wrote it.
        from_file = {t.partition("=")[0].strip() for t in spec.get("params", [])} - \
            {t.partition("=")[0].strip() for t in args.params}
        key = (exc.where or "").removeprefix("--param ")
        if key in from_file:
            raise InputError(path, f"sweep.params.{key}", exc.problem) from None
        option = (exc.where or "").removeprefix("--")
        if option in ("design", "points", "reps", "seed", "versus") and getattr(args, option) is None \
                and option in spec:
            raise InputError(path, f"sweep.{option}", exc.problem) from None
        raise
    metric = pick("metric") or DEFAULT_METRIC
    check_options(path, sweep.names, metric, heatmap)
    if args.scheduler is not None and args.executor != "dask":
        raise InputError(path, "--scheduler", "needs --executor dask")
    n_tasks = len(sweep.tasks())
    if args.dry_run:
        import pandas as pd

        print(pd.DataFrame(list(sweep.points)).rename_axis("point").to_string() if sweep.names else "(one point: nothing swept)")
        print(f"{len(sweep.points)} points × {sweep.reps} replications × {len(sweep.sides)} scenario"
              f"{'s' if len(sweep.sides) > 1 else ''} = {n_tasks} tasks (design {sweep.design})")
        return 0
    if args.out is None:
        raise InputError(path, "--out", "required (the result directory)")
    started = time.perf_counter()
    counts = run_sweep(sweep, args.out, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                       progress=not args.no_progress)
    elapsed = time.perf_counter() - started
    print(f"{counts['tasks']} tasks: {counts['already_done']} already done, {counts['computed']} computed "
          f"in {elapsed:.1f} s ({args.executor})")
    answers = analyze(args.out, metric, heatmap=heatmap)
    print(answer_paragraph(answers).replace("**", ""))
    print(f"report: {Path(args.out) / 'report.html'}")
    sys.stdout.flush()
    return 0
