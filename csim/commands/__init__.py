"""Subcommands of the ``csim`` command line, one module each."""
