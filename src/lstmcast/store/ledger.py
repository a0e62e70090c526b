"""The forecast ledger: every forecast made, once, joined later with what really happened."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from lstmcast.store.db import transaction, utcnow

# Every column a forecast may fill; what a target does not forecast stays null (see migration 10).
_COLUMNS = (
    "model_id",
    "ticker",
    "as_of",
    "step",
    "target",
    "target_date",
    "made_at",
    "last_price",
    "price",
    "log_return",
    "proxy",
    "variance",
    "har_variance",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
    "sigma",
    "interval_method",
    "var_95",
    "var_99",
    "universe",
    "score",
    "config_json",
)


def record(
    conn: sqlite3.Connection, rows: Sequence[Mapping[str, object]], config: Mapping[str, object]
) -> int:
    """Insert forecasts (each row names its target); one already made from the same bar by the
    same model is kept as it was. Returns how many rows were new. A row the table's checks
    refuse raises (an `OR IGNORE` would drop it without a word)."""
    made_at = utcnow()
    cfg = json.dumps(config, sort_keys=True)
    values = [tuple({**r, "made_at": made_at, "config_json": cfg}.get(c) for c in _COLUMNS) for r in rows]
    with transaction(conn):
        before = conn.total_changes
        conn.executemany(
            f"INSERT INTO ledger ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
            " ON CONFLICT (model_id, ticker, as_of, step) DO NOTHING",
            values,
        )
        return conn.total_changes - before


def has_forecast(conn: sqlite3.Connection, ticker: str, model_id: str, as_of: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM ledger WHERE ticker = ? AND model_id = ? AND as_of = ? LIMIT 1",
        (ticker, model_id, as_of),
    ).fetchone()
    return row is not None


def ledger_rows(
    conn: sqlite3.Connection, ticker: str | None, universe: str | None = None
) -> list[dict[str, Any]]:
    """Every forecast in the ledger (of one ticker, or all; of one universe's rankings, or
    all), oldest origin first; a column its target does not fill is None."""
    where = [w for w, v in (("ticker = ?", ticker), ("universe = ?", universe)) if v]
    sql = (
        f"SELECT {', '.join(c for c in _COLUMNS if c != 'config_json')} FROM ledger"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY ticker, as_of, model_id, step"
    )
    return [dict(r) for r in conn.execute(sql, tuple(v for v in (ticker, universe) if v))]


def ranking_picks(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    """(model, date) -> the k each recorded ranking picked long and short."""
    rows = conn.execute("SELECT DISTINCT model_id, as_of, config_json FROM ledger WHERE universe IS NOT NULL")
    out = {}
    for model_id, as_of, config in rows:
        try:
            out[(model_id, as_of)] = int(json.loads(config).get("k") or 1)
        except (json.JSONDecodeError, TypeError, ValueError, AttributeError):
            out[(model_id, as_of)] = 1
    return out


def aci_states(
    conn: sqlite3.Connection, model_id: str, ticker: str
) -> dict[tuple[float, int], tuple[float, str]]:
    """(level, step) -> (the miss rate ACI aims at, the last origin it learned from)."""
    rows = conn.execute(
        "SELECT level, step, alpha, through_as_of FROM aci_state WHERE model_id = ? AND ticker = ?",
        (model_id, ticker),
    )
    return {(float(r[0]), int(r[1])): (float(r[2]), str(r[3])) for r in rows}


def save_aci_states(
    conn: sqlite3.Connection, model_id: str, ticker: str, states: dict[tuple[float, int], tuple[float, str]]
) -> None:
    """Write every (level, step) state in one transaction."""
    now = utcnow()
    with transaction(conn):
        conn.executemany(
            "INSERT INTO aci_state (model_id, ticker, level, step, alpha, through_as_of, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model_id, ticker, level, step) DO UPDATE SET"
            " alpha = excluded.alpha, through_as_of = excluded.through_as_of,"
            " updated_at = excluded.updated_at",
            [(model_id, ticker, lv, k, a, through, now) for (lv, k), (a, through) in states.items()],
        )
