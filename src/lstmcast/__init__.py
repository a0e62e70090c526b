"""lstmcast: honest daily stock forecasts, always next to the random walk."""

__version__ = "0.1.0"
