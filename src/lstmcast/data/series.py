"""Loading price series for the modelling commands, from the store or straight from a CSV."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lstmcast.errors import ConfigError, NotFoundError
from lstmcast.paths import atomic_write_text
from lstmcast.sources.csvfile import read_price_csv
from lstmcast.sources.yahoo import YAHOO_NAMES
from lstmcast.store.db import Store
from lstmcast.store.prices import TickerSummary, load_prices, summarize, tail
from lstmcast.tickers import label_from_filename, validate_ticker


@dataclass(frozen=True)
class Series:
    """One ticker's bars (DatetimeIndex, PRICE_COLUMNS), where they came from, and the bars of
    any exogenous series its models read (`--exog`)."""

    ticker: str
    bars: pd.DataFrame
    origin: str  # "store" or the CSV path
    exog: dict[str, pd.DataFrame] = field(default_factory=dict)

    def with_exog(self, store: Store, tickers: tuple[str, ...]) -> Series:
        """The same series plus stored bars of each exogenous ticker."""
        return Series(self.ticker, self.bars, self.origin, {t: load_stored(store, t).bars for t in tickers})


def stored_tickers(store: Store) -> list[TickerSummary]:
    return summarize(store.conn)


def load_stored(store: Store, ticker: str) -> Series:
    ticker = validate_ticker(ticker)
    bars = load_prices(store.conn, ticker)
    if bars.empty:
        raise NotFoundError(
            f"{ticker} is not stored; run `lstmcast fetch {ticker}`"
            f" or `lstmcast import FILE --ticker {ticker}`"
        )
    return Series(ticker, bars, "store")


def load_csv(path: Path, ticker: str | None = None) -> Series:
    """A CSV read directly, nothing stored; its label defaults to one made from the file name."""
    name = validate_ticker(ticker) if ticker else label_from_filename(str(path))
    return Series(name, read_price_csv(path).bars, str(path))


def ticker_tail(store: Store, ticker: str, n: int) -> list[dict[str, Any]]:
    ticker = validate_ticker(ticker)
    rows = tail(store.conn, ticker, n)
    if not rows:
        raise NotFoundError(f"{ticker} is not stored")
    return rows


def export_text(store: Store, ticker: str) -> tuple[str, int]:
    """A stored ticker as Yahoo-style CSV text, and its number of rows."""
    bars = load_stored(store, ticker).bars
    out = bars.rename(columns=YAHOO_NAMES)[list(YAHOO_NAMES.values())]
    out.index = pd.DatetimeIndex(out.index).strftime("%Y-%m-%d")
    out.index.name = "Date"
    buffer = io.StringIO()
    out.to_csv(buffer)
    return buffer.getvalue(), len(out)


def export_csv(store: Store, ticker: str, path: Path) -> int:
    """Write a Yahoo-style CSV (atomically, or in place into a pipe); returns the number of rows."""
    text, n = export_text(store, ticker)
    atomic_write_text(path, text)
    return n


def load_inputs(
    store: Store, tickers: tuple[str, ...], csv: str | None, exog: tuple[str, ...]
) -> list[Series]:
    """The series a modelling command works on: each stored ticker, or the one CSV (named by the
    single ticker given, if any), each with the stored bars of its exogenous series."""
    if csv is not None and len(tickers) > 1:
        raise ConfigError("--csv reads one series; several tickers must come from the store")
    if csv is not None:
        return [load_csv(Path(csv), tickers[0] if tickers else None).with_exog(store, exog)]
    if not tickers:
        raise ConfigError("give a stored TICKER (or several), or --csv PATH")
    return [load_stored(store, t).with_exog(store, exog) for t in tickers]
