"""Getting prices into the store: `import_csv` from a file and `fetch` from Yahoo Finance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from lstmcast.errors import LstmcastError
from lstmcast.sources import yahoo
from lstmcast.sources.csvfile import read_price_csv
from lstmcast.store.db import Store
from lstmcast.store.prices import UpsertStats, last_date, load_prices, upsert_prices
from lstmcast.tickers import exchange_of, today_at, validate_ticker

# Incremental fetches start this many calendar days before the last stored bar, so that
# late corrections of the most recent bars are caught.
REFETCH_OVERLAP_DAYS = 10


@dataclass
class ImportResult:
    ticker: str
    path: str
    rows: int
    first: str
    last: str
    stats: UpsertStats
    warnings: list[str] = field(default_factory=list)


def import_csv(store: Store, path: Path, ticker: str, source: str | None = None) -> ImportResult:
    """Validate the whole file first, then store it in one transaction (all rows or none)."""
    ticker = validate_ticker(ticker)
    parsed = read_price_csv(path, latest=today_at(exchange_of(ticker)[1]))
    stats = upsert_prices(store.conn, ticker, parsed.bars, source or f"csv:{path.name}")
    idx = parsed.bars.index
    return ImportResult(
        ticker,
        str(path),
        len(idx),
        str(idx[0].date()),
        str(idx[-1].date()),
        stats,
        parsed.warnings,
    )


@dataclass
class FetchOutcome:
    """What happened to one ticker; `error` is set when it failed and nothing was written."""

    ticker: str
    start: str | None = None
    end: str | None = None
    rows: int = 0
    stats: UpsertStats | None = None
    revised_history: bool = False
    error: LstmcastError | None = None


@dataclass
class FetchReport:
    outcomes: list[FetchOutcome]

    @property
    def errors(self) -> list[LstmcastError]:
        return [o.error for o in self.outcomes if o.error is not None]


def _adj_close_revised(stored: pd.DataFrame, fresh: pd.DataFrame) -> bool:
    """A split or dividend re-bases the whole adjusted history; the overlap shows it."""
    common = stored.index.intersection(fresh.index)
    if common.empty:
        return False
    old = stored.loc[common, "adj_close"].to_numpy()
    new = fresh.loc[common, "adj_close"].to_numpy()
    return bool((abs(old / new - 1.0) > 1e-6).any())


def fetch_one(
    store: Store, ticker: str, start: date | None, end: date | None, session: Any = None
) -> FetchOutcome:
    ticker = validate_ticker(ticker)
    outcome = FetchOutcome(ticker)
    try:
        stored_last = last_date(store.conn, ticker)
        if start is None and stored_last is not None:
            start = date.fromisoformat(stored_last) - timedelta(days=REFETCH_OVERLAP_DAYS)
        cache = store.home / "cache" / "yfinance"
        bars = yahoo.download_bars(ticker, start, end, session=session, cache_dir=cache)
        if stored_last is not None and _adj_close_revised(load_prices(store.conn, ticker), bars):
            # The provider re-based history: take all of it again so every row agrees.
            bars = yahoo.download_bars(ticker, None, end, session=session, cache_dir=cache)
            outcome.revised_history = True
        outcome.stats = upsert_prices(store.conn, ticker, bars, "yahoo")
        outcome.rows = len(bars)
        outcome.start, outcome.end = str(bars.index[0].date()), str(bars.index[-1].date())
    except LstmcastError as exc:
        outcome.error = exc
    return outcome


def fetch(
    store: Store,
    tickers: list[str],
    start: date | None = None,
    end: date | None = None,
    session: Any = None,
) -> FetchReport:
    """Fetch each ticker independently: one failing neither stops nor undoes the others."""
    checked = [validate_ticker(t) for t in tickers]  # reject bad input before any download
    return FetchReport([fetch_one(store, t, start, end, session) for t in checked])
