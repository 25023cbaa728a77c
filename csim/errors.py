"""Errors that mean "the user's input is wrong" (exit code 2, one line, no traceback)."""

from __future__ import annotations


class InputError(Exception):
    """A scenario, data file or command-line value the user supplied is invalid.

    The message is one line naming the file and the key, column or row at fault.
    The command-line entry point prints it and exits with status 2.
    """

    def __init__(self, source: str, where: str | None, problem: str):
        self.source = str(source)
        self.where = where
        self.problem = problem
        location = f"{self.source}: {where}" if where else self.source
        super().__init__(f"{location}: {problem}")
