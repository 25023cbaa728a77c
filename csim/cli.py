"""The ``csim`` command line: ``csim run``, ``csim schema``, ``csim forecast``, ...

Each subcommand lives in the module that owns its job and exposes ``register(subparsers)``;
this file only wires them together and turns :class:`csim.errors.InputError` into one line on
stderr and exit status 2. Heavy imports happen inside the handlers so ``csim --help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from csim import __version__
from csim.errors import InputError, LimitError

#: Modules that contribute a subcommand, in the order ``csim --help`` lists them.
SUBCOMMAND_MODULES = (
    "csim.commands.run",
    "csim.commands.schema",
    "csim.commands.compare",
    "csim.commands.sweep",
    "csim.forecast.cli",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits with status 2 on usage errors already; keep its one-line message."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="csim", description="SaaS churn: simulate customer-success strategies and forecast retention.")
    parser.add_argument("--version", action="version", version=f"csim {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:  # a subcommand still being built must not break the others
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``csim`` console script. Returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.handler(args)
    except InputError as exc:
        print(f"csim: error: {exc}", file=sys.stderr)
        return 2
    except LimitError as exc:
        source = getattr(args, "scenario", None) or " ".join(getattr(args, "scenarios", []) or [])
        print(f"csim: error: {source + ': ' if source else ''}{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("csim: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
