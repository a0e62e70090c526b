"""Sweeps and their cells: each finished cell written in its own transaction as it arrives."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from lstmcast.store.db import transaction, utcnow


def finished_cells(conn: sqlite3.Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The stored cells among `keys` (ok or failed), by key."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        rows = conn.execute(
            f"SELECT * FROM sweep_cells WHERE cell_key IN ({', '.join('?' * len(chunk))})", chunk
        ).fetchall()
        for r in rows:
            d = dict(r)
            d["result"] = json.loads(d.pop("result_json"))
            out[d["cell_key"]] = d
    return out


def save_cell(
    conn: sqlite3.Connection,
    key: str,
    ticker: str,
    model: str,
    seed: int,
    status: str,
    error: str | None,
    result: dict[str, Any],
    seconds: float | None,
) -> None:
    """One finished cell, committed at once: an interrupted sweep keeps every cell it finished."""
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO sweep_cells (cell_key, ticker, model, seed, status, error,"
            " result_json, seconds, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, ticker, model, seed, status, error, json.dumps(result), seconds, utcnow()),
        )


def save_sweep(conn: sqlite3.Connection, sweep: dict[str, Any]) -> None:
    now = utcnow()
    with transaction(conn):
        conn.execute(
            "INSERT INTO sweeps (id, created_at, updated_at, tickers, models, seeds, config_json,"
            " cells_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            # The same cells run again (perhaps with another --adjust): the latest run's settings.
            " ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at,"
            " config_json = excluded.config_json",
            (
                sweep["id"],
                now,
                now,
                ",".join(sweep["tickers"]),
                ",".join(sweep["models"]),
                sweep["seeds"],
                json.dumps(sweep["config"]),
                json.dumps(sweep["cells"]),
            ),
        )


def list_sweeps(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [_decode(r) for r in conn.execute("SELECT * FROM sweeps ORDER BY updated_at, id")]


def get_sweep(conn: sqlite3.Connection, sweep_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
    return _decode(row) if row else None


def _decode(r: sqlite3.Row) -> dict[str, Any]:
    """A sweep's record; one whose JSON is unreadable keeps `damaged` saying so."""
    d = dict(r)
    d["tickers"] = d["tickers"].split(",")
    d["models"] = d["models"].split(",")
    config, cells = d.pop("config_json"), d.pop("cells_json")
    try:
        d["config"], d["cells"] = json.loads(config), json.loads(cells)
    except json.JSONDecodeError as exc:
        d["config"], d["cells"] = {}, []
        d["damaged"] = f"its stored config or cells are not readable JSON ({exc})"
    return d
