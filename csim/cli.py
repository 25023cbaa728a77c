"""The ``csim`` command line: ``csim run``, ``csim schema``, ``csim forecast``, ...

Each subcommand lives in the module that owns its job and exposes ``register(subparsers)``;
this file only wires them together and owns the one error path of every command:

* bad input — :class:`csim.errors.InputError`, :class:`csim.errors.LimitError` or a command-line
  usage error — prints one line ``csim: error: FILE: key-or-column [row N]: problem`` on stderr
  and exits with status 2;
* anything unexpected prints one line and "run with --debug for the traceback", exit status 1;
  with ``--debug`` the traceback is shown instead.

Heavy imports happen inside the handlers so ``csim --help`` is fast.
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
    "csim.commands.ledger",
    "csim.commands.calibrate",
    "csim.commands.report",
)


class UsageError(Exception):
    """A command-line usage error (unknown option, missing argument, value of the wrong type)."""

    def __init__(self, prog: str, message: str):
        # argparse says "argument --seed: invalid int value: 'abc'"; the option is the key here.
        message = message[len("argument "):] if message.startswith("argument ") else message
        super().__init__(f"{prog}: {message} (see {prog} --help)")


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors come out of :func:`main` as one line, exit 2.

    argparse would print the usage block and the error (five lines); the usage is one
    ``--help`` away, so only the error is printed.
    """

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="csim", description="SaaS churn: simulate customer-success strategies and forecast retention.")
    parser.add_argument("--version", action="version", version=f"csim {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an unexpected error (also accepted after the command)")
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
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        args = build_parser().parse_args(argv)
        status = args.handler(args)
    except (InputError, UsageError) as exc:
        return _fail(str(exc), 2)
    except LimitError as exc:
        source = getattr(args, "scenario", None) or " ".join(getattr(args, "scenarios", []) or [])
        return _fail(f"{source + ': ' if source else ''}{exc}", 2)
    except KeyboardInterrupt:
        print("csim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``csim run … | head``): not an error of csim's, nothing to say.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the one place an unexpected error becomes one line
        if debug:
            raise
        detail = " ".join(str(exc).split()) or "no message"
        return _fail(f"unexpected {type(exc).__name__}: {detail} (run with --debug for the traceback)", 1)
    return int(status or 0)


def _fail(message: str, status: int) -> int:
    print(f"csim: error: {' '.join(message.split())}", file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
