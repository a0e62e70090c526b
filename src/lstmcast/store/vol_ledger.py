"""The volatility ledger: each volatility forecast, once, for scoring when its h bars arrive."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from lstmcast.store.db import transaction, utcnow

_COLUMNS = (
    "model_id",
    "ticker",
    "as_of",
    "horizon",
    "target_date",
    "made_at",
    "proxy",
    "variance",
    "har_variance",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
    "var_95",
    "var_99",
    "config_json",
)


def record_vol(conn: sqlite3.Connection, row: dict[str, Any], config: dict[str, Any]) -> int:
    """Insert one forecast; one already made from the same bar by the same model is kept as it
    was. Returns 1 when it was new."""
    full = {**row, "made_at": utcnow(), "config_json": json.dumps(config, sort_keys=True)}
    with transaction(conn):
        before = conn.total_changes
        conn.execute(
            f"INSERT OR IGNORE INTO vol_ledger ({', '.join(_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(_COLUMNS))})",
            tuple(full[c] for c in _COLUMNS),
        )
        return conn.total_changes - before


def vol_rows(conn: sqlite3.Connection, ticker: str | None) -> list[dict[str, Any]]:
    query = f"SELECT {', '.join(c for c in _COLUMNS if c != 'config_json')} FROM vol_ledger"
    args: tuple[str, ...] = ()
    if ticker is not None:
        query += " WHERE ticker = ?"
        args = (ticker,)
    return [dict(r) for r in conn.execute(query + " ORDER BY as_of, model_id", args)]


def has_vol_forecast(conn: sqlite3.Connection, ticker: str, model_id: str, as_of: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM vol_ledger WHERE ticker = ? AND model_id = ? AND as_of = ? LIMIT 1",
        (ticker, model_id, as_of),
    ).fetchone()
    return row is not None
