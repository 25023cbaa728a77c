"""csim: SaaS customer churn — discrete-event simulation and survival forecasting."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("csim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
