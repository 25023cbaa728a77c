"""What a comparison costs: the default compare against an earlier version, and the price of
``--decompose``, ``--equalize`` and uncertain effect sizes, as ratios measured in one run.

    python benchmarks/bench_compare.py --baseline 5616d3b      # default compare, this tree vs that commit
    python benchmarks/bench_compare.py --skip-baseline         # only the options' costs

Cases (each a ``csim compare`` in a fresh process, output in a temporary directory, no
checkpoints reused; cases alternate ``--repeat`` times and the fastest of each counts, so load
from other programs hits every case alike):

* **default**: renewal_focus vs expansion_focus, ``--reps 30`` (the issue's contract: within
  1.2 × the earlier version's time). With ``--baseline REV`` the same command runs on a
  ``git worktree`` of REV and the ratio this / baseline is printed.
* **decompose**: the same pair with ``--decompose --reps 10`` against ``--reps 10`` alone.
* **equalize**: ``--equalize csm_hours --reps 10`` against ``--reps 10`` alone.
* **uncertain effects**: the time to draw every uncertain parameter of the pair once per
  replication (in-process, :func:`bench_uncertain`); the engine then runs the resolved scenario,
  which is a plain one, so a run with priors costs what a run with point effects costs plus that.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIR = ["scenarios/renewal_focus.toml", "scenarios/expansion_focus.toml"]  # each tree's own files


def _time_compare(tree: Path, args: list[str]) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "csim.cli", "compare", *PAIR, "--out", str(out / "cmp"), "--no-progress", *args]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=tree, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    return elapsed


def bench_uncertain(reps: int = 10) -> dict:
    """Seconds to resolve every uncertain parameter of the pair for ``reps`` replications."""
    from csim.scenario import load_scenario
    from csim.engine.parameters import resolve

    scenarios = [load_scenario(ROOT / p) for p in PAIR]
    started = time.perf_counter()
    for s in scenarios:
        for r in range(reps):
            resolve(s, s.seed, r)
    return {"resolve_seconds": time.perf_counter() - started, "replications": reps, "scenarios": len(scenarios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=None, help="git revision to compare the default compare against")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--default-only", action="store_true", help="only the default compare against --baseline")
    args = parser.parse_args()

    cases: dict[str, tuple[Path, list[str]]] = {}
    worktree = None
    if args.baseline and not args.skip_baseline:
        worktree = Path(tempfile.mkdtemp(prefix="bench-baseline-")) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.baseline],
                       check=True, stdout=subprocess.DEVNULL)
        cases["default (baseline)"] = (worktree, ["--reps", "30"])
        cases["default (this tree)"] = (ROOT, ["--reps", "30"])
    if not args.default_only:
        cases["reps 10"] = (ROOT, ["--reps", "10"])
        cases["reps 10 --decompose"] = (ROOT, ["--reps", "10", "--decompose"])
        cases["reps 10 --equalize csm_hours"] = (ROOT, ["--reps", "10", "--equalize", "csm_hours"])
    best: dict[str, float] = {}
    try:
        for _ in range(args.repeat):
            for name, (tree, extra) in cases.items():
                seconds = _time_compare(tree, extra)
                best[name] = min(best.get(name, float("inf")), seconds)
                print(f"{name}: {seconds:.1f} s", flush=True)
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
    print("\nfastest of", args.repeat)
    for name, seconds in best.items():
        print(f"  {name}: {seconds:.1f} s")
    if "default (baseline)" in best:
        print(f"  default compare, this tree / baseline: {best['default (this tree)'] / best['default (baseline)']:.2f}")
    if not args.default_only:
        print(f"  --decompose / plain (reps 10): {best['reps 10 --decompose'] / best['reps 10']:.2f}")
        print(f"  --equalize csm_hours / plain (reps 10): {best['reps 10 --equalize csm_hours'] / best['reps 10']:.2f}")
        print(f"  uncertain effects: {bench_uncertain()}")


if __name__ == "__main__":
    main()
