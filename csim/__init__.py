"""csim: SaaS customer churn — discrete-event simulation and survival forecasting."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("csim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "run_scenario", "compare_scenarios"]


def __getattr__(name: str):
    """``csim.run_scenario`` and ``csim.compare_scenarios``, imported on first use so that
    ``import csim`` stays light (the command line starts fast)."""
    if name == "run_scenario":
        from csim.runs import run_scenario

        return run_scenario
    if name == "compare_scenarios":
        from csim.compare.outputs import compare_scenarios

        return compare_scenarios
    raise AttributeError(f"module 'csim' has no attribute {name!r}")
