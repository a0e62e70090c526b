"""Universes: named sets of tickers with point-in-time membership, and their survivorship."""
