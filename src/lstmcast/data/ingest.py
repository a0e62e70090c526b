"""Getting prices into the store: `import_csv` from a file and `fetch` from Yahoo Finance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.config import PRICE_COLUMNS
from lstmcast.errors import ConfigError, DataError, LstmcastError, NotFoundError
from lstmcast.sources import yahoo
from lstmcast.sources.csvfile import read_price_csv
from lstmcast.store.db import Store
from lstmcast.store.prices import UpsertStats, last_date, load_prices, note_fetch, upsert_prices
from lstmcast.store.revisions import Restored, remove_ticker, restore_last
from lstmcast.tickers import exchange_of, today_at, validate_ticker

# Incremental fetches start this many calendar days before the last stored bar, so that
# late corrections of the most recent bars are caught.
REFETCH_OVERLAP_DAYS = 10
# Revisions an import may make without --replace: changes within rounding of the provider's
# last digit, or one constant ratio per column across the revised bars (a split or dividend
# re-adjustment re-bases history by one factor). 5e-4 in log terms: six-decimal prices of a
# penny stock still pass.
ROUNDING = 1e-4
RATIO_SPREAD = 5e-4


@dataclass(frozen=True)
class Revision:
    """How an import would change the bars already stored on the same dates."""

    changed: int  # stored bars whose values would change
    median_change: float  # of the adjusted close, relative
    largest_change: float
    benign: bool  # rounding, or a constant-ratio re-adjustment: no --replace needed


def revision_of(stored: pd.DataFrame, fresh: pd.DataFrame) -> Revision:
    """Compare the overlapping dates of `stored` and `fresh` (both PRICE_COLUMNS by date)."""
    common = stored.index.intersection(fresh.index)
    old = stored.loc[common, list(PRICE_COLUMNS)].to_numpy(dtype="float64")
    new = fresh.loc[common, list(PRICE_COLUMNS)].to_numpy(dtype="float64")
    both = np.isfinite(old) & np.isfinite(new)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(both & (old != 0), np.abs(new / old - 1.0), 0.0)
    presence = np.isfinite(old) != np.isfinite(new)
    differs = (rel > 1e-9) | presence
    rows = differs.any(axis=1)
    if not rows.any():
        return Revision(0, 0.0, 0.0, True)
    adj = rel[rows, PRICE_COLUMNS.index("adj_close")]
    tiny = bool((rel[rows] <= ROUNDING).all()) and not presence.any()
    # A split or dividend re-bases all history up to a date by one factor: the revised bars
    # are every stored bar from the first on. A constant ratio on bars in the middle or at the
    # end (a file in pence for a series in pounds, a hand edit) is a revision like any other.
    revised = np.flatnonzero(rows)
    prefix = len(stored) > 0 and stored.index[0] == common[0] and revised[-1] + 1 == len(revised)
    constant = prefix and not presence[rows].any()
    for c in range(len(PRICE_COLUMNS)):
        ok = both[rows, c] & (old[rows, c] > 0) & (new[rows, c] > 0)
        if ok.any():
            ratio = np.log(new[rows, c][ok] / old[rows, c][ok])
            constant = constant and float(np.ptp(ratio)) <= RATIO_SPREAD
    return Revision(int(rows.sum()), float(np.median(adj)), float(adj.max()), tiny or constant)


@dataclass
class ImportResult:
    ticker: str
    path: str
    rows: int
    first: str
    last: str
    stats: UpsertStats
    warnings: list[str] = field(default_factory=list)


def import_csv(
    store: Store,
    path: Path,
    ticker: str,
    source: str | None = None,
    replace: bool = False,
    strict: bool = False,
) -> ImportResult:
    """Validate the whole file first, then store it in one transaction (all rows or none).

    Stored bars the file would change beyond rounding, other than by one constant ratio (a
    split or dividend re-adjustment), are refused unless `replace`; what is replaced is kept
    for `data restore`. `strict` refuses the empty days of a close-only series.
    """
    ticker = validate_ticker(ticker)
    parsed = read_price_csv(path, latest=today_at(exchange_of(ticker)[1]), strict=strict)
    revision = revision_of(load_prices(store.conn, ticker), parsed.bars)
    if not revision.benign and not replace:
        raise DataError(
            f"{ticker}: importing {path.name} would change {revision.changed} stored bar(s), the adjusted"
            f" close by {revision.median_change:.1%} (median) and up to {revision.largest_change:.1%},"
            " not as a split or dividend would (one constant ratio on all history up to a date);"
            " nothing was written. Pass"
            f" --replace to overwrite them (`lstmcast data restore {ticker}` undoes it)"
        )
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


@dataclass(frozen=True)
class ImportFailure:
    path: str
    error: str


@dataclass
class ImportBatch:
    """Many files imported at once: each is its own all-or-nothing write."""

    imported: list[ImportResult]
    failed: list[ImportFailure]


CSV_SUFFIXES = (".csv", ".csv.gz")


def ticker_of_file(path: Path) -> str:
    """The ticker a price file names (`AAPL.csv`, `brk-b.csv.gz` -> AAPL, BRK-B), or a DataError
    that says to rename it or import it alone with --ticker."""
    name = path.name
    stem = next((name[: -len(s)] for s in CSV_SUFFIXES if name.lower().endswith(s)), path.stem)
    try:
        return validate_ticker(stem)
    except DataError:
        raise DataError(
            f"{name}: its name is not a ticker; rename it (e.g. AAPL.csv) or import it alone with --ticker T"
        ) from None


def price_files(paths: list[Path]) -> list[Path]:
    """The files `paths` name: each file as given, and each folder's .csv and .csv.gz files (not
    its subfolders), in name order. A folder without one is refused."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(CSV_SUFFIXES))
            if not found:
                raise ConfigError(f"{p} holds no .csv or .csv.gz file")
            out.extend(found)
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def import_many(store: Store, paths: list[Path], replace: bool = False, strict: bool = False) -> ImportBatch:
    """Import every file that `paths` names (folders give their price files), each under the
    ticker its file name gives; a file that fails is reported and the others go on. Two files
    that name one ticker are refused before anything is written."""
    store.require_writable()
    files = price_files(paths)
    named: dict[str, list[Path]] = {}
    failed: list[ImportFailure] = []
    for f in files:
        try:
            named.setdefault(ticker_of_file(f), []).append(f)
        except DataError as exc:
            failed.append(ImportFailure(str(f), str(exc)))
    twice = {t: fs for t, fs in named.items() if len(fs) > 1}
    if twice:
        t, fs = next(iter(twice.items()))
        raise ConfigError(
            f"{', '.join(f.name for f in fs)} all name {t}: import them one at a time with --ticker;"
            " nothing was written"
        )
    imported = []
    for ticker, (f,) in named.items():
        try:
            imported.append(import_csv(store, f, ticker, replace=replace, strict=strict))
        except LstmcastError as exc:
            failed.append(ImportFailure(str(f), str(exc)))
    return ImportBatch(imported, failed)


