"""Ticker validation (before a ticker touches a file name or a query), and labels for CSV series."""

from __future__ import annotations

import re
from pathlib import Path

from lstmcast.errors import DataError

_TICKER = re.compile(r"^[A-Z0-9.^=\-]{1,15}$")


def validate_ticker(raw: str) -> str:
    """Return the upper-cased ticker or raise DataError (letters, digits, `.^=-`, <= 15 chars)."""
    ticker = raw.strip().upper()
    if not _TICKER.match(ticker):
        raise DataError(f"invalid ticker {raw!r}: use letters, digits and . ^ = - (at most 15 characters)")
    return ticker


def label_from_filename(path: str) -> str:
    """A safe series label from a file name (`my prices.csv` -> `MY-PRICES`): a file's name
    names the data, it is not a ticker, so anything outside the ticker alphabet becomes '-'."""
    stem = Path(path).name.split(".")[0]
    label = re.sub(r"-{2,}", "-", re.sub(r"[^A-Z0-9.^=\-]", "-", stem.strip().upper())).strip("-")
    return (label or "CSV")[:15]
