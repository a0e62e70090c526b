"""Universes in the store: a name, where its list came from, and each member's spans."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from lstmcast.store.db import transaction, utcnow


@dataclass(frozen=True)
class Span:
    """One span of one ticker's membership: ISO dates, inclusive; None is open."""

    ticker: str
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class UniverseRecord:
    name: str
    created_at: str
    source: str  # "tickers" (named on the command line) or the members file's name
    point_in_time: bool  # the list says when each ticker was a member
    spans: tuple[Span, ...]


def save_universe(conn: sqlite3.Connection, record: UniverseRecord, replace: bool) -> bool:
    """Write a universe and its spans in one transaction. False (nothing written) when one of
    that name exists and `replace` is not set."""
    with transaction(conn):
        exists = conn.execute("SELECT 1 FROM universes WHERE name = ?", (record.name,)).fetchone()
        if exists and not replace:
            return False
        conn.execute("DELETE FROM universe_members WHERE universe = ?", (record.name,))
        conn.execute("DELETE FROM universes WHERE name = ?", (record.name,))
        conn.execute(
            "INSERT INTO universes (name, created_at, source, point_in_time) VALUES (?, ?, ?, ?)",
            (record.name, utcnow(), record.source, int(record.point_in_time)),
        )
        conn.executemany(
            "INSERT INTO universe_members (universe, ticker, start, end) VALUES (?, ?, ?, ?)",
            [(record.name, s.ticker, s.start, s.end) for s in record.spans],
        )
    return True


def _record(conn: sqlite3.Connection, row: sqlite3.Row) -> UniverseRecord:
    spans = conn.execute(
        "SELECT ticker, start, end FROM universe_members WHERE universe = ?"
        " ORDER BY ticker, coalesce(start, '')",
        (row["name"],),
    )
    return UniverseRecord(
        row["name"],
        row["created_at"],
        row["source"],
        bool(row["point_in_time"]),
        tuple(Span(s[0], s[1], s[2]) for s in spans),
    )


def load_universe(conn: sqlite3.Connection, name: str) -> UniverseRecord | None:
    row = conn.execute("SELECT * FROM universes WHERE name = ?", (name,)).fetchone()
    return None if row is None else _record(conn, row)


def all_universes(conn: sqlite3.Connection) -> list[UniverseRecord]:
    return [_record(conn, r) for r in conn.execute("SELECT * FROM universes ORDER BY name")]


def delete_universe(conn: sqlite3.Connection, name: str) -> int:
    """Remove a universe (its prices stay); how many member spans it had, or -1 if none."""
    with transaction(conn):
        if not conn.execute("SELECT 1 FROM universes WHERE name = ?", (name,)).fetchone():
            return -1
        n = conn.execute("DELETE FROM universe_members WHERE universe = ?", (name,)).rowcount
        conn.execute("DELETE FROM universes WHERE name = ?", (name,))
    return int(n)
