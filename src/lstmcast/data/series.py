"""Loading price series for the modelling commands, from the store or straight from a CSV."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lstmcast.bars import Bars
from lstmcast.errors import ConfigError, NotFoundError
from lstmcast.paths import atomic_write_text
from lstmcast.store.db import Store
from lstmcast.store.prices import TickerSummary, load_bars, summarize, tail
from lstmcast.tickers import label_from_filename, validate_ticker

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, init=False)
class Series:
    """One ticker's bars, where they came from, and the bars of any exogenous series its models
    read (`--exog`). Bars given as a DataFrame are kept as `Bars`."""

    ticker: str
    bars: Bars
    origin: str  # "store" or the CSV path
    exog: dict[str, Bars]

    def __init__(
        self,
        ticker: str,
        bars: Bars | pd.DataFrame,
        origin: str,
        exog: Mapping[str, Bars | pd.DataFrame] | None = None,
    ) -> None:
        object.__setattr__(self, "ticker", ticker)
        object.__setattr__(self, "bars", Bars.of(bars))
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "exog", {t: Bars.of(b) for t, b in (exog or {}).items()})

    def with_exog(self, store: Store, tickers: tuple[str, ...]) -> Series:
        """The same series plus stored bars of each exogenous ticker."""
        return Series(self.ticker, self.bars, self.origin, {t: load_stored(store, t).bars for t in tickers})


def stored_tickers(store: Store) -> list[TickerSummary]:
    return summarize(store.conn)


def load_stored(store: Store, ticker: str) -> Series:
    ticker = validate_ticker(ticker)
    bars = load_bars(store.conn, ticker)
    if bars.empty:
        raise NotFoundError(
            f"{ticker} is not stored; run `lstmcast fetch {ticker}`"
            f" or `lstmcast import FILE --ticker {ticker}`"
        )
    return Series(ticker, bars, "store")


def load_csv(path: Path, ticker: str | None = None) -> Series:
    """A CSV read directly, nothing stored; its label defaults to one made from the file name."""
    from lstmcast.sources.csvfile import read_price_csv  # pandas: only where a file is read

    name = validate_ticker(ticker) if ticker else label_from_filename(str(path))
    return Series(name, read_price_csv(path).bars, str(path))


def ticker_tail(store: Store, ticker: str, n: int) -> list[dict[str, object]]:
    ticker = validate_ticker(ticker)
    rows = tail(store.conn, ticker, n)
    if not rows:
        raise NotFoundError(f"{ticker} is not stored")
    return rows


def export_text(store: Store, ticker: str) -> tuple[str, int]:
    """A stored ticker as Yahoo-style CSV text, and its number of rows."""
    import pandas as pd

    from lstmcast.sources.yahoo import YAHOO_NAMES

    bars = load_stored(store, ticker).bars.frame()
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
