"""Bad input that used to slip through, damaged files, and the unattended paths that must not go quiet."""

from __future__ import annotations

import codecs
import dataclasses
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLE, Cli, one_forecast
from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError
from lstmcast.runconfig import BacktestConfig
from lstmcast.store.migrations import MIGRATIONS

HEADER = "Date,Open,High,Low,Close,Volume,Adj Close"


def _rows(home: Path, ticker: str) -> int:
    if not (home / "lstmcast.db").exists():
        return 0
    with sqlite3.connect(home / "lstmcast.db") as conn:
        return int(conn.execute("SELECT count(*) FROM prices WHERE ticker=?", (ticker,)).fetchone()[0])


def _csv(tmp_path: Path, body: list[str], name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *body]) + "\n")
    return path


GOOD = ["2020-01-02,10,11,9,10.5,1000,10.5", "2020-01-03,10.5,11,10,10.8,1000,10.8"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2020-01-06,10,11,9,inf,1000,10.5", "line 4 (2020-01-06): Close must be a finite number"),
        ("2020-01-06,10,11,9,10.5,1000,1e308", "Adj Close is beyond any plausible price"),
        ("2020-01-06,10,9,11,10,1000,10", "line 4 (2020-01-06): High 9 is below Low 11"),
        ("2020-01-06,10,11,9,12,1000,12", "line 4 (2020-01-06): Close 12 is above High 11"),
        ("2020-01-06,10,11,9,8,1000,8", "Close 8 is below Low 9"),
        ("2030-01-02,10,11,9,10,1000,10", "line 4: 2030-01-02 is in the future"),
    ],
)
def test_impossible_bars_are_refused_naming_the_line(
    cli: Cli, home: Path, tmp_path: Path, row: str, message: str
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    err = cli("import", _csv(tmp_path, [*GOOD, row]), "--ticker", "IBM", code=1).stderr
    assert message in err and len(err.strip().splitlines()) == 1
    assert _rows(home, "IBM") == 3270  # what was stored is untouched


def test_implausible_moves_are_a_warning(cli: Cli, home: Path, tmp_path: Path) -> None:
    res = cli("import", _csv(tmp_path, [*GOOD, "2020-01-06,50,60,40,55,1000,55"]), "--ticker", "X")
    assert "moves more than 3x in one day on 2020-01-06" in res.stderr and _rows(home, "X") == 3


def test_european_excel_files_semicolons_decimal_commas_and_utf16(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    body = "Date;Open;High;Low;Close;Volume;Adj Close\n2020-01-02;10,5;11,25;9,75;10,80;1.000;10,80\n"
    body += "2020-01-03;1.010,5;1.100,0;1.000,0;1.050,25;2.000;1.050,25\n"
    semi = tmp_path / "norsk.csv"
    semi.write_text(body)
    doc = json.loads(cli("import", semi, "--ticker", "EQNR.OL", "--json").stdout)
    assert doc["rows"] == 2
    rows = json.loads(cli("data", "EQNR.OL", "--json").stdout)
    assert [r["close"] for r in rows] == [10.8, 1050.25] and rows[0]["volume"] == 1000
    utf16 = tmp_path / "unicode.txt"
    utf16.write_bytes(codecs.BOM_UTF16_LE + body.replace(";", "\t").encode("utf-16-le"))
    assert json.loads(cli("import", utf16, "--ticker", "EQNR2", "--json").stdout)["rows"] == 2


def test_a_store_from_a_newer_lstmcast_is_refused_untouched(cli: Cli, home: Path) -> None:
    home.mkdir(parents=True)
    with sqlite3.connect(home / "lstmcast.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    before = (home / "lstmcast.db").read_bytes()
    err = cli("data", code=1).stderr
    assert "schema version 999, newer than this lstmcast knows" in err and "upgrade" in err
    assert len(err.strip().splitlines()) == 1
    assert (home / "lstmcast.db").read_bytes() == before and not (home / "lstmcast.db-wal").exists()


def _tiny_model(cli: Cli, ticker: str = "IBM") -> str:
    fast = ["--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4", "--json"]
    return str(json.loads(cli("train", ticker, *fast).stdout)["model_id"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda d: (d / "weights.safetensors").write_bytes((d / "weights.safetensors").read_bytes()[:100]),
         "weights.safetensors is unreadable"),
        (lambda d: (d / "weights.safetensors").write_bytes(b""), "weights.safetensors is unreadable"),
        (lambda d: (d / "weights.safetensors").unlink(), "weights.safetensors is missing"),
        (lambda d: (d / "errors.safetensors").write_bytes(b"\0" * 64),
         "errors.safetensors does not match its checksum"),
        (lambda d: (d / "errors.safetensors").unlink(), "errors.safetensors is missing"),
        (lambda d: (d / "manifest.json").write_text('{"config": '), "manifest.json is unreadable"),
        (lambda d: (d / "manifest.json").unlink(), "manifest.json is missing"),
    ],
)  # fmt: skip
def test_a_damaged_model_is_named_with_what_to_do(cli: Cli, home: Path, damage: Any, says: str) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    model_id = _tiny_model(cli)
    damage(home / "models" / model_id)
    err = cli("forecast", "IBM", code=1).stderr
    assert f"model {model_id} is damaged: {says}" in err and f"lstmcast models rm {model_id}" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    [listed] = json.loads(cli("models", "--json").stdout)
    assert listed["status"].startswith("damaged: ") and says in listed["status"]
    cli("models", "rm", model_id)
    assert json.loads(cli("models", "--json").stdout) == []


def test_orphaned_model_dirs_are_listed_and_removed(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    keep = _tiny_model(cli)
    stray = home / "models" / ".ibm-cnn-20260101-000000-dead.staging"
    stray.mkdir()
    (stray / "weights.safetensors").write_bytes(b"half")
    listing = cli("models")
    assert "1 model dir(s) with no record" in listing.stderr and stray.name in listing.stderr
    assert "removed 1 orphaned" in cli("models", "rm", "--orphans").stdout
    assert not stray.exists() and (home / "models" / keep).exists()
    cli("models", "rm", code=2)  # an ID or --orphans


def test_a_constant_series_is_refused(cli: Cli, tmp_path: Path) -> None:
    rows = [f"2020-{m:02d}-{d:02d},100,100,100,100,1000,100" for m in range(1, 13) for d in range(1, 29)]
    err = cli("train", "--csv", _csv(tmp_path, rows, "flat.csv"), "--epochs", "1", code=1).stderr
    assert "never changes" in err and "nan" not in err.lower()


def test_daily_leaves_a_log_line_even_when_it_fails_at_once(cli: Cli, home: Path) -> None:
    log = home / "logs" / "daily.log"
    broken = home / "daily.toml"
    home.mkdir(parents=True)
    broken.write_text("horizn = 5\n[[ticker]]\nsymbol = 'AAPL'\n")
    res = cli("daily", "--config", broken, "--quiet", "--log-file", log, code=1)
    assert "line 1: unknown setting 'horizn'; did you mean 'horizon'?" in res.stderr
    text = log.read_text()
    assert "horizn" in text and text.strip().endswith("exit 1")
    empty = home / "empty.toml"
    empty.write_text("horizon = 2\n")
    res = cli("daily", "--config", empty, "--log-file", log, code=1)
    assert "no [[ticker]] entries" in res.stderr  # brackets shown as written, not eaten as markup
    assert log.read_text().count(" exit 1") == 2
    (home / "lstmcast.db").write_text("not a database")
    (home / "ok.toml").write_text("[[ticker]]\nsymbol = 'AAPL'\nfetch = false\n")
    cli("daily", "--config", home / "ok.toml", "--quiet", "--log-file", log, code=1)
    assert "not a readable lstmcast store" in log.read_text() and log.read_text().count(" exit 1") == 3


def test_watchlist_values_of_the_wrong_type_name_their_line(cli: Cli, home: Path) -> None:
    home.mkdir(parents=True)
    bad = home / "w.toml"
    bad.write_text("[[ticker]]\nsymbol = 'AAPL'\n\n[[ticker]]\nsymbol = 'MSFT'\nhorizon = 'five'\n")
    assert "line 6: horizon must be an integer, got 'five'" in cli("daily", "--config", bad, code=1).stderr


@pytest.mark.slow
def test_forecast_calendar_follows_the_exchange_suffix_and_stale_exog_is_warned(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "EQNR.OL")
    _tiny_model(cli, "EQNR.OL")
    doc = one_forecast(cli("forecast", "EQNR.OL", "--json").stdout)
    assert doc["calendar"] == "XOSL"
    assert doc["last_close"] == pytest.approx(202.91) and doc["forecasts"][0]["close"] > 150  # quoted units
    lines = (SAMPLE / "MSFT.csv").read_text().splitlines()
    (tmp_path / "msft.csv").write_text("\n".join(lines[:-5]) + "\n")  # ends five bars early
    cli("import", tmp_path / "msft.csv", "--ticker", "MSFT")
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    fast = ["--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4"]
    cli("train", "IBM", *fast, "--exog", "MSFT")
    assert "exog MSFT ends on 2013-02-22, before IBM's last bar 2013-03-01" in cli("forecast", "IBM").stderr


@pytest.mark.slow
def test_daily_fetches_the_exogenous_series_its_models_read(
    cli: Cli, home: Path, fake_yahoo: Any, tmp_path: Path
) -> None:
    from lstmcast.sources.csvfile import read_price_csv

    lines = (SAMPLE / "MSFT.csv").read_text().splitlines()
    (tmp_path / "msft.csv").write_text("\n".join(lines[:-5]) + "\n")
    cli("import", tmp_path / "msft.csv", "--ticker", "MSFT")
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    fast = ["--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4"]
    cli("train", "IBM", *fast, "--exog", "MSFT")
    fake_yahoo.bars["IBM"] = read_price_csv(SAMPLE / "IBM.csv").bars
    fake_yahoo.bars["MSFT"] = read_price_csv(SAMPLE / "MSFT.csv").bars
    (home / "w.toml").write_text("[[ticker]]\nsymbol = 'IBM'\nmodel = 'cnn'\nretrain_if_older = 0\n")
    doc = json.loads(cli("daily", "--config", home / "w.toml", "--json").stdout)
    assert doc["exit_code"] == 0 and "exog" not in doc["tickers"][0]["detail"]
    assert "MSFT" in {symbol for symbol, _ in fake_yahoo.chart_requests}
    assert _rows(home, "MSFT") == 3270


@pytest.mark.parametrize("bad", ["inf", "-1"])
def test_train_from_csv_checks_the_file_like_import_does(cli: Cli, tmp_path: Path, bad: str) -> None:
    rows = [*GOOD, f"2020-01-06,10,11,9,{bad},1000,10"]
    assert "line 4" in cli("train", "--csv", _csv(tmp_path, rows), code=1).stderr


def test_ledger_scores_the_kth_real_bar_when_a_session_did_not_happen(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    lines = (SAMPLE / "AAPL.csv").read_text().splitlines()
    early = [lines[0]] + [ln for ln in lines[1:] if ln[:10] <= "2013-02-27"]
    (tmp_path / "early.csv").write_text("\n".join(early) + "\n")
    cli("import", tmp_path / "early.csv", "--ticker", "AAPL")
    _tiny_model(cli, "AAPL")
    doc = one_forecast(cli("forecast", "AAPL", "--horizon", "2", "--json").stdout)
    assert [f["date"] for f in doc["forecasts"]] == ["2013-02-28", "2013-03-01"]
    # 2013-02-28 turns out to be an unscheduled closure: no bar that day.
    (tmp_path / "closed.csv").write_text(
        "\n".join(ln for ln in lines if not ln.startswith("2013-02-28")) + "\n"
    )
    with sqlite3.connect(home / "lstmcast.db") as conn:
        conn.execute("DELETE FROM prices WHERE ticker = 'AAPL' AND date = '2013-02-28'")
    cli("import", tmp_path / "closed.csv", "--ticker", "AAPL")
    rows = json.loads(cli("ledger", "AAPL", "--json").stdout)["rows"]
    step1, step2 = rows
    assert step1["realised_date"] == "2013-03-01" and step1["date_moved"] is True  # the next real bar
    assert step1["realised"] == pytest.approx(56.137353, rel=1e-6)  # the 2013-03-01 adjusted close
    assert step2["realised"] is None  # only one bar has happened since: still pending


def _tiny(cli: Cli, ticker: str) -> str:
    args = ["train", ticker, "--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4", "--json"]
    return str(json.loads(cli(*args).stdout)["model_id"])


def test_rm_never_deletes_through_a_link_and_record_only_keeps_every_file(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    import shutil

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    keep, linked = _tiny(cli, "IBM"), _tiny(cli, "IBM")
    # The second model's folder becomes a link into the first's: removing it removes the link.
    shutil.rmtree(home / "models" / linked)
    (home / "models" / linked).symlink_to(home / "models" / keep, target_is_directory=True)
    assert cli("models", "rm", linked).stdout.strip() == f"removed {linked}"
    assert not (home / "models" / linked).exists() and not (home / "models" / linked).is_symlink()
    assert (home / "models" / keep / "manifest.json").is_file()
    assert one_forecast(cli("forecast", "IBM", "--json").stdout)["model_id"] == keep
    # A record pointing outside the home: refused with the way out, which deletes no file.
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "manifest.json").write_text("{}")
    with sqlite3.connect(home / "lstmcast.db") as conn:
        conn.execute("UPDATE models SET path = ? WHERE id = ?", (str(victim), keep))
    refused = cli("models", "rm", keep, code=1).stderr
    assert f"lstmcast models rm {keep} --record-only" in refused and "nothing was deleted" in refused
    assert (
        cli("models", "rm", keep, "--record-only").stdout.strip() == f"removed {keep} (its record; no file)"
    )
    assert (victim / "manifest.json").is_file() and json.loads(cli("models", "--json").stdout) == []


def test_a_copied_home_keeps_working_and_rm_never_leaves_its_own_models_dir(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    model = _tiny(cli, "IBM")
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    monkeypatch.setenv("LSTMCAST_HOME", str(copy))
    assert one_forecast(cli("forecast", "IBM", "--json").stdout)["model_id"] == model  # the copy works
    cli("models", "rm", model)
    assert not (copy / "models" / model).exists() and (home / "models" / model).is_dir()  # only its own
    # A record pointed elsewhere (hand-edited, or damaged) deletes nothing outside HOME/models.
    monkeypatch.setenv("LSTMCAST_HOME", str(home))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    with sqlite3.connect(home / "lstmcast.db") as conn:
        conn.execute("UPDATE models SET path = ? WHERE id = ?", (str(victim), model))
    refused = cli("models", "rm", model, code=1).stderr
    assert "outside" in refused and "nothing was deleted" in refused
    assert (victim / "keep.txt").read_text() == "mine"


def test_old_absolute_model_paths_are_made_relative_by_the_migration(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    model = _tiny(cli, "IBM")
    with sqlite3.connect(home / "lstmcast.db") as conn:
        assert conn.execute("SELECT path FROM models").fetchone()[0] == f"models/{model}"
        prices = conn.execute("SELECT * FROM prices").fetchall()
        columns = [r[1] for r in conn.execute("PRAGMA table_info(models)") if r[1] != "universe"]
        models = conn.execute(f"SELECT {', '.join(columns)} FROM models").fetchall()  # as schema 7 had
    for suffix in ("", "-wal", "-shm"):  # the store as an lstmcast of schema 7 left it
        (home / f"lstmcast.db{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(home / "lstmcast.db") as conn:
        for statement in ";".join(MIGRATIONS[:7]).split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.executemany(f"INSERT INTO prices VALUES ({', '.join('?' * len(prices[0]))})", prices)
        conn.executemany(f"INSERT INTO models VALUES ({', '.join('?' * len(models[0]))})", models)
        conn.execute("UPDATE models SET path = ?", (str(home / "models" / model),))  # as 0.1 wrote it
        conn.execute("PRAGMA user_version = 7")
    assert one_forecast(cli("forecast", "IBM", "--json").stdout)["model_id"] == model
    with sqlite3.connect(home / "lstmcast.db") as conn:
        assert conn.execute("SELECT path FROM models").fetchone()[0] == f"models/{model}"


def test_a_calendar_name_is_never_read_as_a_path(cli: Cli, home: Path, tmp_path: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    _tiny(cli, "IBM")
    # A crafted sessions file where `--calendar ../../../evil` would have led the cache.
    evil = home / "cache" / "calendars" / ".." / ".." / ".." / "evil.json"
    evil.parent.mkdir(parents=True, exist_ok=True)
    from datetime import date
    from importlib.metadata import version

    kept: dict[str, Any] = {
        "calendar": "evil",
        "version": version("exchange_calendars"),
        "made": date.today().isoformat(),
    }
    kept |= {"start": "2000-01-01", "end": "2030-01-01", "sessions": ["2013-12-25"]}
    evil.write_text(json.dumps(kept))  # what the cache would accept, were the name a path
    res = cli("forecast", "IBM", "--calendar", "../../../evil", code=1)
    assert "unknown calendar" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    with sqlite3.connect(home / "lstmcast.db") as conn:
        assert conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0


def test_atomic_writes_ignore_a_planted_symlink_and_leave_no_temp_file(tmp_path: Path) -> None:
    import os

    from lstmcast.paths import atomic_write_text

    target, elsewhere = tmp_path / "out.csv", tmp_path / "elsewhere.txt"
    elsewhere.write_text("untouched")
    # The temp name the old writer used, planted as a symlink to another file.
    os.symlink(elsewhere, tmp_path / f".out.csv.{os.getpid()}.tmp")
    atomic_write_text(target, "a,b\n")
    assert target.read_text() == "a,b\n" and elsewhere.read_text() == "untouched"
    # A write that fails (the target is a directory) names the path and leaves no temp file.
    (tmp_path / "adir").mkdir()
    with pytest.raises(ConfigError, match="adir is a directory"):
        atomic_write_text(tmp_path / "adir", "x")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".adir.")]


NUMERIC_OPTIONS = [
    (cls, f.name, f.type)
    for cls in (TrainConfig, BacktestConfig)
    for f in dataclasses.fields(cls)
    if f.type in ("int", "float")
]
HUGE = 10**30


@pytest.mark.parametrize(("cls", "name", "kind"), NUMERIC_OPTIONS, ids=[n for _, n, _ in NUMERIC_OPTIONS])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_numeric_setting_is_accepted_or_refused_in_one_line(
    cls: Any, name: str, kind: str, data: st.DataObject
) -> None:
    # Any integer for an int option; any float (NaN and infinities too) or integer for a float one.
    numbers = st.integers(-HUGE, HUGE)
    if kind == "float":
        numbers = st.one_of(numbers, st.floats(allow_nan=True, allow_infinity=True))
    value = data.draw(numbers)
    try:
        dataclasses.replace(cls(), **{name: value}).validate()
    except ConfigError as exc:  # the only way out: one line naming the problem
        assert "\n" not in str(exc) and str(exc)


@pytest.mark.timeout(120)  # each used to hang or fill memory: at the limit, a failure, not a hang
def test_absurd_options_are_refused_at_once(cli: Cli, home: Path) -> None:
    import time

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    t0 = time.perf_counter()
    for args, needle in [
        (["train", "IBM", "--window", "10000000"], "--window must be between 2 and 5000"),
        (["train", "IBM", "--horizon", "1000000000"], "--horizon must be between 1 and 252"),
        (["train", "IBM", "--model", "cnn", "--kernel-size", "0"], "--kernel-size must be between"),
        (["train", "IBM", "--model", "cnn", "--channels", "0"], "--channels must be between"),
        (["train", "IBM", "--hidden", "1000000"], "--hidden must be between 1 and 4096"),
        (["train", "IBM", "--seed", str(10**23)], "--seed must be between 0 and"),
        (["backtest", "IBM", "--folds", "1000000000"], "--folds must be between 1 and 1000"),
        (["forecast", "IBM", "--horizon", "1000000000"], "--horizon must be between 1 and 252"),
        (["forecast", "IBM", "--retrain-if-older", "-1"], "--retrain-if-older must be between 0 and"),
    ]:
        err = cli(*args, code=1).stderr
        assert needle in err and len(err.strip().splitlines()) == 1, (args, err)
    assert time.perf_counter() - t0 < 30  # refused before any work, not after
    _tiny(cli, "IBM")  # evaluated out of sample up to 20 steps: a longer horizon is refused first
    assert "ask for at most --horizon 20" in cli("forecast", "IBM", "--horizon", "200", code=1).stderr


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_a_fifo_or_a_device_is_refused_not_waited_on(home: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    env = {**os.environ, "LSTMCAST_HOME": str(home)}
    for target in (fifo, Path("/dev/zero")):
        res = subprocess.run(
            [sys.executable, "-m", "lstmcast", "import", str(target), "--ticker", "X"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert res.returncode == 1 and "not a regular file" in res.stderr, res.stderr


@pytest.mark.slow
def test_watchlist_entries_of_one_ticker_are_each_processed_and_a_duplicate_refused(
    cli: Cli, home: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    watch = home / "w.toml"
    watch.write_text(
        "fetch = false\nhorizon = 1\n[[ticker]]\nsymbol = 'IBM'\nmodel = 'cnn'\n"
        "[[ticker]]\nsymbol = 'ibm'\nmodel = 'rnn'\n"
    )
    doc = json.loads(cli("daily", "--config", watch, "--json").stdout)
    assert sorted(t["model"] for t in doc["tickers"]) == ["cnn", "rnn"]
    assert len({t["model_id"] for t in doc["tickers"]}) == 2  # two models, two forecasts
    watch.write_text("fetch = false\n[[ticker]]\nsymbol = 'IBM'\n[[ticker]]\nsymbol = 'ibm'\n")
    refused = cli("daily", "--config", watch, code=1).stderr
    assert "IBM lstm is listed twice" in refused and len(refused.strip().splitlines()) == 1


def test_a_model_killed_between_its_record_and_its_rename_is_completed_on_next_use(
    cli: Cli, home: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    model = _tiny(cli, "IBM")
    folder = home / "models" / model
    # The state kill -9 leaves after the record's commit: the files still under their staging name.
    folder.rename(folder.with_name(f".{model}.staging"))
    listed = json.loads(cli("models", "--json").stdout)
    assert [m["status"] for m in listed] == ["ok"] and folder.is_dir()
    assert not (home / "models" / f".{model}.staging").exists()
    assert one_forecast(cli("forecast", "IBM", "--json").stdout)["model_id"] == model
    assert "orphan" not in cli("models").stderr


@pytest.mark.slow
def test_a_flipped_bit_is_named_and_models_verify_finds_it(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    model = _tiny(cli, "IBM")
    assert json.loads(cli("models", "verify", "--json").stdout)["damaged"] == 0
    onnx = home / "models" / model / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, in the middle of the network's weights
    onnx.write_bytes(bytes(data))
    # No silent fallback to torch: the forecast names the damaged file.
    err = cli("forecast", "IBM", code=1).stderr
    assert "model.onnx does not match its checksum" in err and len(err.strip().splitlines()) == 1
    res = cli("models", "verify", code=1)
    assert model in res.stderr and "model.onnx" in res.stderr
    assert json.loads(cli("models", "--json").stdout)[0]["status"].startswith("damaged")


@pytest.mark.slow
def test_an_edited_manifest_is_named_and_models_verify_finds_it(cli: Cli, home: Path) -> None:
    """The manifest carries its own checksum: a scaler edited by hand (here by a JSON tool that
    rewrites the file) is found like a flipped weight; an export that rewrites it keeps it whole."""
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    model = _tiny(cli, "IBM")
    manifest = home / "models" / model / "manifest.json"
    (home / "models" / model / "model.onnx").unlink()  # as saved before models had ONNX files
    doc = json.loads(manifest.read_text())
    doc["checksums"].pop("model.onnx")
    manifest.write_text(json.dumps(doc, indent=2))  # not resealed: an edit, as a user would make it
    assert "manifest.json does not match its checksum" in cli("models", "verify", code=1).stderr
    from lstmcast.registry.checkpoint import manifest_text

    manifest.write_text(manifest_text(doc))  # resealed, as lstmcast writes it
    cli("models", "export", model)  # writes model.onnx and its checksum into the manifest
    assert json.loads(cli("models", "verify", "--json").stdout)["damaged"] == 0
    doc = json.loads(manifest.read_text())
    doc["scaler"]["mean"][0] += 1.0
    manifest.write_text(json.dumps(doc))
    err = cli("forecast", "IBM", code=1).stderr
    assert "manifest.json does not match its checksum" in err and len(err.strip().splitlines()) == 1
    res = cli("models", "verify", code=1)
    assert model in res.stderr and "manifest.json" in res.stderr


def test_a_log_that_is_a_pipe_no_one_reads_is_refused_not_waited_on(cli: Cli, home: Path) -> None:
    import os
    import threading
    import time

    fifo = home / "log.fifo"
    home.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    err = cli("daily", "--log-file", fifo, code=1).stderr
    assert "is a pipe no one read for 5 s" in err and "no daily config" in err  # both said
    assert time.perf_counter() - t0 < 30
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    cli("daily", "--log-file", fifo, code=1)  # a reader is there: the line arrives
    reader.join(timeout=30)
    assert got and "no daily config" in got[0] and got[0].rstrip().endswith("exit 1")


@pytest.mark.slow
def test_damaged_store_contents_each_get_a_named_line(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    first, second = _tiny(cli, "IBM"), _tiny(cli, "IBM")
    # A record whose config is not JSON: the healthy model is still listed, the broken one named.
    with sqlite3.connect(home / "lstmcast.db") as conn:
        conn.execute("UPDATE models SET config_json = '{broken' WHERE id = ?", (first,))
    listed = {m["model_id"]: m["status"] for m in json.loads(cli("models", "--json").stdout)}
    assert listed[second] == "ok" and "not readable JSON" in listed[first]
    assert one_forecast(cli("forecast", "IBM", "--json").stdout)["model_id"] == second
    # A dropped table, then a schema version lower than the tables: named, nothing changed.
    with sqlite3.connect(home / "lstmcast.db") as conn:
        conn.execute("DROP TABLE aci_state")
    assert "lacks its aci_state table" in cli("data", code=1).stderr
    with sqlite3.connect(home / "lstmcast.db") as conn:
        conn.execute("PRAGMA user_version = 3")
    assert "schema version 3 does not match its tables" in cli("data", code=1).stderr
    # The home as a file, and the store as a directory.
    as_file = tmp_path / "homefile"
    as_file.write_text("")
    monkeypatch.setenv("LSTMCAST_HOME", str(as_file))
    assert "is a file, not a directory" in cli("data", code=1).stderr
    as_dir = tmp_path / "h2"
    (as_dir / "lstmcast.db").mkdir(parents=True)
    monkeypatch.setenv("LSTMCAST_HOME", str(as_dir))
    err = cli("data", code=1).stderr
    assert "is a directory, not an lstmcast store" in err and len(err.strip().splitlines()) == 1


def test_a_full_disk_is_named_and_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from lstmcast import paths

    target = tmp_path / "model.json"
    target.write_text("old")
    real = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ConfigError, match=f"disk full at {target}"):
        paths.atomic_write_text(target, "new")
    monkeypatch.setattr(os, "fsync", real)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_a_store_on_a_full_disk_refuses_the_import_whole(home: Path) -> None:
    """SQLite's own full-disk error (SQLITE_FULL), made real by capping the file's pages: one
    line that says so, and the store exactly as before."""
    from lstmcast.data.ingest import import_csv
    from lstmcast.errors import WriteRefused
    from lstmcast.store.db import Store

    with Store(home) as store:
        import_csv(store, SAMPLE / "IBM.csv", "IBM")
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(
            WriteRefused, match=r"^disk full: .*lstmcast.db could not grow; this write was rolled"
        ):
            import_csv(store, SAMPLE / "AAPL.csv", "AAPL")
    conn = sqlite3.connect(home / "lstmcast.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT DISTINCT ticker FROM prices").fetchall() == [("IBM",)]


def _limited(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("fresh", [False, True], ids=["grown-store", "new-store"])
def test_a_file_size_limit_is_named_not_called_damage(cli: Cli, home: Path, fresh: bool) -> None:
    """Under `ulimit -f` SQLite sees EFBIG as a disk I/O error: lstmcast names the limit,
    never "changed by hand", and the store stays whole and usable once the limit is lifted."""
    import subprocess
    import sys

    if not fresh:
        cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    limit = 20_000 if fresh else 300_000
    run = subprocess.run(
        [sys.executable, "-m", "lstmcast", "--home", str(home), "import", str(SAMPLE / "AAPL.csv")],
        capture_output=True, text=True, preexec_fn=lambda: _limited(limit), timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert f"at most {limit:,} bytes (ulimit -f)" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert "unexpected" not in run.stderr and "by hand" not in run.stderr
    listed = json.loads(cli("data", "--json").stdout)
    assert [t["ticker"] for t in listed] == ([] if fresh else ["IBM"])
    cli("import", SAMPLE / "AAPL.csv")  # the same import, no limit: it goes through


def _closed(home: Path, *args: str, close: tuple[int, ...]) -> subprocess.CompletedProcess[str]:
    """`lstmcast ARGS` started with the descriptors in `close` closed (as `>&-` does)."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        f"for fd in {close!r}: os.close(fd)\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'lstmcast', *sys.argv[1:]])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


def test_closed_standard_streams_discard_output_and_never_land_in_the_store(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    run = _closed(home, "data", close=(1,))
    assert run.returncode == 0 and run.stderr.startswith("warning: standard output is closed"), run.stderr
    assert _closed(home, "data", close=(1, 2)).returncode == 0
    assert _closed(home, "data", "NOPE", close=(1, 2)).returncode == 1  # the exit code still tells
    assert _closed(home, "import", str(SAMPLE / "AAPL.csv"), close=(0, 1)).returncode == 0
    conn = sqlite3.connect(home / "lstmcast.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r[0] for r in conn.execute("SELECT DISTINCT ticker FROM prices ORDER BY 1")] == ["AAPL", "IBM"]


def test_output_paths_are_checked_before_the_work(cli: Cli, home: Path, tmp_path: Path) -> None:
    import time

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    a_file, a_dir = tmp_path / "taken.txt", tmp_path / "adir"
    a_file.write_text("")
    a_dir.mkdir()
    t0 = time.perf_counter()
    cases = [
        (["backtest", "IBM", "--out", a_file], f"{a_file} is a file: --out wants a folder"),
        (["backtest", "IBM", "--plot", a_file / "x.png"], f"cannot write {a_file / 'x.png'}"),
        (["backtest", "IBM", "--plot", a_dir], f"{a_dir} is a directory"),
        (["sweep", "IBM", "--models", "cnn", "--out", a_file], "--out wants a folder"),
        (["data", "export", "IBM", a_dir], f"{a_dir} is a directory: give a file name"),
        (["daily", "--log-file", a_dir], f"{a_dir} is a directory"),
    ]
    for args, needle in cases:
        err = cli(*args, code=1).stderr
        assert needle in err and len(err.strip().splitlines()) == 1, (args, err)
    assert time.perf_counter() - t0 < 20  # no backtest ran first
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in ("home",)) == ["adir", "taken.txt"]
    assert list(a_dir.iterdir()) == []  # no temp file left anywhere


def test_a_model_that_cannot_be_written_leaves_no_staging_folder(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from lstmcast.registry import checkpoint

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_file", full)
    err = cli("train", "IBM", "--model", "cnn", "--window", "10", "--epochs", "1", code=1).stderr
    assert "disk full at" in err and "the model was not saved" in err and len(err.strip().splitlines()) == 1
    assert list((home / "models").iterdir()) == []  # no .staging folder holding the space
    assert json.loads(cli("models", "--json").stdout) == []


def test_training_into_a_home_removed_meanwhile_says_so(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from lstmcast.training import run

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    fit = run.run_training

    def then_remove_home(*args: Any, **kwargs: Any) -> Any:
        out = fit(*args, **kwargs)
        shutil.rmtree(home)  # someone deletes the home while the model trains
        return out

    monkeypatch.setattr(run, "run_training", then_remove_home)
    err = cli("train", "IBM", "--model", "cnn", "--window", "10", "--epochs", "1", code=1).stderr
    assert "was removed" in err and "it was not saved" in err


@pytest.mark.timeout(60)  # each used to read the whole file into memory first
def test_endless_lines_huge_texts_and_impossible_row_counts_stop_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    from lstmcast.errors import DataError
    from lstmcast.sources import csvfile, csvtext

    zeros = tmp_path / "zeros.csv"
    zeros.write_bytes(b"Date,Close\n" + b"\0" * (csvtext.MAX_LINE_BYTES + 10))
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"Date,Close\n2020-01-02," + b"0" * (1 << 24)))
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("Date,Close\n" + "2020-01-02,1\n" * 130_000)  # more rows than days since 1677
    for path, says in [(zeros, "a line longer than 16 KB"), (bomb, "a line longer than 16 KB"),
                       (repeated, "more than 127,")]:  # fmt: skip
        with pytest.raises(DataError, match=says):
            csvfile.read_price_csv(path)
    monkeypatch.setattr(csvtext, "MAX_TEXT_BYTES", 1000)
    many = tmp_path / "many.csv"
    many.write_text("Date,Close\n" + "".join(f"2020-01-{d:02d},1\n" for d in range(1, 29)) * 3)
    with pytest.raises(DataError, match="more than 0 MB of text"):
        csvfile.read_price_csv(many)


def test_only_the_price_columns_of_a_wide_file_are_kept(tmp_path: Path) -> None:
    from lstmcast.sources.csvfile import read_price_csv

    path = tmp_path / "wide.csv"
    extra = ",".join(f"x{i}" for i in range(40))
    path.write_text(
        f"Date,{extra},Close\n" + "".join(f"2020-01-{d:02d},{'7,' * 40}{d}\n" for d in range(2, 9))
    )
    got = read_price_csv(path)
    assert got.bars["close"].tolist() == [float(d) for d in range(2, 9)]
    assert "x0, x1, x2, x3, x4 and 35 more" in got.warnings[0]


@pytest.mark.slow
def test_a_read_only_home_serves_reads_and_names_itself_on_writes(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A home this user may not write (a backup, a shared home, a read-only mount): read commands
    work; writes say "read-only" before any work. As root, whom permissions do not stop, the
    commands run as nobody."""
    import os
    import shutil
    import stat
    import subprocess
    import sys
    import tempfile

    as_user: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: no way to be a user permissions stop")
        as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    top = Path(tempfile.mkdtemp(prefix="lstmcast-ro-"))
    try:
        top.chmod(0o755)
        home = top / "home"
        monkeypatch.setenv("LSTMCAST_HOME", str(home))
        cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
        model = _tiny_model(cli)
        stray = home / "models" / ".ibm-cnn-20260101-000000-dead.staging"
        stray.mkdir()
        for path in [home, *home.rglob("*")]:
            mode = path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
            path.chmod(mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | (0o555 if path.is_dir() else 0))

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            cmd = [*as_user, sys.executable, "-m", "lstmcast", "--home", str(home), *args]
            return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=top)

        orphan_note = "warning: 1 model dir(s) with no record"  # the stray, named by `models`
        for reads in (["data"], ["data", "IBM"], ["models"], ["models", "show", model], ["ledger"]):
            done = run(*reads)
            quiet = not done.stderr or (reads == ["models"] and done.stderr.startswith(orphan_note))
            assert done.returncode == 0 and quiet, (reads, done.stderr)
        assert "IBM" in run("data").stdout and model in run("models", "--json").stdout
        for writes in (["import", str(SAMPLE / "MSFT.csv"), "--ticker", "MSFT"], ["train", "IBM"],
                       ["forecast", "IBM"], ["fetch", "IBM"], ["models", "rm", "--orphans"],
                       ["models", "rm", model]):  # fmt: skip
            done = run(*writes)
            assert done.returncode == 1 and "is read-only here" in done.stderr, (writes, done.stderr)
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert not list(home.glob("*.db-*")), "a read-only open left files behind"
        assert stray.is_dir() and (home / "models" / model).is_dir()  # nothing said gone is there
    finally:
        for path in [top, *top.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(top)


def test_export_writes_a_pipe_in_place_and_stdout_with_a_dash(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename is for regular files: `data export` into a FIFO feeds its reader (the FIFO
    stays a FIFO), `-` is stdout, and a FIFO that no one reads is refused, not waited on."""
    import os
    import stat
    import subprocess

    from lstmcast import paths

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    cli("data", "export", "IBM", tmp_path / "ibm.csv")
    expected = (tmp_path / "ibm.csv").read_text()
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with open(tmp_path / "read.csv", "w") as sink:  # a file: a pipe back to us would fill and stall
        reader = subprocess.Popen(["cat", str(fifo)], stdout=sink)
        try:
            said = cli("data", "export", "IBM", fifo).stdout
        finally:
            reader.wait(timeout=60)
    assert (tmp_path / "read.csv").read_text() == expected and f"wrote 3270 rows to {fifo}" in said
    assert stat.S_ISFIFO(fifo.stat().st_mode) and not list(tmp_path.glob(".pipe.csv.*"))
    dashed = cli("data", "export", "IBM", "-")
    assert dashed.stdout == expected and "wrote 3270 rows to stdout" in dashed.stderr
    monkeypatch.setattr(paths, "PIPE_WAIT", 0.2)  # no reader will come: do not wait 5 s for it
    line = cli("data", "export", "IBM", fifo, code=1).stderr.strip()
    assert len(line.splitlines()) == 1 and "is a pipe no one read" in line, line
    assert stat.S_ISFIFO(fifo.stat().st_mode)
