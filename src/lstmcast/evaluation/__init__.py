"""Judging forecasts: metrics, statistical tests and the baselines every model must beat."""
