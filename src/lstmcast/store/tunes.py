"""Tunes and their trials: each finished trial written in its own transaction as it arrives."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from lstmcast.store.db import transaction, utcnow


def save_tune(conn: sqlite3.Connection, tune: dict[str, Any]) -> None:
    """A tune's settings (its id is their fingerprint); a rerun updates its trial budget."""
    now = utcnow()
    with transaction(conn):
        conn.execute(
            "INSERT INTO tunes (id, created_at, updated_at, ticker, model, target, trials, config_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " updated_at = excluded.updated_at, trials = excluded.trials",
            (
                tune["id"],
                now,
                now,
                tune["ticker"],
                tune["model"],
                tune["target"],
                tune["trials"],
                json.dumps(tune["config"]),
            ),
        )


def save_tune_result(conn: sqlite3.Connection, tune_id: str, result: dict[str, Any]) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE tunes SET result_json = ?, updated_at = ? WHERE id = ?",
            (json.dumps(result), utcnow(), tune_id),
        )


def save_trial(conn: sqlite3.Connection, tune_id: str, trial: dict[str, Any]) -> None:
    """One finished trial (complete, pruned or failed), committed at once."""
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO tune_trials (tune_id, fold, number, state, params_json, value,"
            " steps_json, error, result_json, seconds, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tune_id,
                trial["fold"],
                trial["number"],
                trial["state"],
                json.dumps(trial["params"]),
                trial.get("value"),
                json.dumps(trial.get("steps", [])),
                trial.get("error"),
                json.dumps(trial.get("result") or {}),
                trial.get("seconds"),
                utcnow(),
            ),
        )


def trial_counts(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Per tune, its stored trials by state."""
    out: dict[str, dict[str, int]] = {}
    for tune_id, state, n in conn.execute("SELECT tune_id, state, COUNT(*) FROM tune_trials GROUP BY 1, 2"):
        out.setdefault(tune_id, {})[state] = n
    return out


def trials_of(conn: sqlite3.Connection, tune_id: str) -> list[dict[str, Any]]:
    """Every stored trial of a tune, by fold and number."""
    rows = conn.execute(
        "SELECT * FROM tune_trials WHERE tune_id = ? ORDER BY fold, number", (tune_id,)
    ).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["params"] = json.loads(d.pop("params_json"))
        d["steps"] = json.loads(d.pop("steps_json"))
        d["result"] = json.loads(d.pop("result_json"))
        out.append(d)
    return out


def list_tunes(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [_decode(r) for r in conn.execute("SELECT * FROM tunes ORDER BY updated_at, id")]


def get_tune(conn: sqlite3.Connection, tune_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM tunes WHERE id = ?", (tune_id,)).fetchone()
    return _decode(row) if row else None


def _decode(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    d["config"] = json.loads(d.pop("config_json"))
    raw = d.pop("result_json")
    d["result"] = json.loads(raw) if raw else None
    return d
