"""Distributional equivalence of the engine with an earlier revision of itself.

    python benchmarks/engine_equivalence.py                        # against the default reference revision
    python benchmarks/engine_equivalence.py --reference <rev> --reps 20

A change that makes the engine faster must keep its model: the same scenario must give the same
*distribution* of outcomes, even where event logs differ (events at equal times handled in
another order, numbers drawn in another order). This script runs each scenario ``--reps`` times on
the engine of ``--reference`` (checked out into a temporary git worktree) and on the working tree,
on **independent** seeds (the same seeds would couple the two samples through common random
numbers and make every test below blind), and prints:

* per headline metric, the mean and 95 % interval across replications of each engine and a Welch
  t-test of the difference;
* two-sample Kolmogorov–Smirnov tests on three account-level outcomes pooled over replications:
  account tenure (days from start to churn or horizon), ending MRR per account (cents) and touches
  per account. Accounts of one replication are not independent of each other: they share the CS
  team and that replication's draw of every uncertain effect size, so the textbook KS p-value of
  the pooled accounts is far too small. The p-value is therefore a **permutation** p-value that
  moves whole replications between the two samples (replications are independent and, if the
  engines agree, exchangeable), with the pooled KS statistic as test statistic.

Equivalent engines reject at 1 % about once in a hundred tests; the script prints every p-value so
a reader can judge. Output is markdown, pasted into ``docs/benchmarks.md``.

``--same-seed`` asks the stronger question for a change meant to leave every draw where it was: both
engines run the **same** seed, and every records table is compared column by column (rows, values
that differ, largest difference). Such a change may still move times by rounding (a SimPy timeout
lands at ``now + (t − now)``, which depends on the ``now`` it was set from).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The engine before its speed work began (the CS team as a SimPy resource, health moves as events).
DEFAULT_REFERENCE = "6245926"
SCENARIOS = ("baseline", "expansion_focus")
ACCOUNT_OUTCOMES = (("tenure_days", "account tenure (days)"), ("final_mrr", "ending MRR per account (cents)"),
                    ("touches", "touches per account"))

CHILD = r"""
import json, sys, time
import numpy as np
from csim.engine.runner import simulate
from csim.metrics import summary
from csim.scenario import load_scenario

scenario_file, reps, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
scenario = load_scenario(scenario_file)
started = time.perf_counter()
records = simulate(scenario, reps, seed, executor="serial", progress=False)
seconds = time.perf_counter() - started
acc = records.accounts
np.savez(out + ".npz", replication=acc["replication"], tenure_days=acc["end"] - acc["start"], final_mrr=acc["final_mrr"],
         touches=acc["touches"])
result = summary(records)
headline = {name: m["per_replication"] for name, m in result["metrics"].items()}
json.dump({"seconds": seconds, "headline": headline}, open(out + ".json", "w"))
"""


RECORDS_CHILD = r"""
import sys
import numpy as np
from csim.engine.runner import simulate
from csim.records import TABLES
from csim.scenario import load_scenario

scenario_file, reps, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
records = simulate(load_scenario(scenario_file), reps, seed, executor="serial", progress=False)
np.savez(out, **{f"{table}.{column}": getattr(records, table)[column] for table, columns in TABLES.items()
                 for column in columns})
