"""One output policy for every command: strict JSON, ordinary file modes, whole or nothing.

``csim run``, ``compare``, ``sweep``, ``forecast`` and ``ledger metrics`` each run once on small inputs (under umask
022); then every JSON file they wrote must parse as strict JSON (no ``NaN``/``Infinity``
tokens), every file must be 0644, no staging folder or checkpoint may be left behind, and a
failure late in a command (while drawing its figures) must leave the previous output folder
byte-for-byte as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csim.cli import main
from tests.bad_input import snapshot
from tests.engine.scenarios import TINY_TOML


def _strict(text: str):
    def refuse(token: str):
        raise AssertionError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("policy")
    scenario = root / "tiny.toml"
    scenario.write_text(TINY_TOML, encoding="utf-8")
    rng = np.random.default_rng(3)
    n = 60
    table = pd.DataFrame({"tenure": rng.exponential(10.0, n).round(2) + 0.1, "churned": rng.integers(0, 2, n),
                          "size": rng.choice(["small", "large"], n)})
    table.to_csv(root / "customers.csv", index=False)
    out = {name: root / name for name in ("run", "compare", "sweep", "forecast", "cohort", "ledger")}
    old = os.umask(0o022)
    try:
        commands = [
            ["run", scenario, "--reps", "1", "--executor", "serial"],  # one replication: undefined intervals
            ["compare", scenario, scenario, "--reps", "2", "--executor", "serial", "--set", "cs_team.headcount=1"],
            ["sweep", scenario, "--param", "cs_team.headcount=1,2", "--reps", "2", "--executor", "serial"],
            ["forecast", root / "customers.csv", "--duration", "tenure", "--event", "churned", "--draws", "200"],
            ["forecast", "--survivors", "1000,869,743,653,593,551", "--horizon", "6", "--draws", "200"],
            ["ledger", "metrics", root / "ledger.csv"],
        ]
        for name, argv in zip(out, commands):
            if name == "ledger":  # the run's own history, read back as a company's ledger
                pd.read_csv(out["run"] / "ledger.csv").drop(columns=["replication"]).to_csv(root / "ledger.csv",
                                                                                           index=False)
            status = main([str(a) for a in argv] + ["--out", str(out[name])]
                          + ([] if name in ("forecast", "cohort", "ledger") else ["--no-progress"]))
            assert status == 0, name
    finally:
        os.umask(old)
    return out


def test_every_json_output_is_strict(outputs):
    seen = 0
    for name, folder in outputs.items():
        for path in folder.rglob("*.json"):
            _strict(path.read_text())
            seen += 1
    assert seen >= 6
    summary = _strict((outputs["run"] / "summary.json").read_text())
    # One replication: the intervals are undefined, written null with the reason.
    assert summary["metrics"]["ending_arr"]["ci_low"] is None
    assert "metrics.ending_arr.ci_low" in summary["null_reasons"]


def test_files_follow_the_umask_and_nothing_is_left_behind(outputs):
    for name, folder in outputs.items():
        for path in folder.rglob("*"):
            mode = path.stat().st_mode & 0o777
            assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
        assert not (folder / ".replications").exists(), name
        assert not [p for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")], name


@pytest.mark.parametrize("command", ["run", "compare", "forecast"])
def test_a_late_failure_leaves_the_previous_output(outputs, tmp_path, monkeypatch, capsys, command):
    """Figures fail after the simulation and the tables: the previous folder stays as it was."""
    import csim.compare.figures
    import csim.forecast.plots
    import csim.plots

    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / "report.md").write_text("# the previous, complete output\n")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(csim.plots, "save_run_figures", broken)
    monkeypatch.setattr(csim.compare.figures, "save_comparison_figures", broken)
    monkeypatch.setattr(csim.forecast.plots, "plot_survival", broken)
    root = outputs["run"].parent
    argv = {
        "run": ["run", root / "tiny.toml", "--reps", "1", "--executor", "serial", "--no-progress"],
        "compare": ["compare", root / "tiny.toml", root / "tiny.toml", "--reps", "2", "--executor", "serial",
                    "--no-progress", "--no-survival"],
        "forecast": ["forecast", root / "customers.csv", "--duration", "tenure", "--event", "churned",
                     "--draws", "200"],
    }[command]
    before = snapshot(previous)
    status = main([str(a) for a in argv] + ["--out", str(previous)])
    err = capsys.readouterr().err
    assert status == 1 and err.splitlines()[-1].startswith("csim: error: unexpected OSError: disk full"), err
    assert snapshot(previous) == before
    # What may stay: the checkpoints of the simulation, beside the folder, for a rerun to resume from.
    left = {p.name: sorted(q.name for q in p.iterdir()) for p in tmp_path.iterdir() if p.name != "previous"}
    assert left == ({} if command == "forecast" else {".previous.partial": [".replications"]})
    if command != "forecast":
        monkeypatch.undo()
        assert main([str(a) for a in argv] + ["--out", str(previous)]) == 0
        assert "resumed: " in capsys.readouterr().err
        assert [p.name for p in tmp_path.iterdir()] == ["previous"]
        assert (previous / "report.md").read_text() != "# the previous, complete output\n"


def test_every_report_html_is_self_contained(outputs):
    """report.html parses, embeds every figure, requests nothing from anywhere, and every figure
    report.md refers to exists."""
    import re
    from html.parser import HTMLParser

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.images, self.links, self.tags = [], [], 0

        def handle_starttag(self, tag, attrs):
            self.tags += 1
            attrs = dict(attrs)
            if tag == "img":
                self.images.append(attrs.get("src", ""))
            for key in ("src", "href"):
                if attrs.get(key, "").startswith(("http://", "https://", "//")):
                    self.links.append(attrs[key])

    checked = 0
    for name, folder in outputs.items():
        markdown = (folder / "report.md").read_text()
        for figure in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
            assert (folder / figure).is_file(), (name, figure)
        page = Page()
        page.feed((folder / "report.html").read_text())
        assert page.tags > 20, name
        assert page.links == [], (name, page.links)
        assert page.images and all(src.startswith("data:image/") for src in page.images), name
        assert len(page.images) == len(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)), name
        checked += 1
    assert checked == 6
