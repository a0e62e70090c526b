"""Forecasting, the ledger and the daily cron job, against a real store in a temporary home."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import ROOT, SAMPLE, Cli, one_forecast
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.evaluation.scoring import to_price
from lstmcast.forecasting.calendar import next_sessions
from lstmcast.forecasting.intervals import interval_quantiles
from lstmcast.jobs.train import train
from lstmcast.prep.dataset import build_frame
from lstmcast.registry.saved import load_model
from lstmcast.store.db import Store
from synth import ar1


def test_dates_skip_weekends_holidays_and_unscheduled_closures() -> None:
    assert next_sessions(date(2012, 11, 16), 1, "XNYS") == [date(2012, 11, 19)]  # Fri -> Mon
    assert next_sessions(date(2012, 11, 21), 2, "XNYS") == [
        date(2012, 11, 23),
        date(2012, 11, 26),
    ]  # Thanksgiving
    assert next_sessions(date(2012, 10, 26), 1, "XNYS") == [date(2012, 10, 31)]  # Hurricane Sandy
    assert next_sessions(date(2013, 2, 15), 1, "XNYS") == [date(2013, 2, 19)]  # Presidents' Day


def test_error_pools_live_beside_the_manifest_and_older_models_still_load(home: Path) -> None:
    """Format 2 writes the interval pools to errors.safetensors, not as JSON numbers; the
    loaded model holds them as training computed them, and a format 1 model (pools in its
    JSON) loads to the same pools and the same forecast."""
    from lstmcast.data.ingest import import_csv
    from lstmcast.data.series import load_stored
    from lstmcast.jobs.forecast import forecast
    from lstmcast.jsonable import to_jsonable
    from lstmcast.registry.checkpoint import ERRORS, MANIFEST, POOLS, manifest_text, read_manifest
    from lstmcast.runconfig import ForecastConfig

    import_csv(Store(home), SAMPLE / "IBM.csv", "IBM")
    cfg = TrainConfig(model="cnn", window=10, channels=4, layers=1, epochs=1, horizon=3, threads=1)
    report = train(Store(home), cfg, load_stored(Store(home), "IBM"))
    folder = home / "models" / report.model_id
    on_disk = read_manifest(folder)
    assert (folder / ERRORS).is_file() and ERRORS in on_disk["checksums"]
    assert not any(k in on_disk for k in (*POOLS, "residuals_log"))
    assert (folder / MANIFEST).stat().st_size < 40_000  # the pools were most of its 1 MB

    def pools(engine: str) -> list[Any]:
        loaded = load_model(Store(home), report.model_id, engine=engine)
        return [loaded.residuals(), loaded.scaled_residuals(), loaded.vol_scaled_residuals()]

    def same(x: list[Any], y: list[Any]) -> bool:
        return all(np.array_equal(a, b) for p, q in zip(x, y, strict=True) for a, b in zip(p, q, strict=True))

    new = pools("onnx")
    assert [len(p) for p in new] == [3, 3, 3] and all(len(step) > 100 for p in new for step in p)
    assert same(new, pools("torch"))
    before = to_jsonable(forecast(Store(home), "IBM", ForecastConfig(horizon=3)))

    # The same model as format 1 wrote it: the pools in the JSON, no errors file.
    as_lists = {k: {"IBM": [np.asarray(a).tolist() for a in p]} for k, p in zip(POOLS, new, strict=True)}
    old: dict[str, object] = {**on_disk, **as_lists, "residuals_log": as_lists["residuals_by_ticker"]["IBM"]}
    old["checksums"] = {k: v for k, v in on_disk["checksums"].items() if k != ERRORS}
    (folder / MANIFEST).write_text(manifest_text({**old, "format": 1}))
    (folder / ERRORS).unlink()
    assert same(new, pools("onnx"))
    after = to_jsonable(forecast(Store(home), "IBM", ForecastConfig(horizon=3)))
    assert {**after, "ledger_new": 3} == before  # the second adds nothing to the ledger


def test_interval_coverage_on_unseen_data_is_near_nominal(home: Path) -> None:
    bars, _ = ar1(4000, phi=0.3, seed=17)
    cfg = TrainConfig(model="cnn", window=10, channels=8, layers=1, epochs=6, threads=1)
    report = train(Store(home), cfg, Series("SYN", bars.iloc[:2000], "synthetic"))
    loaded = load_model(Store(home), report.model_id)
    frame = build_frame(bars, cfg.target, cfg.features)
    at = np.arange(2000, frame.n - 1)  # origins the model and its residuals never saw
    centre = to_price(frame, at, loaded.fitted.predict(frame, at))[:, 0]
    q = interval_quantiles(loaded.residuals(), 1)[0]
    actual = frame.price[at + 1]
    cover80 = np.mean((actual >= centre * np.exp(q[0])) & (actual <= centre * np.exp(q[1])))
    cover95 = np.mean((actual >= centre * np.exp(q[2])) & (actual <= centre * np.exp(q[3])))
    assert abs(cover80 - 0.80) < 0.05 and abs(cover95 - 0.95) < 0.03, (cover80, cover95)


def _truncated(tmp_path: Path, name: str, last: str) -> Path:
    lines = (SAMPLE / f"{name}.csv").read_text().splitlines()
    keep = [lines[0]] + [ln for ln in lines[1:] if ln[:10] <= last]
    path = tmp_path / f"{name}-{last}.csv"
    path.write_text("\n".join(keep) + "\n")
    return path


def _tiny_model(cli: Cli, ticker: str) -> str:
    doc = json.loads(
        cli("train", ticker, "--model", "cnn", "--window", "20", "--epochs", "1", "--json").stdout
    )
    return str(doc["model_id"])


def _ledger_rows(home: Path) -> int:
    with sqlite3.connect(home / "lstmcast.db") as conn:
        return int(conn.execute("SELECT count(*) FROM ledger").fetchone()[0])


@pytest.mark.slow
def test_forecast_ledger_idempotent_then_scored_when_prices_arrive(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", _truncated(tmp_path, "AAPL", "2013-02-15"), "--ticker", "AAPL")
    model_id = _tiny_model(cli, "AAPL")
    doc = one_forecast(cli("forecast", "AAPL", "--horizon", "3", "--json").stdout)
    assert doc["model_id"] == model_id and doc["as_of"] == "2013-02-15"
    assert [f["date"] for f in doc["forecasts"]] == ["2013-02-19", "2013-02-20", "2013-02-21"]
    for f in doc["forecasts"]:
        assert f["lower_95"] < f["lower_80"] < f["price"] < f["upper_80"] < f["upper_95"]
    assert _ledger_rows(home) == 3
    again = cli("forecast", "AAPL", "--horizon", "3")
    assert "already forecast" in again.stdout and _ledger_rows(home) == 3
    pending = json.loads(cli("ledger", "AAPL", "--json").stdout)
    assert pending["summary"][0]["pending"] == 3 and pending["summary"][0]["scores"]["mae"] is None
    cli("import", SAMPLE / "AAPL.csv", "--ticker", "AAPL")  # the real prices arrive
    scored = json.loads(cli("ledger", "--json").stdout)
    s = scored["summary"][0]
    assert s["scored"] == 3 and s["pending"] == 0
    actual = {
        ln.split(",")[0]: float(ln.split(",")[6]) for ln in (SAMPLE / "AAPL.csv").read_text().splitlines()[1:]
    }
    for row in scored["rows"]:
        assert row["realised"] == pytest.approx(actual[row["target_date"]])
        assert row["error"] == pytest.approx(row["price"] - row["realised"])
    assert s["scores"]["mae"] == pytest.approx(np.mean([abs(r["error"]) for r in scored["rows"]]))
    assert s["scores"]["naive_mae"] == pytest.approx(
        np.mean([abs(r["last_price"] - r["realised"]) for r in scored["rows"]])
    )
    assert 0 <= s["coverage_80"] <= s["coverage_95"] <= 1
    human = cli("ledger").stdout
    assert "live record" in human and "naive MAE" in human


@pytest.mark.slow
def test_stale_model_warns_and_retrain_if_older_retrains(cli: Cli, home: Path, tmp_path: Path) -> None:
    cli("import", _truncated(tmp_path, "IBM", "2012-12-31"), "--ticker", "IBM")
    old = _tiny_model(cli, "IBM")
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    res = cli("forecast", "IBM", "--json")
    assert "days before the newest bar" in res.stderr
    doc = one_forecast(cli("forecast", "IBM", "--retrain-if-older", "30", "--json").stdout)
    assert doc["retrained"] is True and doc["model_id"] != old
    assert load_model(Store(Path(home)), doc["model_id"]).manifest["data"]["last_date"] == "2013-03-01"


def _watchlist(home: Path, fetch: bool) -> Path:
    path = home / "watch.toml"
    path.write_text(
        f"horizon = 2\nfetch = {'true' if fetch else 'false'}\nretrain_if_older = 0\n"
        '[[ticker]]\nsymbol = "AAPL"\nmodel = "cnn"\n'
    )
    return path


def test_daily_runs_then_does_nothing_without_a_new_bar(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "AAPL.csv", "--ticker", "AAPL")
    _tiny_model(cli, "AAPL")
    cfg = _watchlist(home, fetch=False)
    quiet = cli("daily", "--config", cfg, "--quiet")
    assert quiet.stdout == "" and quiet.stderr == ""
    assert _ledger_rows(home) == 2
    second = json.loads(cli("daily", "--config", cfg, "--json").stdout)
    assert second["tickers"][0]["status"] == "no new bar" and second["exit_code"] == 0
    assert _ledger_rows(home) == 2


def test_daily_network_failure_still_forecasts_stored_data_and_exits_75(
    cli: Cli, home: Path, fake_yahoo: Any
) -> None:
    cli("import", SAMPLE / "AAPL.csv", "--ticker", "AAPL")
    _tiny_model(cli, "AAPL")
    fake_yahoo.down = True
    log = home / "daily.log"
    res = cli("daily", "--config", _watchlist(home, fetch=True), "--quiet", "--log-file", log, code=75)
    assert "network" in res.stderr and res.stdout == ""
    # The error line says what failed and nothing else; the log says how old the data is.
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "stored bars" not in errors[0] and "trained" not in errors[0]
    assert _ledger_rows(home) == 2
    text = log.read_text()
    assert "AAPL forecast" in text and "exit 75" in text
    assert "working from stored bars up to 2013-03-01" in text and "day(s) old" in text


@pytest.mark.slow
def test_daily_lock_held_exits_75_and_a_stale_lock_file_does_not_block(cli: Cli, home: Path) -> None:
    from lstmcast.runlock import run_lock

    cli("import", SAMPLE / "AAPL.csv", "--ticker", "AAPL")
    _tiny_model(cli, "AAPL")
    cfg = _watchlist(home, fetch=False)
    with run_lock(home / "daily.lock"):
        held = cli("daily", "--config", cfg, code=75)
        assert "another lstmcast daily run holds" in held.stderr
    (home / "daily.lock").write_text("999999\n")  # left behind by a crashed run
    cli("daily", "--config", cfg, "--quiet")
    assert _ledger_rows(home) == 2


@pytest.mark.slow
def test_two_daily_runs_started_together(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "AAPL.csv", "--ticker", "AAPL")
    _tiny_model(cli, "AAPL")
    cfg = _watchlist(home, fetch=False)
    cmd = [sys.executable, "-m", "lstmcast", "--home", str(home), "daily", "--config", str(cfg), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    results = [(p.returncode, err.decode()) for p, (_, err) in zip(procs, outputs, strict=True)]
    codes = sorted(code for code, _ in results)
    # Either the second found the first holding the lock (75, in one line), or the first had
    # already finished and the second found no new bar (0): which one is a race of process
    # start-up. Held is tested deterministically in test_daily_lock_held_exits_75.
    assert codes in ([0, 75], [0, 0]), results
    assert all("holds" in err for code, err in results if code == 75), results
    assert _ledger_rows(home) == 2  # never both: one run's forecasts, once


def test_daily_init_bad_config_and_cron_line(cli: Cli, home: Path) -> None:
    cfg = home / "daily.toml"
    cli("daily", "--init")
    text = cfg.read_text()
    assert "[[ticker]]" in text and "retrain_if_older" in text
    assert "exists" in cli("daily", "--init", code=1).stderr
    (home / "bad.toml").write_text("[[ticker]]\nsymbol = 'AAPL'\nmodle = 'lstm'\n")
    err = cli("daily", "--config", home / "bad.toml", code=1).stderr
    assert "line 3: unknown setting 'modle' in [ticker]; did you mean 'model'?" in err
    line = cli("cron").stdout.strip().splitlines()[-1]
    assert line.startswith("30 18 * * 1-5 ") and f"LSTMCAST_HOME={home}" in line and " daily " in line
    exe = line.split()[6]
    assert Path(exe).is_absolute()


def _as_cron_reads_it(command: str) -> str:
    """What cron (Vixie, cronie) runs of a crontab command: `\\%` is a plain `%`, and an
    unescaped `%` ends the command (the rest becomes its input)."""
    out, escaped = [], False
    for ch in command:
        if escaped:
            out.append(ch if ch == "%" else "\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            break
        else:
            out.append(ch)
    return "".join(out)


def test_a_home_with_percent_signs_survives_cron(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "100% sure %d"
    line = cli("--home", home, "cron").stdout.strip().splitlines()[-1]
    words = shlex.split(_as_cron_reads_it(line.split(" ", 5)[5]))
    assert words[0] == f"LSTMCAST_HOME={home}" and words[-1] == str(home / "daily.log"), words
    assert "line break" in cli("--home", tmp_path / "two\nlines", "cron", code=1).stderr


@pytest.mark.slow
def test_forecast_from_csv_is_not_stored_and_levels_are_chosen(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    _tiny_model(cli, "IBM")
    res = cli("forecast", "--csv", SAMPLE / "IBM.csv", "--horizon", "2", "--levels", "50,80,99", "--json")
    doc = one_forecast(res.stdout)
    assert doc["ticker"] == "IBM" and "not recorded in the ledger" in res.stderr
    f = doc["forecasts"][0]
    assert list(f["intervals"]) == ["50", "80", "99"]
    lo50, hi50 = f["intervals"]["50"]
    lo99, hi99 = f["intervals"]["99"]
    assert lo99 < f["lower_95"] < f["lower_80"] < lo50 < hi50 < f["upper_80"] < f["upper_95"] < hi99
    assert f["intervals"]["80"] == [f["lower_80"], f["upper_80"]]
    assert _ledger_rows(home) == 0
    table = cli("forecast", "IBM", "--levels", "90").stdout
    assert "90% interval" in table and "80% interval" not in table
    assert _ledger_rows(home) == 1  # the ledger keeps its 80/95% bounds whatever is shown
    assert "--levels" in cli("forecast", "IBM", "--levels", "1,2,abc", code=2).stderr
    assert "between 0 and 100" in cli("forecast", "IBM", "--levels", "120", code=1).stderr
    # 99.9% needs about 2,000 errors per side: the tiny model has far fewer, so both sides are
    # unbounded (null in JSON, flagged), never the sample extremes.
    wide = one_forecast(cli("forecast", "IBM", "--levels", "80,99.9", "--json").stdout)["forecasts"][0]
    assert wide["intervals"]["99.9"] == [None, None] and wide["unbounded"] == ["99.9"]
    assert None not in wide["intervals"]["80"]
    assert "unbounded .. unbounded" in cli("forecast", "IBM", "--levels", "99.9").stdout


@pytest.mark.slow
def test_a_failed_ticker_in_a_multi_ticker_forecast_leaves_no_unseen_ledger_rows(
    cli: Cli, home: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    cli("import", SAMPLE / "MSFT.csv", "--ticker", "NOMODEL")
    _tiny_model(cli, "IBM")
    res = cli("forecast", "IBM", "NOMODEL", "--horizon", "2", code=1)
    assert "IBM from" in res.stdout  # the ticker that worked is shown...
    assert _ledger_rows(home) == 2  # ...and its two rows are the only ones written
    assert "NOMODEL" in res.stderr and res.stderr.count("error:") == 1
    doc = json.loads(cli("forecast", "IBM", "NOMODEL", "--horizon", "2", "--json", code=1).stdout)
    assert [d["ticker"] for d in doc["tickers"]] == ["IBM"] and doc["tickers"][0]["ledger_new"] == 0
    assert doc["exit_code"] == 1 and doc["errors"][0]["ticker"] == "NOMODEL"
    # One ticker or many, success or not: the same document; a failure before any ticker ran is
    # the error envelope every command prints with --json.
    assert set(json.loads(cli("forecast", "IBM", "--json").stdout)) == {"exit_code", "tickers", "errors"}
    failed = json.loads(cli("forecast", "NOMODEL", "--json", code=1).stdout)
    assert failed["exit_code"] == 1 and "no trained" in failed["error"]


@pytest.mark.slow
def test_the_watchlist_trains_missing_models_with_its_preset_and_train_settings(cli: Cli, home: Path) -> None:
    """`daily` used to train a missing model with the full defaults (30 epochs of a 2x64 LSTM);
    the watchlist now says how: a preset and [train] settings for all, `train = {...}` per entry."""
    for t in ("AAPL", "IBM"):
        cli("import", SAMPLE / f"{t}.csv", "--ticker", t)
    path = home / "watch.toml"
    path.write_text(
        'fetch = false\npreset = "fast"\n[[ticker]]\nsymbol = "AAPL"\nmodel = "lstm"\n'
        'train = { hidden = 8, window = 20 }\n[[ticker]]\nsymbol = "IBM"\nmodel = "cnn"\n'
        "[train]\nepochs = 1\nchannels = 4\n"
    )
    cli("daily", "--config", path)
    configs = {m["tickers"][0]: m["config"] for m in json.loads(cli("models", "--json").stdout)}
    aapl, ibm = configs["AAPL"], configs["IBM"]
    assert (aapl["model"], aapl["hidden"], aapl["window"], aapl["layers"], aapl["batch_size"]) == (
        "lstm",
        8,
        20,
        1,
        128,
    )
    assert aapl["epochs"] == ibm["epochs"] == 1 and (ibm["model"], ibm["channels"]) == ("cnn", 4)
    # A typo, a wrong type or a bad value in the training settings names its place.
    for text, says in [("[train]\nepoch = 1\n", "unknown setting 'epoch' in [train]; did you mean 'epochs'?"),
                       ("[train]\nepochs = 0\n", "AAPL: --epochs must be between 1"),
                       ("[train]\nmodel = 'gru'\n", "model is set on the [[ticker]] entry"),
                       ('preset = "turbo"\n', "unknown preset 'turbo'")]:  # fmt: skip
        path.write_text('fetch = false\n[[ticker]]\nsymbol = "AAPL"\n' + text)
        assert says in cli("daily", "--config", path, code=1).stderr, text


def test_daily_says_what_each_entry_is_doing_as_it_goes(cli: Cli, home: Path) -> None:
    """A night's run is never silent at a terminal: one line per entry as it is queued and done."""
    from lstmcast.jobs.daily import daily
    from lstmcast.store.db import Store

    cli("import", SAMPLE / "AAPL.csv", "--ticker", "AAPL")
    cfg = _watchlist(home, fetch=False)
    lines: list[str] = []
    daily(Store(home), cfg, on_step=lines.append)  # no model yet: trained, then forecast
    assert lines[0] == "AAPL cnn log_return: queued to train, then forecast (1 queued)"
    assert lines[1].startswith("AAPL cnn log_return: forecast from 2013-03-01 (")
    lines.clear()
    daily(Store(home), cfg, on_step=lines.append)
    assert lines == ["AAPL cnn log_return: no new bar"]
    assert cli("daily", "--config", cfg).stderr == ""  # not a terminal here: no progress lines


def test_one_csv_is_one_series_forecast_once(cli: Cli, home: Path) -> None:
    res = cli("forecast", "IBM", "MSFT", "--csv", SAMPLE / "IBM.csv", code=2)
    assert "holds one series: name it with --ticker T" in res.stderr and "IBM, MSFT" in res.stderr
