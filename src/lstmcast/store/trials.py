"""The configurations walked forward on a universe: one row per (universe, target, key).

A sweep or a tune on a universe writes each configuration's judged walk here as it finishes,
in its own transaction. The same configuration on the same data (the same key) is computed
once: a later sweep or tune reads it back. And every row counts as a configuration tried on
that universe, so the deflated Sharpe of the best one knows how many were compared (Bailey
& Lopez de Prado), whichever run tried them.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from lstmcast.store.db import transaction, utcnow


def save_trial(
    conn: sqlite3.Connection,
    universe: str,
    target: str,
    key: str,
    source: str,
    span: str,
    config: dict[str, object],
    result: dict[str, object],
) -> bool:
    """Record one judged configuration; one already there (the same key) is kept as it was.
    Whether it was new."""
    with transaction(conn):
        before = conn.total_changes
        conn.execute(
            "INSERT INTO universe_trials (universe, target, key, source, span, config_json, result_json,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (universe, target, key) DO NOTHING",
            (universe, target, key, source, span, json.dumps(config, sort_keys=True), json.dumps(result),
             utcnow()),
        )  # fmt: skip
        return conn.total_changes > before


def get_trial(conn: sqlite3.Connection, universe: str, target: str, key: str) -> dict[str, object] | None:
    """A recorded configuration's result, or None (also for a row that does not parse)."""
    row = conn.execute(
        "SELECT result_json FROM universe_trials WHERE universe = ? AND target = ? AND key = ?",
        (universe, target, key),
    ).fetchone()
    if row is None:
        return None
    try:
        doc = json.loads(row[0])
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


@dataclass(frozen=True)
class Tried:
    """One configuration judged on a universe: its key, what ran it, and its result's JSON."""

    key: str
    source: str
    result: object


def tried(conn: sqlite3.Connection, universe: str, target: str, span: str) -> list[Tried]:
    """Every configuration judged on `universe` for `target` over the test dates `span`,
    oldest first."""
    rows = conn.execute(
        "SELECT key, source, result_json FROM universe_trials WHERE universe = ? AND target = ? AND span = ?"
        " ORDER BY created_at, rowid",
        (universe, target, span),
    ).fetchall()
    out: list[Tried] = []
    for key, source, result in rows:
        try:
            out.append(Tried(key, source, json.loads(result)))
        except json.JSONDecodeError:
            continue  # a damaged row is not a trial anyone can count on
    return out
