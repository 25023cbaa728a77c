"""Writing a calibration: the scenario file, its side files and the optional report folder."""

from __future__ import annotations

from pathlib import Path

from csim.calibrate.calibration import COMMENTED_TABLES, Calibration, book_file


def json_file(out: Path) -> Path:
    """The calibration JSON written next to the scenario ``out``."""
    return out.with_name(out.stem + ".calibration.json")


def write_calibration(calibration: Calibration, out, report=None) -> Path:
    """Write what ``csim calibrate`` writes and return the scenario's path.

    ``out``: the scenario file (``.toml``), written last; next to it ``FILE.calibration.json`` and,
    from a ledger, ``FILE.book.csv`` (the scenario's ``initial_book.file``). ``report``: a folder
    to (re)write whole with ``check.csv`` and ``report.md``. The scenario is validated before
    anything is written and loaded again once written (comments and all).
    """
    from csim.calibrate.report import header, report_markdown
    from csim.calibrate.scenario_file import render
    from csim.io import atomic_write_csv, atomic_write_text, staged_output
    from csim.provenance import write_json
    from csim.scenario import load_scenario
    from csim.scenario.load import validate_scenario

    out = Path(out)
    validate_scenario(calibration.data, out)  # a calibrated scenario that does not validate is a bug: say where
    default = f"from base: assumption (not in {calibration.observed.not_in})"
    text = render(calibration.data, calibration.sources, header(calibration, out.stem), default, COMMENTED_TABLES)
    if report is not None:
        from csim.html_report import write_html_report

        with staged_output(report) as staging:
            if calibration.check is not None:
                atomic_write_csv(calibration.check, staging / "check.csv")
            atomic_write_text(staging / "report.md", report_markdown(calibration, str(out)))
            # The scenario as written, shown (collapsible) in report.html.
            atomic_write_text(staging / "scenario.toml", text)
            write_html_report(staging)
    write_json(json_file(out), calibration.to_json())
    if calibration.book is not None:
        atomic_write_csv(calibration.book, out.with_name(calibration.data["initial_book"].get("file") or book_file(out.stem)))
    atomic_write_text(out, text)
    load_scenario(out)
    return out
