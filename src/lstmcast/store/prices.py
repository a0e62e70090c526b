"""Reading and writing daily bars: idempotent upserts that count what really changed."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lstmcast.bars import Bars
from lstmcast.config import PRICE_COLUMNS
from lstmcast.store.db import transaction, utcnow
from lstmcast.store.revisions import has_history, keep_batch

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class UpsertStats:
    """What one write did, in the words the tables use: `new` dates, `revised` ones (stored
    before with other values), and `unchanged` rows already stored with the same values."""

    new: int
    revised: int
    unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.new or self.revised)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _none_if_nan(value: object) -> float | None:
    if value is None:
        return None
    f = float(value)  # type: ignore[arg-type]
    return None if math.isnan(f) else f


def upsert_prices(
    conn: sqlite3.Connection, ticker: str, bars: pd.DataFrame, source: str, reason: str = "import"
) -> UpsertStats:
    """Insert new dates, replace revised ones, leave identical ones alone; one transaction.

    `bars` is indexed by date with PRICE_COLUMNS (open/high/low/volume may be NaN). A write
    that revises stored bars, or any write to a ticker with undo history, keeps their old
    values (and the dates it adds) as one batch in `price_revisions`, so `data restore` can
    undo it exactly.
    """
    fetched_at = utcnow()
    rows = [
        (d.strftime("%Y-%m-%d"), *(_none_if_nan(v) for v in vals))
        for d, vals in zip(bars.index, bars[PRICE_COLUMNS].itertuples(index=False), strict=True)
    ]
    inserted = updated = unchanged = 0
    existing: dict[str, sqlite3.Row] = {}
    with transaction(conn):
        if rows:
            existing = {
                r["date"]: r
                for r in conn.execute(
                    "SELECT date, open, high, low, close, adj_close, volume, source, fetched_at"
                    " FROM prices WHERE ticker = ? AND date BETWEEN ? AND ?",
                    (ticker, rows[0][0], rows[-1][0]),
                )
            }
        to_write = []
        replaced: list[sqlite3.Row] = []
        added: list[str] = []
        for row in rows:
            old = existing.get(row[0])
            if old is None:
                inserted += 1
                added.append(row[0])
            elif all(_same(old[c], b) for c, b in zip(PRICE_COLUMNS, row[1:], strict=True)):
                unchanged += 1
                continue
            else:
                updated += 1
                replaced.append(old)
            to_write.append((ticker, *row, source, fetched_at))
        # A revising write is kept for `data restore`; so is every write to a ticker that has
        # undo history already (after an rm or a revision), so that a restore puts back exactly
        # the bars before the newest write and never blends two series.
        if replaced or (added and has_history(conn, ticker)):
            keep_batch(conn, ticker, replaced, added, reason)
        conn.executemany(
            "INSERT INTO prices (ticker, date, open, high, low, close, adj_close, volume,"
            " source, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (ticker, date) DO UPDATE SET open = excluded.open,"
            " high = excluded.high, low = excluded.low, close = excluded.close,"
            " adj_close = excluded.adj_close, volume = excluded.volume,"
            " source = excluded.source, fetched_at = excluded.fetched_at",
            to_write,
        )
    return UpsertStats(inserted, updated, unchanged)


def load_bars(conn: sqlite3.Connection, ticker: str) -> Bars:
    """All stored bars of `ticker`, oldest first: read with sqlite3 into numpy, no pandas."""
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: twice as fast as sqlite3.Row for thousands of bars
    rows = cursor.execute(
        "SELECT date, open, high, low, close, adj_close, volume FROM prices WHERE ticker = ? ORDER BY date",
        (ticker,),
    ).fetchall()
    return Bars.from_rows(rows)


def load_prices(conn: sqlite3.Connection, ticker: str) -> pd.DataFrame:
    """All stored bars of `ticker`, oldest first, indexed by a DatetimeIndex named `date`."""
    return load_bars(conn, ticker).frame()


def last_date(conn: sqlite3.Connection, ticker: str) -> str | None:
    row = conn.execute("SELECT max(date) FROM prices WHERE ticker = ?", (ticker,)).fetchone()
    return row[0] if row and row[0] else None


@dataclass(frozen=True)
class TickerSummary:
    ticker: str
    first: str
    last: str
    rows: int
    source: str


def summarize(conn: sqlite3.Connection) -> list[TickerSummary]:
    """One line per stored ticker; `source` lists every source its rows came from."""
    return [
        TickerSummary(r[0], r[1], r[2], r[3], r[4])
        for r in conn.execute(
            "SELECT ticker, min(date), max(date), count(*), group_concat(DISTINCT source)"
            " FROM prices GROUP BY ticker ORDER BY ticker"
        )
    ]


def tail(conn: sqlite3.Connection, ticker: str, n: int) -> list[dict[str, object]]:
    rows = conn.execute(
        "SELECT date, open, high, low, close, adj_close, volume, source FROM prices"
        " WHERE ticker = ? ORDER BY date DESC LIMIT ?",
        (ticker, n),
    ).fetchall()
    return [dict(r) for r in reversed(rows)]


def adjusted_closes(conn: sqlite3.Connection, ticker: str) -> tuple[list[str], list[float]]:
    """Dates (ISO, oldest first) and adjusted closes of every stored bar of `ticker`."""
    rows = conn.execute(
        "SELECT date, adj_close FROM prices WHERE ticker = ? ORDER BY date", (ticker,)
    ).fetchall()
    return [r[0] for r in rows], [float(r[1]) for r in rows]


def note_fetch(conn: sqlite3.Connection, ticker: str, outcome: str) -> None:
    """Remember how the newest download of `ticker` ended ("ok", "not found" or "failed")."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO fetches (ticker, fetched_at, outcome) VALUES (?, ?, ?) ON CONFLICT (ticker)"
            " DO UPDATE SET fetched_at = excluded.fetched_at, outcome = excluded.outcome",
            (ticker, utcnow(), outcome),
        )


def fetched_since(conn: sqlite3.Connection, since: str) -> dict[str, str]:
    """Ticker -> outcome of each download that ended (not "failed") at or after `since` (ISO UTC)."""
    rows = conn.execute(
        "SELECT ticker, outcome FROM fetches WHERE fetched_at >= ? AND outcome != 'failed'", (since,)
    )
    return {r[0]: r[1] for r in rows}
