"""Dated forecasts from saved models, their intervals, the exchange calendar, and the ledger."""
