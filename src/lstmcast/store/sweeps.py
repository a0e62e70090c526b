"""Sweeps and their cells: each finished cell written in its own transaction as it arrives
(store/resumable.py). A cell is keyed by what decides its result, so any sweep that needs it
again finds it, and one run again replaces it."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from lstmcast.store.db import utcnow
from lstmcast.store.resumable import Jobs, save_unit

# The same cells run again (perhaps with another --adjust): the latest run's settings.
SWEEPS = Jobs(
    "sweeps", ("tickers", "models", "seeds"), {"config": (dict,), "cells": (list,)}, ("config_json",)
)


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
    save_unit(conn, "sweep_cells", {
        "cell_key": key, "ticker": ticker, "model": model, "seed": seed, "status": status, "error": error,
        "result_json": json.dumps(result), "seconds": seconds, "finished_at": utcnow(),
    })  # fmt: skip


def save_sweep(conn: sqlite3.Connection, sweep: dict[str, Any]) -> None:
    SWEEPS.save(conn, {**sweep, "tickers": ",".join(sweep["tickers"]), "models": ",".join(sweep["models"])})


def list_sweeps(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [_lists(s) for s in SWEEPS.all(conn)]


def get_sweep(conn: sqlite3.Connection, sweep_id: str) -> dict[str, Any] | None:
    found = SWEEPS.get(conn, sweep_id)
    return None if found is None else _lists(found)


def _lists(sweep: dict[str, Any]) -> dict[str, Any]:
    """A sweep's tickers and models as lists (stored comma-separated)."""
    return {**sweep, "tickers": sweep["tickers"].split(","), "models": sweep["models"].split(",")}
