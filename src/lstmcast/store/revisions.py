"""Undoing writes to prices: the bars a revising write replaced (or a removal took) are kept
in `price_revisions`, one batch per write, and `restore_last` puts the newest batch back.
Once a ticker has such history, every later write to it is a batch too, so each restore
undoes exactly the newest write."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from lstmcast.config import PRICE_COLUMNS
from lstmcast.store.db import transaction, utcnow

_COLUMNS = ("date", *PRICE_COLUMNS, "source", "fetched_at")


def keep_batch(
    conn: sqlite3.Connection,
    ticker: str,
    replaced: Iterable[sqlite3.Row | dict[str, object]],
    inserted: Iterable[str],
    reason: str,
) -> int:
    """Inside the caller's transaction: save the rows a write is about to replace, and the dates
    it inserts; returns the batch number."""
    batch = int(conn.execute("SELECT coalesce(max(batch), 0) + 1 FROM price_revisions").fetchone()[0])
    now = utcnow()
    rows = [(batch, ticker, r["date"], 0, *(r[c] for c in _COLUMNS[1:]), now, reason) for r in replaced]
    rows += [(batch, ticker, d, 1, *([None] * (len(_COLUMNS) - 1)), now, reason) for d in inserted]
    conn.executemany(
        "INSERT INTO price_revisions (batch, ticker, date, was_new, open, high, low, close, adj_close,"
        " volume, source, fetched_at, revised_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return batch


def has_history(conn: sqlite3.Connection, ticker: str) -> bool:
    """Whether `ticker` has a write that `restore_last` could undo."""
    return (
        conn.execute("SELECT 1 FROM price_revisions WHERE ticker = ? LIMIT 1", (ticker,)).fetchone()
        is not None
    )


def remove_ticker(conn: sqlite3.Connection, ticker: str) -> int:
    """Delete every stored bar of `ticker`, keeping them as a batch `restore_last` brings back."""
    with transaction(conn):
        rows = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM prices WHERE ticker = ? ORDER BY date", (ticker,)
        ).fetchall()
        if rows:
            keep_batch(conn, ticker, rows, (), "rm")
            conn.execute("DELETE FROM prices WHERE ticker = ?", (ticker,))
    return len(rows)


@dataclass(frozen=True)
class Restored:
    ticker: str
    reason: str  # what the undone write was: import, fetch or rm
    revised_at: str
    restored: int  # bars put back to their earlier values
    removed: int  # bars that write had added, deleted again


def restore_last(conn: sqlite3.Connection, ticker: str) -> Restored | None:
    """Undo the newest revising write of `ticker` (None when there is nothing to undo)."""
    with transaction(conn):
        row = conn.execute("SELECT max(batch) FROM price_revisions WHERE ticker = ?", (ticker,)).fetchone()
        if row is None or row[0] is None:
            return None
        batch = int(row[0])
        kept = conn.execute(
            "SELECT * FROM price_revisions WHERE batch = ? AND ticker = ?", (batch, ticker)
        ).fetchall()
        new = [(ticker, r["date"]) for r in kept if r["was_new"]]
        old = [(ticker, *(r[c] for c in _COLUMNS)) for r in kept if not r["was_new"]]
        conn.executemany("DELETE FROM prices WHERE ticker = ? AND date = ?", new)
        conn.executemany(
            "INSERT OR REPLACE INTO prices (ticker, date, open, high, low, close, adj_close, volume,"
            " source, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            old,
        )
        conn.execute("DELETE FROM price_revisions WHERE batch = ? AND ticker = ?", (batch, ticker))
    return Restored(ticker, kept[0]["reason"], kept[0]["revised_at"], len(old), len(new))
