"""The `models` table: one row per trained model, for listing and for picking the newest."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from lstmcast.errors import WriteRefused
from lstmcast.store.db import resolve_prefix, transaction
from lstmcast.target import target_of


def insert_run(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    try:
        _insert(conn, row)
    except WriteRefused as exc:  # a full disk, mostly: its files are removed by the caller
        raise WriteRefused(f"the model was not saved: {exc}") from None


def _insert(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO models (id, created_at, tickers, model, target, train_start, train_end,"
            " test_start, test_end, skill, config_json, metrics_json, path, universe)"
            " VALUES (:id, :created_at, :tickers, :model, :target, :train_start, :train_end,"
            " :test_start, :test_end, :skill, :config_json, :metrics_json, :path, :universe)",
            {"universe": None, **row},
        )


def _decode(r: sqlite3.Row) -> dict[str, Any]:
    """A row as a dict; a record whose JSON is unreadable keeps `damaged` saying so, so that the
    healthy models are still listed beside it."""
    d = dict(r)
    d["tickers"] = d["tickers"].split(",")
    config, metrics = d.pop("config_json"), d.pop("metrics_json")
    try:
        d["config"], d["metrics"] = json.loads(config), json.loads(metrics)
    except (json.JSONDecodeError, TypeError):
        d["config"], d["metrics"] = {}, {}
        d["damaged"] = "its record's config or metrics are not readable JSON"
    return d


def list_runs(conn: sqlite3.Connection, ticker: str | None = None) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM models ORDER BY created_at, rowid").fetchall()
    runs = [_decode(r) for r in rows]
    return [r for r in runs if ticker is None or ticker in r["tickers"]]


def get_run(conn: sqlite3.Connection, model_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone()
    return _decode(row) if row else None


def resolve_id(conn: sqlite3.Connection, text: str, min_prefix: int = 1) -> str:
    """The model a user means: its whole ID, or any prefix (of at least `min_prefix`
    characters) that only it starts with."""
    return resolve_prefix(conn, "models", text, min_prefix)


def newest_run(
    conn: sqlite3.Connection,
    ticker: str,
    model: str | None = None,
    family: str | None = None,
    target: str | None = None,
) -> dict[str, Any] | None:
    """The newest model of `ticker` (of that architecture); `family` keeps only models of a
    target of that family (`Target.family`), None any; `target` exactly that one.
    A universe's model ranks its members and is never one ticker's (`newest_universe_run`)."""
    runs = [
        r
        for r in list_runs(conn, ticker)
        if not r.get("damaged")
        and r.get("universe") is None
        and (model is None or r["model"] == model)
        and (family is None or target_of(r["target"]).family == family)
        and (target is None or r["target"] == target)
    ]
    return runs[-1] if runs else None


def newest_universe_run(
    conn: sqlite3.Connection, universe: str, model: str | None = None, target: str | None = None
) -> dict[str, Any] | None:
    """The newest model trained across `universe` (of that architecture, for that target), or None."""
    rows = conn.execute(
        "SELECT * FROM models WHERE universe = ? ORDER BY created_at, rowid", (universe,)
    ).fetchall()
    runs = [
        r
        for r in map(_decode, rows)
        if not r.get("damaged")
        and (model is None or r["model"] == model)
        and (target is None or r["target"] == target)
    ]
    return runs[-1] if runs else None


def delete_run(conn: sqlite3.Connection, model_id: str) -> bool:
    with transaction(conn):
        cur = conn.execute("DELETE FROM models WHERE id = ?", (model_id,))
    return cur.rowcount > 0
