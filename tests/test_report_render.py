"""A compare report rendered by a real browser: headless Chromium draws report.html to a PNG.

Runs where Debian's ``chromium`` is installed (``apt-get install chromium``; see README); skipped
elsewhere. The parser checks of every command's report (tests/test_output_policy.py and the
command tests) do not see what a reader sees: a page the browser cannot lay out, a figure that
does not decode, a page that waits for a resource. Here the browser loads the file with the
network switched off, and the screenshot must show the page: a picture as wide as the window,
mostly white paper with dark text and coloured figures (hundreds of rows of them) on it, not a blank or an error page.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from csim.cli import main

ROOT = Path(__file__).resolve().parents[1]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(BROWSER is None, reason="chromium is not installed")]
TINY = ["horizon_months=14", "initial_book.customers=120", "acquisition.leads_per_month=40", "cs_team.headcount=1"]


def test_headless_chromium_renders_a_compare_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", str(ROOT / "scenarios" / "renewal_focus.toml"), str(ROOT / "scenarios" / "expansion_focus.toml"),
            "--reps", "3", "--out", str(out), "--no-progress", "--workers", "1"]
    argv += [w for o in TINY for w in ("--set", o)]
    assert main(argv) == 0, capsys.readouterr().err
    # The page alone, away from its folder: as an e-mail attachment, with nothing beside it.
    alone = tmp_path / "alone"
    alone.mkdir()
    page = alone / "report.html"
    shutil.copy(out / "report.html", page)
    shot = tmp_path / "page.png"
    # No network at all: a page that needs one would show broken parts, not fetch them.
    run = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                          "--window-size=1200,16000", f"--screenshot={shot}", page.as_uri()],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (16000, 1200)
    grey = pixels.mean(axis=2)
    white = float(np.mean(grey > 0.95))
    dark = float(np.mean(grey < 0.4))
    # Rows of the page with coloured pixels: the figures (text and tables are black on white).
    coloured_rows = int(np.sum((pixels.max(axis=2) - pixels.min(axis=2) > 0.25).any(axis=1)))
    assert white > 0.5, f"not a page on white paper ({white:.0%} white)"
    assert dark > 0.005, f"no text drawn ({dark:.2%} dark pixels)"
    assert coloured_rows > 300, f"no figure drawn ({coloured_rows} rows with colour)"
    # Printed to PDF as a reader would send it on: a PDF of several pages.
    pdf = tmp_path / "page.pdf"
    run = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
                          "--proxy-bypass-list=<-loopback>", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                          page.as_uri()], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0 and pdf.is_file(), run.stderr[-2000:]
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 3