def remove(store: Store, ticker: str) -> int:
    """Delete a ticker's stored bars (kept for `restore`); how many there were."""
    ticker = validate_ticker(ticker)
    n = remove_ticker(store.conn, ticker)
    if not n:
        raise NotFoundError(f"{ticker} is not stored")
    return n


def restore(store: Store, ticker: str) -> Restored:
    """Undo the newest write that revised or removed a ticker's bars."""
    ticker = validate_ticker(ticker)
    done = restore_last(store.conn, ticker)
    if done is None:
        raise NotFoundError(f"{ticker}: nothing to restore (no import, fetch or rm has revised its bars)")
    return done


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
    store: Store, ticker: str, start: date | None, end: date | None, session: object = None
) -> FetchOutcome:
    """Download one ticker into the store (incrementally when it has bars), and note how it
    ended; a failure is in the outcome, never raised."""
    outcome = _fetch_one(store, ticker, start, end, session)
    err = outcome.error
    note_fetch(store.conn, outcome.ticker, "ok" if err is None else _outcome_word(err))
    return outcome


def _outcome_word(error: LstmcastError) -> str:
    return "not found" if isinstance(error, NotFoundError) else "failed"


def _fetch_one(
    store: Store, ticker: str, start: date | None, end: date | None, session: object = None
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
        outcome.stats = upsert_prices(store.conn, ticker, bars, "yahoo", reason="fetch")
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
    session: object = None,
    pause: float = 0.0,
) -> FetchReport:
    """Fetch each ticker independently: one failing neither stops nor undoes the others.
    `pause` seconds pass between two downloads (a throttle Yahoo's rate limit asks for)."""
    checked = [validate_ticker(t) for t in tickers]  # reject bad input before any download
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--start {start} is after --end {end}: nothing to fetch")
    if start is not None and start > date.today():
        raise ConfigError(f"--start {start} is in the future: nothing to fetch yet")
    if not pause >= 0:
        raise ConfigError(f"--pause {pause} is not a number of seconds >= 0")
    store.require_writable()
    outcomes = []
    for i, t in enumerate(checked):
        if i and pause:
            _wait(pause)
        outcomes.append(fetch_one(store, t, start, end, session))
    return FetchReport(outcomes)


_wait: Callable[[float], None] = time.sleep  # the throttle; tests record it instead of waiting
