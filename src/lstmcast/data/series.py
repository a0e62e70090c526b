"""Loading price series for the modelling commands, from the store or straight from a CSV."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lstmcast.config import YAHOO_NAMES
from lstmcast.errors import DataError, NotFoundError
from lstmcast.paths import atomic_write_text
from lstmcast.sources.csvfile import read_price_csv
from lstmcast.store.db import connect
from lstmcast.store.prices import TickerSummary, load_prices, summarize, tail
from lstmcast.tickers import validate_ticker


@dataclass(frozen=True)
class Series:
    """One ticker's bars (DatetimeIndex, PRICE_COLUMNS), where they came from, and the bars of
    any exogenous series its models read (`--exog`)."""

    ticker: str
    bars: pd.DataFrame
    origin: str  # "store" or the CSV path
    exog: dict[str, pd.DataFrame] = field(default_factory=dict)

    def with_exog(self, home: Path, tickers: tuple[str, ...]) -> Series:
        """The same series plus stored bars of each exogenous ticker."""
        return Series(self.ticker, self.bars, self.origin, {t: load_stored(home, t).bars for t in tickers})


def stored_tickers(home: Path) -> list[TickerSummary]:
    conn = connect(home)
    try:
        return summarize(conn)
    finally:
        conn.close()


def load_stored(home: Path, ticker: str) -> Series:
    ticker = validate_ticker(ticker)
    conn = connect(home)
    try:
        bars = load_prices(conn, ticker)
    finally:
        conn.close()
    if bars.empty:
        raise NotFoundError(
            f"{ticker} is not stored; run `lstmcast fetch {ticker}`"
            f" or `lstmcast import FILE --ticker {ticker}`"
        )
    return Series(ticker, bars, "store")


def load_csv(path: Path, ticker: str | None = None) -> Series:
    """A CSV read directly, nothing stored; the ticker defaults to the file's stem."""
    name = ticker or path.name.split(".")[0]
    return Series(validate_ticker(name), read_price_csv(path).bars, str(path))


def load_series(home: Path, ticker: str | None, csv: Path | None) -> Series:
    """The modelling commands' input: a stored TICKER or --csv PATH, exactly one of them."""
    if csv is not None:
        return load_csv(csv, ticker)
    if ticker is None:
        raise DataError("give a stored TICKER or --csv PATH")
    return load_stored(home, ticker)


def ticker_tail(home: Path, ticker: str, n: int) -> list[dict[str, Any]]:
    ticker = validate_ticker(ticker)
    conn = connect(home)
    try:
        rows = tail(conn, ticker, n)
    finally:
        conn.close()
    if not rows:
        raise NotFoundError(f"{ticker} is not stored")
    return rows


def export_csv(home: Path, ticker: str, path: Path) -> int:
    """Write a Yahoo-style CSV atomically; returns the number of rows."""
    bars = load_stored(home, ticker).bars
    out = bars.rename(columns=YAHOO_NAMES)[list(YAHOO_NAMES.values())]
    out.index = pd.DatetimeIndex(out.index).strftime("%Y-%m-%d")
    out.index.name = "Date"
    buffer = io.StringIO()
    out.to_csv(buffer)
    atomic_write_text(path, buffer.getvalue())
    return len(out)
