"""Every command's help: each option described, no reStructuredText markup leaking into it."""

from __future__ import annotations

import argparse

from csim.cli import build_parser


def _commands():
    parser = build_parser()
    yield "csim", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from ((f"csim {name}", sub) for name, sub in action.choices.items())


def test_every_option_has_a_help_text_and_no_markup():
    missing, markup = [], []
    for name, parser in _commands():
        for action in parser._actions:
            if not action.help and not isinstance(action, argparse._SubParsersAction):
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
        text = parser.format_help()
        if "``" in text or ":func:" in text or ":class:" in text:
            markup.append(name)
    assert missing == [], missing
    assert markup == [], markup
