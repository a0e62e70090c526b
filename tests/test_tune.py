"""`lstmcast tune`: nested walk-forward, resume, failures, the space file, PBO and a cluster."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, SAMPLE, Cli
from lstmcast.config import TrainConfig
from lstmcast.evaluation.multiple import backtest_overfitting
from lstmcast.prep.inputs import frame_for
from lstmcast.runconfig import BacktestConfig
from lstmcast.tuning.nested import before, fold_of, plan_nested
from processes import child_env, dask_cluster, free_port
from synth import random_walk

FAST = ["--epochs", "1", "--threads", "1", "--folds", "2", "--inner-folds", "2", "--workers", "1"]
SMALL_SPACE = """
[window]
choices = [10, 15]
[hidden]
value = 8
[layers]
value = 1
[batch_size]
value = 128
"""


def _space(tmp_path: Path, text: str = SMALL_SPACE) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(text)
    return path


def _trials(home: Path) -> list[tuple[int, int, str, float | None, str]]:
    with sqlite3.connect(home / "lstmcast.db") as conn:
        return conn.execute(
            "SELECT fold, number, state, value, finished_at FROM tune_trials ORDER BY 1, 2"
        ).fetchall()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(700, 1500),
    folds=st.integers(1, 4),
    test_size=st.floats(0.1, 0.4),
    inner=st.integers(2, 4),
    sliding=st.booleans(),
)
def test_no_inner_fold_ever_holds_a_date_of_its_outer_test_block(
    n: int, folds: int, test_size: float, inner: int, sliding: bool
) -> None:
    bars = random_walk(n, seed=n)
    cfg = TrainConfig(window=10)
    bt = BacktestConfig(folds=folds, test_size=test_size, scheme="sliding" if sliding else "expanding",
                        train_size=300)  # fmt: skip
    frame = frame_for(cfg, bars)
    for outer in plan_nested(frame, cfg, bt, inner):
        block_start = pd.Timestamp(outer.span.cutoff)
        known = before(bars, outer.span.cutoff)  # what a trial's worker builds from
        assert known.dates.max() < block_start
        trial_frame = frame_for(cfg, known)
        for span in outer.inner:
            assert pd.Timestamp(span.last) < block_start
            f = fold_of(trial_frame, span, bt)
            # Fits use rows [lo, cutoff); targets are rows [cutoff, end): all before the block.
            assert 0 <= f.lo < f.cutoff < f.end <= trial_frame.n
            assert trial_frame.dates[f.end - 1] < block_start


def test_tune_says_keep_the_starting_settings_when_they_did_better(tmp_path: Path) -> None:
    from lstmcast.tuning.report import TuneReport

    worse = TuneReport("t", "X", "lstm", "log_return", {}, skill=-0.0036, start_skill=0.0006)
    better = TuneReport("t", "X", "lstm", "volatility", {}, skill=0.05, start_skill=0.02)
    assert not worse.helped() and better.helped()
    assert worse.keep_starting() == (
        "keep the starting settings: they scored +0.06% out of sample against -0.36% for the tuned ones"
    )


def test_pbo_of_hand_built_trial_matrices() -> None:
    rows = 8  # one row per block (blocks=8)
    dominant = np.column_stack([np.full(rows, 1.0), np.zeros(rows), np.full(rows, -1.0)])
    best = backtest_overfitting(dominant)
    assert best is not None and best.pbo == 0.0  # the best is best everywhere
    # Two trials taking turns: whichever wins in sample loses out of sample, every split.
    flip = np.array([[1.0, 0.0], [0.0, 1.0]])
    turns = backtest_overfitting(flip, blocks=2)
    assert turns is not None and turns.pbo == 1.0
    # Four blocks; A earns 2, 2, -1, -1 and B always 0. In sample {1,2}, A wins and is last
    # out of sample; in sample {3,4}, B wins and is last. In the four mixed splits A wins with
    # 0.5 and is first out of sample with 0.5 (w = 2/3). So 2 of 6 splits overfit.
    m = np.array([[2.0, 0.0], [2.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])
    got = backtest_overfitting(m, blocks=4)
    assert got is not None and got.splits == 6 and got.pbo == pytest.approx(2 / 6)
    assert sorted(got.logits)[:2] == pytest.approx([np.log(0.5), np.log(0.5)])  # w = 1/3
    assert backtest_overfitting(np.ones((3, 1))) is None  # one trial: nothing to choose


@pytest.mark.slow
def test_tune_reports_outer_skill_writes_a_best_config_that_train_repeats(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    space = _space(tmp_path)
    # A link planted where best-IBM.toml goes is replaced, never written through.
    (tmp_path / "out").mkdir()
    victim = tmp_path / "victim.toml"
    victim.write_text("mine\n")
    (tmp_path / "out" / "best-IBM.toml").symlink_to(victim)
    res = cli("tune", "IBM", "--trials", "3", "--space", space, *FAST, "--out", tmp_path / "out", "--json")
    assert victim.read_text() == "mine\n" and not (tmp_path / "out" / "best-IBM.toml").is_symlink()
    doc = json.loads(res.stdout)
    assert doc["trials"] == 6 and doc["trials_per_fold"] == 3 and len(doc["outer"]) == 2
    for row in doc["outer"]:
        # The override is honoured: fixed settings are not searched, choices stay in the list.
        assert set(row["best_params"]) >= {"window", "lr", "loss"} and "hidden" not in row["best_params"]
        assert row["best_params"]["window"] in (10, 15)
        assert row["optimism"] == pytest.approx(row["inner_score"] - row["outer_skill"])
    for key in ("skill_vs_naive", "dm_pvalue", "deflated_sharpe", "pbo", "best_config_path", "verdict"):
        assert key in doc
    # The deflation is aimed at the selection (each fold's best, on its inner folds, N = its
    # complete trials); the outer returns get a plain probabilistic Sharpe against zero.
    assert (
        len(doc["deflated_sharpe_by_fold"]) == 2 and doc["deflated_over_by_fold"] == doc["pbo_trials_by_fold"]
    )
    assert doc["sharpe_probability"] is None or 0 <= doc["sharpe_probability"] <= 1
    assert all(t[2] in ("complete", "pruned") for t in _trials(home))
    # PBO says the trials it was computed on: those that finished, not the pruned ones.
    finished = [t for t in _trials(home) if t[2] == "complete"]
    assert sum(doc["pbo_trials_by_fold"]) == len(finished) and len(doc["pbo_trials_by_fold"]) == 2
    best = Path(doc["best_config_path"])
    text = best.read_text()
    assert "hidden = 8" in text and "layers = 1" in text and 'tickers = ["IBM"]' in text
    trained = json.loads(cli("train", "--config", best, "--json").stdout)
    cfg = json.loads(cli("models", "show", trained["model_id"], "--json").stdout)["config"]
    assert cfg["window"] == doc["best_params"]["window"] and cfg["hidden"] == 8
    assert cfg["lr"] == pytest.approx(doc["best_params"]["lr"])
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "trials-IBM.csv",
        "best-IBM.toml",
        "tune-IBM.png",
    }
    listed = json.loads(cli("tunes", "--json").stdout)
    assert [t["tune_id"] for t in listed] == [doc["tune_id"]] and listed[0]["trials"] == 6
    shown = json.loads(cli("tunes", "show", doc["tune_id"][:5], "--json").stdout)
    assert shown == doc
    # The same tune again without --resume is refused: nothing stored is replaced silently.
    again = cli("tune", "IBM", "--trials", "3", "--space", space, *FAST, code=1)
    assert "--resume" in again.stderr and len(again.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_failed_trial_is_recorded_with_its_reason_and_the_search_goes_on(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    # A window of 900 bars leaves no room to train in the inner folds: those trials fail in
    # the worker; a CNN kernel wider than the window fails before it is sent.
    space = _space(
        tmp_path, SMALL_SPACE.replace("[10, 15]", "[10, 900]") + "[kernel_size]\nchoices = [3, 12]\n"
    )
    res = cli("tune", "IBM", "--model", "cnn", "--trials", "6", "--space", space, "--sampler", "random",
              *FAST, "--json", code=None)  # fmt: skip
    states = [t[2] for t in _trials(home)]
    assert "failed" in states and "complete" in states and len(states) == 12
    with sqlite3.connect(home / "lstmcast.db") as conn:
        errors = [r[0] for r in conn.execute("SELECT error FROM tune_trials WHERE state = 'failed'")]
    assert all(e for e in errors) and any("window" in e for e in errors)
    if res.exit_code == 0:
        assert json.loads(res.stdout)["states"]["failed"] == states.count("failed")
    assert "trial(s) failed" in res.stderr
    # --resume rebuilds each study from the stored trials, the failed ones too: nothing is
    # refitted, nothing stored changes, and no state word trips it up.
    before = _trials(home)
    again = cli("tune", "IBM", "--model", "cnn", "--trials", "6", "--space", space, "--sampler", "random",
                *FAST, "--resume", "--json", code=res.exit_code)  # fmt: skip
    assert "unexpected" not in again.stderr and _trials(home) == before


@pytest.mark.slow
def test_two_runs_of_one_tune_at_once_never_overwrite_each_others_trials(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    args = [sys.executable, "-m", "lstmcast", "tune", "IBM", "--trials", "3", "--space",
            str(_space(tmp_path)), *FAST]  # fmt: skip
    first = subprocess.Popen(
        args, cwd=ROOT, env=child_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        t0 = time.perf_counter()
        while not list((home / "locks").glob("tune-*.lock")):  # the first has planned, not yet fitted
            assert first.poll() is None and time.perf_counter() - t0 < 120, "no lock before the end"
            time.sleep(0.05)
        # Started while the first runs: refused while it holds the tune, or (if the first ended
        # first) refused for the stored trials. Either way it writes nothing.
        second = subprocess.run(
            args, cwd=ROOT, env=child_env(home), capture_output=True, text=True, timeout=300
        )
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    line = second.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert (second.returncode == 75 and "another lstmcast tune" in line) or (
        second.returncode == 1 and "--resume" in line
    ), line
    trials = _trials(home)
    assert len(trials) == 6 and len({(f, n) for f, n, *_ in trials}) == 6
    # While a run holds the tune, a second real process is refused in one line (exit 75) and
    # stores nothing: the lock is held here, the refusal is deterministic.
    (lock,) = (home / "locks").glob("tune-*.lock")
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held = subprocess.run([*args, "--resume"], cwd=ROOT, env=child_env(home), capture_output=True,
                              text=True, timeout=300)  # fmt: skip
    finally:
        os.close(fd)
    line = held.stderr.strip()
    assert held.returncode == 75 and len(line.splitlines()) == 1 and "another lstmcast tune" in line, line
    assert _trials(home) == trials


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[windw]\nlow = 10\nhigh = 20\n", ["line 1", "'windw'", "did you mean 'window'"]),
        ("[window]\nlow = 1\nhigh = 20\n", ["line 2", "[window]", "--window must be between 2"]),
        ("[lr]\nlow = 0.1\nhigh = 0.01\n", ["[lr]", "low (0.1) must be below high"]),
        ("[window]\nlo = 1\n", ["line 2", "unknown key 'lo'"]),
        ("[loss]\nchoices = ['mse', 'qlike']\n", ["[loss]", "qlike"]),
        ("[window\n", ["space.toml"]),
        (
            "[vol_proxy]\nchoices = ['gk', 'squared']\n",
            ["line 1", "'vol_proxy' cannot be searched", "--vol-proxy"],
        ),
        ("[horizon]\nvalue = 5\n", ["'horizon' cannot be searched", "--horizon"]),
        ("[window]\nlow = 10\nhigh = 20\nvalue = 15\n", ["line 4", "[window] mixes value and a range"]),
        ("\ufeff[windw]\nlow = 10\nhigh = 20\n", ["line 1", "'windw'"]),  # a BOM is read past
    ],
)
def test_a_bad_space_file_is_one_line_naming_the_key(
    cli: Cli, home: Path, tmp_path: Path, text: str, words: list[str]
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    res = cli("tune", "IBM", "--space", _space(tmp_path, text), *FAST, code=1)
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1 and all(w in line for w in words), line
    assert _trials(home) == []


@pytest.mark.slow
def test_resume_after_kill_9_of_the_driver_keeps_every_finished_trial(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    args = ["tune", "IBM", "--trials", "4", "--space", str(_space(tmp_path)), *FAST]
    proc = subprocess.Popen([sys.executable, "-m", "lstmcast", *args], cwd=ROOT, env=child_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    t0 = time.perf_counter()
    while not ((home / "lstmcast.db").exists() and len(_trials(home)) >= 2):
        assert proc.poll() is None and time.perf_counter() - t0 < 120, "no 2 trials before the end"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = _trials(home)
    assert 2 <= len(kept) < 8
    resumed = cli(*args, "--resume", "--json")
    doc = json.loads(resumed.stdout)
    assert f"resumed tune {doc['tune_id']} from its {len(kept)} stored trial(s)" in resumed.stderr
    after = _trials(home)
    assert len(after) == 8 and doc["trials"] == 8 and doc["resumed_trials"] == len(kept)
    assert set(kept) <= set(after)  # the finished trials were not redone (same rows, same times)


@pytest.mark.slow
def test_a_tune_runs_through_a_real_dask_scheduler_with_two_workers(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    address = f"tcp://127.0.0.1:{free_port()}"
    with dask_cluster(home, address, 2):
        space = str(_space(tmp_path))
        args = ["tune", "IBM", "--trials", "3", "--space", space, "--epochs", "1", "--folds", "2",
                "--inner-folds", "2", "--cluster", address, "--json"]  # fmt: skip
        driver = subprocess.run([sys.executable, "-m", "lstmcast", *args], cwd=ROOT, env=child_env(home),
                                capture_output=True, timeout=300)  # fmt: skip
    assert driver.returncode == 0, driver.stderr.decode()[-2000:]
    doc = json.loads(driver.stdout)
    assert doc["trials"] == 6 and len(_trials(home)) == 6
    with sqlite3.connect(home / "lstmcast.db") as conn:
        workers = {
            json.loads(r[0]).get("worker") for r in conn.execute("SELECT result_json FROM tune_trials")
        }
    assert len(workers - {None}) == 2  # both workers ran trials; the driver ran none


@pytest.mark.slow
def test_an_unreachable_cluster_is_one_line_and_exit_75(cli: Cli, home: Path, tmp_path: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    address = f"tcp://127.0.0.1:{free_port()}"
    args = ["tune", "IBM", "--space", _space(tmp_path), "--epochs", "1", "--folds", "2", "--cluster", address]
    res = cli(*args, code=75)
    assert "cannot reach the Dask scheduler" in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_volatility_tune_is_judged_against_har_and_takes_feature_sets(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    space = _space(tmp_path, SMALL_SPACE + '[features]\nchoices = [[], ["hl_range", "oc_return"]]\n')
    res = cli("tune", "IBM", "--target", "volatility", "--trials", "2", "--space", space, *FAST, "--json")
    doc = json.loads(res.stdout)
    assert doc["target"] == "volatility" and doc["deflated_sharpe"] is None
    assert "HAR" in doc["test"] and doc["skill_vs_har"] is not None and "HAR" in doc["verdict"]
    params = [row["best_params"] for row in doc["outer"]]
    assert all(p["features"] in ("none", "hl_range,oc_return") for p in params)
    assert all("vol_proxy" not in p for p in params)  # the proxy is the question, never searched


def test_a_tune_says_when_its_volatility_proxy_fell_back_on_close_only_bars(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    bars = pd.read_csv(SAMPLE / "IBM.csv").iloc[-1200:]
    close_only = tmp_path / "IBMC.csv"
    bars[["Date", "Close"]].to_csv(close_only, index=False)
    cli("import", close_only, "--ticker", "IBMC")
    space = _space(tmp_path, SMALL_SPACE)
    res = cli("tune", "IBMC", "--target", "volatility", "--trials", "1", "--space", space, *FAST, "--json")
    doc = json.loads(res.stdout)
    assert any("gk proxy fell back to squared returns" in n for n in doc["notes"])
    assert "IBMC: no open/high/low in this data: the gk proxy fell back" in res.stderr


@pytest.mark.slow
def test_several_tickers_are_tuned_apart_and_counted_with_holm(cli: Cli, home: Path, tmp_path: Path) -> None:
    for t in ("IBM", "MSFT"):
        cli("import", SAMPLE / f"{t}.csv", "--ticker", t)
    args = ["tune", "IBM", "MSFT", "--trials", "2", "--space", _space(tmp_path), *FAST]
    table = cli(*args).stdout
    assert "of 2 tuned tickers beat the random walk out of sample after Holm's correction" in table
    docs = json.loads(cli(*args, "--resume", "--json").stdout)  # every trial read back: no new fit
    assert [d["ticker"] for d in docs] == ["IBM", "MSFT"] and len({d["tune_id"] for d in docs}) == 2
    for d in docs:
        assert d["tickers_compared"] == 2 and d["resumed_trials"] == 4
        assert d["dm_pvalue_adjusted"] >= d["dm_pvalue"]


@pytest.mark.slow
def test_tuning_finds_the_signal_of_an_ar1_and_invents_none_in_a_random_walk(tmp_path: Path) -> None:
    """AR(1) returns (phi 0.5): the best possible skill on the outer days is known (the oracle
    forecast phi r_t errs by the innovation alone). A random walk has none to find."""
    from lstmcast.execution.engine import Parallel
    from lstmcast.runconfig import RunConfig
    from lstmcast.store.db import Store
    from lstmcast.store.prices import upsert_prices
    from lstmcast.tuning.report import tune
    from lstmcast.tuning.tune import TuneSettings
    from synth import ar1

    space = _space(tmp_path, "[window]\nchoices = [5, 10]\n[hidden]\nchoices = [4, 8]\n[layers]\nvalue = 1\n")
    cfg = TrainConfig(epochs=15, threads=1, batch_size=128)
    bt = BacktestConfig(folds=2, test_size=0.25)
    with Store(tmp_path / "home") as store:
        bars, eps = ar1(1200, 0.5, seed=3)
        upsert_prices(store.conn, "AR", bars, "test")
        upsert_prices(store.conn, "RW", random_walk(1200, seed=3), "test")
        settings = TuneSettings(trials=4, inner_folds=2, sampler="random")
        docs: list[Any] = [
            tune(store, RunConfig(tickers=(t,), train=cfg, backtest=bt), settings, space, Parallel(1))[0].doc
            for t in ("AR", "RW")
        ]
        ar_doc, rw_doc = docs
    r = np.log(bars["adj_close"]).diff().to_numpy()[1:]
    e2 = n2 = 0.0
    for row in ar_doc["outer"]:
        k = np.flatnonzero((bars.index >= row["test_start"]) & (bars.index <= row["test_end"]))
        e2, n2 = e2 + float(np.sum(eps[k - 1] ** 2)), n2 + float(np.sum(r[k - 1] ** 2))
    best = 1 - e2 / n2
    assert best - 0.02 <= ar_doc["skill_vs_naive"] <= best + 0.01, (ar_doc["skill_vs_naive"], best)
    assert ar_doc["verdict"].startswith("skill")
    assert abs(rw_doc["skill_vs_naive"]) < 0.015 and "still no skill" in rw_doc["verdict"]
    assert rw_doc["pbo"] is not None and rw_doc["inner_best_mean"] > rw_doc["skill_vs_naive"]


@pytest.mark.slow
def test_a_tune_of_a_csv_writes_a_best_config_that_finds_the_file_from_anywhere(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(SAMPLE.parent)
    args = ["tune", "--csv", "sample_data/IBM.csv", "--trials", "1", "--space", _space(tmp_path), *FAST]
    doc = json.loads(cli(*args, "--json").stdout)
    best = Path(doc["best_config_path"])
    assert f'csv = "{SAMPLE / "IBM.csv"}"' in best.read_text() and "tickers = []" in best.read_text()
    monkeypatch.chdir(tmp_path)  # another folder: the run config still names the file
    cli("train", "--config", best, "--epochs", "1")


def test_a_damaged_stored_tune_is_listed_as_such_and_named_when_shown(cli: Cli, home: Path) -> None:
    from lstmcast.store.db import Store
    from lstmcast.store.tunes import TuneRecord, save_tune, save_tune_result

    store = Store(home)
    for tune_id in ("aaaa11112222", "bbbb33334444"):
        save_tune(store.conn, TuneRecord(tune_id, "IBM", "lstm", "log_return", 2, {}))
        save_tune_result(store.conn, tune_id, {"verdict": "v", "skill_vs_naive": 0.01})
    store.conn.execute("UPDATE tunes SET result_json = '{broken' WHERE id = 'aaaa11112222'")
    store.conn.commit()
    store.close()
    listed = cli("tunes").stdout
    assert "damaged" in listed and "+1.00%" in listed  # the healthy one is still listed beside it
    rows = {r["tune_id"]: r for r in json.loads(cli("tunes", "--json").stdout)}
    assert rows["aaaa11112222"]["damaged"] and rows["bbbb33334444"]["damaged"] is None
    shown = cli("tunes", "show", "aaaa", code=1)
    assert "tune aaaa11112222 is damaged in the store" in shown.stderr and "unexpected" not in shown.stderr