"""


def same_seed_records(tree: Path, scenario: str, reps: int, seed: int, out: Path) -> dict:
    """Every records column of ``reps`` replications simulated by the engine in ``tree``."""
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", RECORDS_CHILD, str(tree / "scenarios" / f"{scenario}.toml"), str(reps),
                    str(seed), str(out) + ".npz"], check=True, env=env, cwd=tree)
    import numpy as np

    return dict(np.load(str(out) + ".npz"))


def compare_records(ref: dict, new: dict) -> list[str]:
    """Per records table: rows, and the columns whose values differ (how many, by how much)."""
    import numpy as np

    lines = ["| table | rows (reference / now) | columns identical "
             "| columns that differ: values differing, largest difference |",
             "|---|---:|---:|---|"]
    for table in sorted({key.split(".")[0] for key in ref}):
        columns = [key for key in ref if key.split(".")[0] == table]
        rows_a, rows_b = len(ref[columns[0]]), len(new[columns[0]])
        if rows_a != rows_b:
            lines.append(f"| {table} | {rows_a:,} / {rows_b:,} | – | row counts differ |")
            continue
        same, notes = 0, []
        for key in columns:
            a, b = ref[key], new[key]
            equal = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a == b
            if equal.all():
                same += 1
                continue
            worst = np.abs(a[~equal].astype(float) - b[~equal].astype(float)).max()
            notes.append(f"{key.split('.')[1]}: {int((~equal).sum()):,}, {worst:.2g}")
        lines.append(f"| {table} | {rows_a:,} / {rows_b:,} | {same} of {len(columns)} | {'; '.join(notes) or '–'} |")
    return lines


def run_engine(tree: Path, scenario: str, reps: int, seed: int, out: Path) -> dict:
    """Simulate in a fresh interpreter that imports csim from ``tree``."""
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", CHILD, str(tree / "scenarios" / f"{scenario}.toml"), str(reps), str(seed),
                    str(out)], check=True, env=env, cwd=tree)
    import numpy as np

    data = dict(np.load(str(out) + ".npz"))
    data.update(json.loads(Path(str(out) + ".json").read_text()))
    return data


def compare(ref: dict, new: dict, permutations: int) -> list[str]:
    import numpy as np
    from scipy import stats

    lines = ["| headline metric | reference: mean (95 % interval) | now: mean (95 % interval) | Welch p |",
             "|---|---:|---:|---:|"]
    for name, ref_values in ref["headline"].items():
        a = np.asarray(ref_values, float)
        b = np.asarray(new["headline"].get(name, []), float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) < 2 or len(b) < 2 or (a.std() == 0 and b.std() == 0):
            continue

        def cell(x):
            half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
            return f"{x.mean():.4g} ({x.mean() - half:.4g} to {x.mean() + half:.4g})"

        p = stats.ttest_ind(a, b, equal_var=False).pvalue
        lines.append(f"| {name} | {cell(a)} | {cell(b)} | {p:.3f} |")
    lines += ["", f"| account outcome | accounts (reference / now) | mean (reference / now) | KS statistic | "
                  f"permutation p ({permutations} permutations of replications) |", "|---|---:|---:|---:|---:|"]
    for key, label in ACCOUNT_OUTCOMES:
        a, b = np.asarray(ref[key], float), np.asarray(new[key], float)
        statistic, p = permutation_ks(a, ref["replication"], b, new["replication"], permutations)
        lines.append(f"| {label} | {len(a):,} / {len(b):,} | {a.mean():.4g} / {b.mean():.4g} | {statistic:.4f} | {p:.3f} |")
    return lines


def permutation_ks(a, rep_a, b, rep_b, permutations: int, seed: int = 0) -> tuple[float, float]:
    """Pooled two-sample KS statistic and its p-value under permutations of whole replications."""
    import numpy as np
    from scipy import stats

    values = np.concatenate([a, b])
    # One cluster label per (engine, replication); the first len(set(rep_a)) clusters are the reference's.
    _, cluster_a = np.unique(rep_a, return_inverse=True)
    _, cluster_b = np.unique(rep_b, return_inverse=True)
    n_a = cluster_a.max() + 1
    cluster = np.concatenate([cluster_a, n_a + cluster_b])
    n_clusters = cluster.max() + 1
    observed = stats.ks_2samp(a, b).statistic
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(permutations):
        in_a = np.zeros(n_clusters, bool)
        in_a[rng.permutation(n_clusters)[:n_a]] = True
        mask = in_a[cluster]
        exceed += stats.ks_2samp(values[mask], values[~mask]).statistic >= observed
    return float(observed), (exceed + 1) / (permutations + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", default=DEFAULT_REFERENCE, help="git revision of the reference engine")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261125, help="seed of the reference runs; the new runs use seed + 1")
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--same-seed", action="store_true",
                        help="run both engines on the same seed and compare their records value by value")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tree = tmp / "reference"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), args.reference],
                       check=True)
        try:
            rev = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                 check=True).stdout.strip()
            if args.same_seed:
                print(f"Reference engine {rev}, working tree now; {args.reps} replications each, seed {args.seed} "
                      f"for both; {time.strftime('%Y-%m-%d')}.\n")
                for name in args.scenarios:
                    ref = same_seed_records(tree, name, args.reps, args.seed, tmp / f"ref_{name}")
                    new = same_seed_records(ROOT, name, args.reps, args.seed, tmp / f"new_{name}")
                    print(f"### {name}\n\n" + "\n".join(compare_records(ref, new)) + "\n")
                return
            print(f"Reference engine {rev}, working tree now; {args.reps} replications each, "
                  f"seeds {args.seed} (reference) and {args.seed + 1} (now); {time.strftime('%Y-%m-%d')}.\n")
            for name in args.scenarios:
                ref = run_engine(tree, name, args.reps, args.seed, tmp / f"ref_{name}")
                new = run_engine(ROOT, name, args.reps, args.seed + 1, tmp / f"new_{name}")
                print(f"### {name}\n\nsimulation time: reference {ref['seconds']:.1f} s, now {new['seconds']:.1f} s\n")
                print("\n".join(compare(ref, new, args.permutations)) + "\n")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


if __name__ == "__main__":
    main()
