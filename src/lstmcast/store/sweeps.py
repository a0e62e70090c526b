"""Sweeps and their cells: each finished cell written in its own transaction as it arrives
(store/resumable.py). A cell is keyed by what decides its result, so any sweep that needs it
again finds it, and one run again replaces it."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from lstmcast.store.db import utcnow
from lstmcast.store.resumable import Job, Jobs, save_unit


@dataclass(frozen=True)
class SweepRecord:
    """One sweep as the store keeps it: its cells' keys, and the settings they ran with
    (`config`: "train" and "backtest" as dicts, "adjust" the multiple-testing method)."""

    id: str
    tickers: list[str]
    models: list[str]
    seeds: int
    config: dict[str, object]
    cells: list[str]
    created_at: str = ""
    updated_at: str = ""
    damaged: str | None = None  # why its stored JSON cannot be read; its config and cells are then empty


@dataclass(frozen=True)
class StoredCell:
    """One finished cell as the store keeps it; `result` is its JSON (sweep.cells reads it)."""

    key: str
    ticker: str
    model: str
    seed: int
    status: str
    error: str | None
    result: dict[str, object]
    seconds: float | None


def finished_cells(conn: sqlite3.Connection, keys: list[str]) -> dict[str, StoredCell]:
    """The stored cells among `keys` (ok or failed), by key."""
    out: dict[str, StoredCell] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        rows = conn.execute(
            "SELECT cell_key, ticker, model, seed, status, error, result_json, seconds FROM sweep_cells"
            f" WHERE cell_key IN ({', '.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        for key, ticker, model, seed, status, error, result, seconds in rows:
            out[key] = StoredCell(key, ticker, model, int(seed), status, error, json.loads(result), seconds)
    return out


def save_cell(
    conn: sqlite3.Connection,
    key: str,
    ticker: str,
    model: str,
    seed: int,
    status: str,
    error: str | None,
    result: dict[str, object],
    seconds: float | None,
) -> None:
    """One finished cell, committed at once: an interrupted sweep keeps every cell it finished."""
    save_unit(conn, "sweep_cells", {
        "cell_key": key, "ticker": ticker, "model": model, "seed": seed, "status": status, "error": error,
        "result_json": json.dumps(result), "seconds": seconds, "finished_at": utcnow(),
    })  # fmt: skip


def save_sweep(conn: sqlite3.Connection, sweep: SweepRecord) -> None:
    SWEEPS.save(conn, {
        "id": sweep.id, "tickers": ",".join(sweep.tickers), "models": ",".join(sweep.models),
        "seeds": sweep.seeds, "config": sweep.config, "cells": sweep.cells,
    })  # fmt: skip


def _record(job: Job) -> SweepRecord:
    """A sweep from its row: tickers and models are stored comma-separated."""
    config, cells = job.documents["config"], job.documents["cells"]
    assert isinstance(config, dict) and isinstance(cells, list)  # Jobs.decode checked their types
    return SweepRecord(
        id=job.id,
        tickers=str(job.columns["tickers"]).split(","),
        models=str(job.columns["models"]).split(","),
        seeds=int(job.columns["seeds"] or 0),
        config=config,
        cells=[str(c) for c in cells],
        created_at=job.created_at,
        updated_at=job.updated_at,
        damaged=job.damaged,
    )


# The same cells run again (perhaps with another --adjust): the latest run's settings.
SWEEPS = Jobs(
    "sweeps", ("tickers", "models", "seeds"), {"config": (dict,), "cells": (list,)}, ("config_json",), _record
)


def list_sweeps(conn: sqlite3.Connection) -> list[SweepRecord]:
    return SWEEPS.all(conn)


def get_sweep(conn: sqlite3.Connection, sweep_id: str) -> SweepRecord | None:
    return SWEEPS.get(conn, sweep_id)
