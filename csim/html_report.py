"""``report.html``: the results folder's report as one self-contained page to send to people.

Every command writes ``report.md`` with its figures beside it; this renders that report to HTML
(``markdown-it-py``) inside a Jinja2 template, embeds every figure as a PNG data URI and the
scenario(s) as run in collapsible sections, so the page opens from a file or an e-mail
attachment with no request to anywhere, and prints to PDF as it shows. ``csim report DIR``
rebuilds it from a folder without simulating anything.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from csim import __version__
from csim.io import atomic_write_text

__all__ = ["render_html_report", "write_html_report"]

_IMG = re.compile(r'<img src="([^"]+)"')
#: Files shown, when present, as collapsible sections below the report: what the results rest on.
ATTACHMENTS = (("scenario.json", "The scenario as run"), ("sweep.json", "The sweep as defined"),
               ("scenario.toml", "The calibrated scenario as written"))


def _embed(html: str, folder: Path) -> str:
    """Replace each local ``<img src="x.png">`` by the picture itself (a base64 data URI)."""
    def replace(match: re.Match) -> str:
        target = folder / match.group(1)
        if match.group(1).startswith(("data:", "http:", "https:")) or not target.is_file():
            return match.group(0)
        kind = "svg+xml" if target.suffix.lower() == ".svg" else target.suffix.lower().lstrip(".") or "png"
        data = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'<img src="data:image/{kind};base64,{data}"'
    return _IMG.sub(replace, html)


def render_html_report(folder: str | os.PathLike, markdown: str | None = None) -> str:
    """The HTML text of ``folder``'s report (``markdown``: the report text, default ``folder/report.md``)."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markdown_it import MarkdownIt

    folder = Path(folder)
    text = markdown if markdown is not None else (folder / "report.md").read_text(encoding="utf-8")
    body = _embed(MarkdownIt("commonmark", {"html": False}).enable("table").render(text), folder)
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), "csim report")
    attachments = [{"title": label, "text": (folder / name).read_text(encoding="utf-8")}
                   for name, label in ATTACHMENTS if (folder / name).is_file()]
    env = Environment(loader=PackageLoader("csim", "templates"), autoescape=select_autoescape(["html", "j2"]))
    from markupsafe import Markup

    return env.get_template("report.html.j2").render(title=title, body=Markup(body), attachments=attachments,
                                                     version=__version__, source="report.md")


def write_html_report(folder: str | os.PathLike) -> Path:
    """Write ``folder/report.html`` from ``folder/report.md`` and its figures (atomically)."""
    folder = Path(folder)
    path = folder / "report.html"
    atomic_write_text(path, render_html_report(folder))
    return path
