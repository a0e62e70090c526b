"""The SQLite store: migrations, WAL, and all-or-nothing writes."""

from __future__ import annotations

import dataclasses
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
    from lstmcast.store.tunes import TuneRecord, save_tune

    conn = connect(tmp_path)
    for tune_id in ("abc123", "abd456"):
        save_tune(conn, TuneRecord(tune_id, "X", "lstm", "log_return", 1, {}))
    assert resolve_prefix(conn, "tunes", "abd") == "abd456"
    assert resolve_prefix(conn, "tunes", "abc123") == "abc123"
    with pytest.raises(NotFoundError, match=r"'ab' is the start of 2 tune IDs \(abc123, abd456\)"):
        resolve_prefix(conn, "tunes", "ab")
    with pytest.raises(NotFoundError, match="no tune 'zz'; `lstmcast tunes` lists them"):
        resolve_prefix(conn, "tunes", "zz")
    with pytest.raises(NotFoundError, match="no model 'zz'; `lstmcast models` lists them"):
        resolve_prefix(conn, "models", "zz")


def _store_at(home: Path, version: int) -> sqlite3.Connection:
    """A store exactly as an lstmcast of schema `version` left it."""
    home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(home / "lstmcast.db", isolation_level=None)
    for sql in MIGRATIONS[:version]:
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def test_the_two_old_ledgers_become_one_keeping_every_row_and_its_scores(tmp_path: Path) -> None:
    from lstmcast.forecasting.ledger import PathScores, VarianceScores, ledger
    from lstmcast.store.db import Store

    old = _store_at(tmp_path, 9)
    cfg = "{}"
    old.execute(
        "INSERT INTO models VALUES ('p1', 't', 'AAA', 'cnn', 'price', 'a', 'b', 'c', 'd', NULL,"
        " '{}', '{}', 'x')"
    )
    path_row = (
        "INSERT INTO ledger VALUES (?, 'AAA', '2020-01-10', ?, ?, 'm', 14.0, 15.0, 0.07, 13, 17, 12, 18,"
        " ?, 0.01, 'aci')"
    )
    old.execute(path_row, ("p1", 1, "2020-01-13", cfg))  # its model says: a price target
    old.execute(path_row, ("gone", 2, "2020-01-14", cfg))  # its model was removed: log_return
    old.execute(
        "INSERT INTO vol_ledger VALUES ('v1', 'AAA', '2020-01-10', 5, '2020-01-17', 'm', 'squared',"
        " 1e-4, 2e-4, 5e-5, 2e-4, 3e-5, 3e-4, -0.02, -0.03, ?)",
        (cfg,),
    )
    old.close()
    conn = connect(tmp_path)  # migrates
    assert schema_version(conn) == len(MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "vol_ledger" not in tables
    rows = {r["model_id"]: dict(r) for r in conn.execute("SELECT * FROM ledger")}
    assert {k: r["target"] for k, r in rows.items()} == {
        "p1": "price",
        "gone": "log_return",
        "v1": "volatility",
    }
    assert rows["p1"]["price"] == 15.0 and rows["p1"]["sigma"] == 0.01 and rows["p1"]["variance"] is None
    v = rows["v1"]
    assert (v["step"], v["variance"], v["har_variance"], v["var_99"], v["price"]) == (
        5,
        1e-4,
        2e-4,
        -0.03,
        None,
    )
    # A row that forecasts nothing its target names is refused by the table itself.
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO ledger (model_id, ticker, as_of, step, target, target_date, made_at, lower_80,"
            " upper_80, lower_95, upper_95, config_json) VALUES ('z', 'AAA', 'd', 1, 'volatility', 'd', 'm',"
            " 0, 1, 0, 1, '{}')"
        )
    conn.close()
    # The prices arrive: each row is scored by its own target's rule, from the one table.
    upsert_prices(connect(tmp_path), "AAA", _bars(20), "test")
    report = ledger(Store(tmp_path))
    kinds = {s.model_id: (s.target, type(s.scores), s.scored) for s in report.summary}
    assert kinds == {
        "p1": ("price", PathScores, 1),
        "gone": ("log_return", PathScores, 1),
        "v1": ("volatility", VarianceScores, 1),
    }
    bars = _bars(20)
    at = [d.strftime("%Y-%m-%d") for d in bars.index].index("2020-01-10")
    adj = bars["adj_close"].to_numpy()
    scored = {r["model_id"]: r for r in report.rows}
    assert scored["p1"]["realised"] == pytest.approx(14.0 * adj[at + 1] / adj[at])
    r2 = np.log(adj[1:] / adj[:-1]) ** 2
    assert scored["v1"]["realised"] == pytest.approx(np.mean(r2[at : at + 5]))


def test_resumable_jobs_rerun_in_place_keep_each_unit_once_and_name_damage(tmp_path: Path) -> None:
    """Sweeps and tunes share one mechanics (store/resumable.py): a rerun updates its row, a
    unit is committed on its own (a tune's trial written once, a sweep's cell replaced), and a
    job whose JSON cannot be read is listed as damaged beside the healthy ones."""
    from lstmcast.errors import LockHeldError
    from lstmcast.store.sweeps import SweepRecord, get_sweep, list_sweeps, save_cell, save_sweep
    from lstmcast.store.tunes import (
        TrialRecord,
        TrialState,
        TuneRecord,
        get_tune,
        list_tunes,
        save_trial,
        save_tune,
        save_tune_result,
        trials_of,
    )

    conn = connect(tmp_path)
    sweep = SweepRecord("s1", ["A", "B"], ["lstm"], 2, {"k": 1}, ["x"])
    save_sweep(conn, sweep)
    save_sweep(
        conn, dataclasses.replace(sweep, config={"k": 2}, seeds=9)
    )  # a rerun: its settings, same cells
    got = get_sweep(conn, "s1")
    assert got is not None and (got.config, got.seeds, got.tickers, got.cells) == (
        {"k": 2},
        2,
        ["A", "B"],
        ["x"],
    )
    for status in ("failed", "ok"):  # the same cell run again replaces the stored one
        save_cell(conn, "key", "A", "lstm", 0, status, None, {"skill": 1.0}, 0.1)
    assert [tuple(r) for r in conn.execute("SELECT status FROM sweep_cells")] == [("ok",)]

    tune = TuneRecord("t1", "A", "gru", "log_return", 5, {"a": 1})
    save_tune(conn, tune)
    save_tune(conn, dataclasses.replace(tune, trials=8))
    stored = get_tune(conn, "t1")
    assert stored is not None and (stored.trials, stored.config, stored.result) == (8, {"a": 1}, None)
    save_tune_result(conn, "t1", {"skill": 0.5})
    again = get_tune(conn, "t1")
    assert again is not None and again.result == {"skill": 0.5}
    trial = TrialRecord(fold=0, number=3, state=TrialState.FAILED, params={"lr": 0.1}, error="boom")
    save_trial(conn, "t1", trial)
    with pytest.raises(LockHeldError, match="trial 3 of fold 0 of tune t1 is already stored"):
        save_trial(conn, "t1", trial)
    assert trials_of(conn, "t1") == [trial]

    conn.execute("UPDATE tunes SET result_json = '[1]' WHERE id = 't1'")
    conn.execute("UPDATE sweeps SET cells_json = '{' WHERE id = 's1'")
    conn.commit()
    [bad_tune], [bad_sweep] = list_tunes(conn), list_sweeps(conn)
    assert "result is not a JSON dict" in (bad_tune.damaged or "") and bad_tune.config == {}
    assert "cannot be read as JSON" in (bad_sweep.damaged or "") and bad_sweep.cells == []
