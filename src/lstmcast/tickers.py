"""Ticker validation: done before a ticker touches a file name or a query."""

from __future__ import annotations

import re

from lstmcast.errors import DataError

_TICKER = re.compile(r"^[A-Z0-9.^=\-]{1,15}$")


def validate_ticker(raw: str) -> str:
    """Return the upper-cased ticker or raise DataError (letters, digits, `.^=-`, <= 15 chars)."""
    ticker = raw.strip().upper()
    if not _TICKER.match(ticker):
        raise DataError(f"invalid ticker {raw!r}: use letters, digits and . ^ = - (at most 15 characters)")
    return ticker
