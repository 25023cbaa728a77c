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


class LimitError(Exception):
    """A run outgrew a safety limit set in the scenario (e.g. runaway referral growth).

    ``key`` names the scenario key that sets the limit; the command line reports it like an
    input error (one line, exit status 2), since the scenario is what needs changing.
    """

    def __init__(self, key: str, problem: str):
        # Both in args: SimPy re-raises a process's exception as type(exc)(*exc.args).
        super().__init__(key, problem)
        self.key = key
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}"
