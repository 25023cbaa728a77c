"""Errors that mean "the user's input is wrong" (exit code 2, one line, no traceback)."""

from __future__ import annotations


class InputError(Exception):
    """A scenario, data file or command-line value the user supplied is invalid.

    The message is one line naming the file and the key, column or row at fault:
    ``FILE: key-or-column [row N]: problem``. The command-line entry point prints it after
    ``csim: error: `` and exits with status 2.

    Parameters
    ----------
    source:
        The file (or, for a command-line value, the option) the input came from.
    where:
        The key, column or option at fault, or None when the whole input is.
    problem:
        What is wrong, in plain words; one line.
    row:
        1-based data row (header excluded) of a table, when one row is at fault.
    """

    def __init__(self, source: str, where: str | None, problem: str, *, row: int | None = None):
        self.source = str(source)
        self.where = where
        self.problem = " ".join(str(problem).split())  # one line, whatever the library said
        self.row = row
        location = self.source
        if where:
            location += f": {where}"
        if row is not None:
            location += f" row {row}" if where else f": row {row}"
        super().__init__(f"{location}: {self.problem}")


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
