"""The SimPy lifecycle engine. Imports neither pandas nor matplotlib."""
