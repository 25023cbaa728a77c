"""A small, fast sweep shared by the sweep tests: a 24-month book of ~100 accounts (~0.1 s a task)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

#: Fixed keys that make every task small (a short horizon, a small book, few leads).
SMALL = ["horizon_months=24", "initial_book.customers=100", "acquisition.leads_per_month=60"]


def small_params(*swept: str) -> list[str]:
    return [*SMALL, *swept]


def sweep_args(out, *swept: str, design: str = "lhs", points: int = 6, reps: int = 2, seed: int = 5,
               versus: bool = True, executor: str = "serial") -> list[str]:
    """Arguments of ``csim sweep`` for a small renewal-vs-expansion sweep."""
    args = ["sweep", str(SCENARIOS / "renewal_focus.toml")]
    for text in small_params(*swept):
        args += ["--param", text]
    if versus:
        args += ["--versus", str(SCENARIOS / "expansion_focus.toml")]
    return args + ["--design", design, "--points", str(points), "--reps", str(reps), "--seed", str(seed),
                   "--out", str(out), "--executor", executor, "--no-progress"]
