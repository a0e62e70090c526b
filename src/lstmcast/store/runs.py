"""The `models` table: one row per trained model, for listing and for picking the newest."""

from __future__ import annotations

import json
import sqlite3
from typing import TypedDict

from lstmcast.errors import WriteRefused
from lstmcast.store.db import resolve_prefix, transaction
from lstmcast.target import target_of


class _Marks(TypedDict, total=False):
    damaged: str  # why its config or metrics cannot be read
    status: str  # "ok", or "damaged: why" its files cannot load (`registry.files.runs`)


class RunRecord(_Marks):
    """A model's row of the `models` table, its JSON read."""

    id: str
    created_at: str
    tickers: list[str]
    model: str
    target: str
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    skill: float | None  # held-out skill against its target's benchmark
    config: dict[str, object]
    metrics: dict[str, object]
    path: str  # its folder, relative to the home
    universe: str | None  # the universe it was trained across, if it was


def insert_run(conn: sqlite3.Connection, row: dict[str, object]) -> None:
    try:
        _insert(conn, row)
    except WriteRefused as exc:  # a full disk, mostly: its files are removed by the caller
        raise WriteRefused(f"the model was not saved: {exc}") from None


def _insert(conn: sqlite3.Connection, row: dict[str, object]) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO models (id, created_at, tickers, model, target, train_start, train_end,"
            " test_start, test_end, skill, config_json, metrics_json, path, universe)"
            " VALUES (:id, :created_at, :tickers, :model, :target, :train_start, :train_end,"
            " :test_start, :test_end, :skill, :config_json, :metrics_json, :path, :universe)",
            {"universe": None, **row},
        )


def _decode(r: sqlite3.Row) -> RunRecord:
    """A row as a record; one whose JSON is unreadable keeps `damaged` saying so, so that the
    healthy models are still listed beside it."""
    record = RunRecord(
        id=r["id"], created_at=r["created_at"], tickers=r["tickers"].split(","), model=r["model"],
        target=r["target"], train_start=r["train_start"], train_end=r["train_end"],
        test_start=r["test_start"], test_end=r["test_end"], skill=r["skill"], config={}, metrics={},
        path=r["path"], universe=r["universe"],
    )  # fmt: skip
    try:
        record["config"], record["metrics"] = json.loads(r["config_json"]), json.loads(r["metrics_json"])
    except (json.JSONDecodeError, TypeError):
        record["config"], record["metrics"] = {}, {}
        record["damaged"] = "its record's config or metrics are not readable JSON"
    return record


def list_runs(conn: sqlite3.Connection, ticker: str | None = None) -> list[RunRecord]:
    rows = conn.execute("SELECT * FROM models ORDER BY created_at, rowid").fetchall()
    runs = [_decode(r) for r in rows]
    return [r for r in runs if ticker is None or ticker in r["tickers"]]


def get_run(conn: sqlite3.Connection, model_id: str) -> RunRecord | None:
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
) -> RunRecord | None:
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
) -> RunRecord | None:
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
