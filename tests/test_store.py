"""The SQLite store: migrations, WAL, and all-or-nothing writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmcast.store.db import connect, schema_version
from lstmcast.store.migrations import MIGRATIONS
from lstmcast.store.prices import load_prices, upsert_prices


def _bars(n: int, start: str = "2020-01-01") -> pd.DataFrame:
    idx = pd.bdate_range(start, periods=n, name="date")
    p = np.linspace(10, 20, n)
    return pd.DataFrame(
        {"open": p, "high": p, "low": p, "close": p, "adj_close": p, "volume": 1e6}, index=idx
    )


def test_migrations_run_once_in_order_and_wal_is_on(tmp_path: Path) -> None:
    conn = connect(tmp_path)
    assert schema_version(conn) == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"prices", "models", "ledger"} <= tables
    conn.close()
    again = connect(tmp_path)  # nothing to apply the second time
    assert schema_version(again) == len(MIGRATIONS)
    again.close()


def test_a_failing_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    conn = connect(tmp_path)
    upsert_prices(conn, "AAA", _bars(10), "test")
    bad = _bars(20)
    bad.loc[bad.index[15], "close"] = np.nan  # NOT NULL close: the insert fails mid-way
    with pytest.raises(sqlite3.IntegrityError):
        upsert_prices(conn, "AAA", bad, "test")
    stored = load_prices(conn, "AAA")
    assert len(stored) == 10  # neither the 10 new rows before the bad one nor anything else
    conn.close()


def test_revised_values_replace_and_identical_values_are_left_alone(tmp_path: Path) -> None:
    conn = connect(tmp_path)
    revised = _bars(12)
    first = upsert_prices(conn, "AAA", revised.iloc[:10], "test")
    assert (first.new, first.revised, first.unchanged) == (10, 0, 0)
    revised = revised.copy()
    revised.loc[revised.index[3], "adj_close"] = float(revised["adj_close"].iloc[3]) * 0.5
    second = upsert_prices(conn, "AAA", revised, "test")
    assert (second.new, second.revised, second.unchanged) == (2, 1, 9)
    assert load_prices(conn, "AAA")["adj_close"].iloc[3] == pytest.approx(revised["adj_close"].iloc[3])
    conn.close()


def test_tunes_and_models_are_named_by_a_unique_prefix_of_their_id(tmp_path: Path) -> None:
    from lstmcast.errors import NotFoundError
    from lstmcast.store.db import resolve_prefix
    from lstmcast.store.tunes import save_tune

    conn = connect(tmp_path)
    for tune_id in ("abc123", "abd456"):
        save_tune(conn, {"id": tune_id, "ticker": "X", "model": "lstm", "target": "log_return", "trials": 1,
                         "config": {}})  # fmt: skip
    assert resolve_prefix(conn, "tunes", "abd") == "abd456"
    assert resolve_prefix(conn, "tunes", "abc123") == "abc123"
    with pytest.raises(NotFoundError, match=r"'ab' is the start of 2 tune IDs \(abc123, abd456\)"):
        resolve_prefix(conn, "tunes", "ab")
    with pytest.raises(NotFoundError, match="no tune 'zz'; `lstmcast tunes` lists them"):
        resolve_prefix(conn, "tunes", "zz")
    with pytest.raises(NotFoundError, match="no model 'zz'; `lstmcast models` lists them"):
        resolve_prefix(conn, "models", "zz")
