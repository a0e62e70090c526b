"""The ONNX engine: every exportable architecture forecasts what torch forecasts, without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.errors import DamagedError, NotFoundError
from lstmcast.forecasting.path import predict_path
from lstmcast.jobs.train import train
from lstmcast.models.onnx import ONNX_FILE
from lstmcast.paths import models_dir
from lstmcast.registry.saved import export_model, load_model
from lstmcast.store.db import Store
from synth import ar1

TINY = TrainConfig(model="lstm", window=12, hidden=8, layers=2, epochs=2, lr=5e-3, threads=1)


def _series(ticker: str = "AAA", seed: int = 1) -> Series:
    return Series(ticker, ar1(600, phi=0.4, seed=seed)[0], "synthetic")


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    with Store(home) as s:
        yield s


@pytest.mark.parametrize(
    ("label", "cfg", "horizon"),
    [
        ("lstm, 5 steps by recursion", TINY, 5),
        ("gru", TINY.replace(model="gru"), 1),
        ("rnn", TINY.replace(model="rnn", layers=1), 2),
        ("cnn", TINY.replace(model="cnn", channels=6, kernel_size=3), 3),
        ("gru seq2seq", TINY.replace(model="gru", decoder="seq2seq", horizon=4), 4),
        ("lstm direct 3", TINY.replace(horizon=3), 3),
    ],
)
def test_onnx_forecasts_equal_torch_forecasts(
    store: Store, label: str, cfg: TrainConfig, horizon: int
) -> None:
    series = _series()
    model_id = train(store, cfg, series).model_id
    onnx = load_model(store, model_id, engine="onnx")
    torch_ = load_model(store, model_id, engine="torch")
    assert (onnx.engine, torch_.engine) == ("onnx", "torch")
    a = predict_path(onnx, series, horizon, "XNYS").forecasts
    b = predict_path(torch_, series, horizon, "XNYS").forecasts
    assert len(a) == len(b) == horizon
    for fa, fb in zip(a, b, strict=True):
        assert fa.log_return == pytest.approx(fb.log_return, rel=1e-4, abs=1e-7), label
        assert fa.upper_95 == pytest.approx(fb.upper_95, rel=1e-6), label
    # Batches of other sizes than the export's example: every origin at once.
    from lstmcast.prep.inputs import frame_for

    frame = frame_for(cfg, series.bars)
    at = np.arange(cfg.window - 1, frame.n)
    np.testing.assert_allclose(
        onnx.fitted.predict(frame, at), torch_.fitted.predict(frame, at), rtol=1e-4, atol=1e-7
    )


def test_global_model_with_embedding_keeps_each_members_row(store: Store) -> None:
    members = [_series("AAA", 1), _series("BBB", 2)]
    model_id = train(store, TINY.replace(ticker_embedding=True), members).model_id
    outs = []
    for m in members:
        onnx = load_model(store, model_id, m.ticker, engine="onnx")
        torch_ = load_model(store, model_id, m.ticker, engine="torch")
        a = predict_path(onnx, m, 3, "XNYS").forecasts
        b = predict_path(torch_, m, 3, "XNYS").forecasts
        assert [f.log_return for f in a] == pytest.approx([f.log_return for f in b], rel=1e-4, abs=1e-7)
        outs.append(predict_path(onnx, members[0], 1, "XNYS").forecasts[0].log_return)
    assert outs[0] != outs[1]  # the same window through two embedding rows


def test_stateful_models_stay_with_torch(store: Store) -> None:
    model_id = train(store, TINY.replace(stateful=True, layers=1), _series()).model_id
    assert load_model(store, model_id, engine="auto").engine == "torch"
    with pytest.raises(NotFoundError, match="stateful"):
        load_model(store, model_id, engine="onnx")


def test_models_saved_without_onnx_export_it_later_and_damage_is_named(store: Store) -> None:
    model_id = train(store, TINY, _series()).model_id
    onnx_file = models_dir(store.home) / model_id / ONNX_FILE
    first = onnx_file.read_bytes()
    manifest_file = onnx_file.with_name("manifest.json")
    old = json.loads(manifest_file.read_text())
    del old["checksums"]  # as a model from before lstmcast exported them (or kept checksums)
    del old["manifest_sha256"]  # ... or sealed its manifest
    manifest_file.write_text(json.dumps(old))
    onnx_file.unlink()
    assert load_model(store, model_id, engine="auto").engine == "torch"
    with pytest.raises(NotFoundError, match="models export"):
        load_model(store, model_id, engine="onnx")
    assert export_model(store, model_id) == onnx_file
    assert load_model(store, model_id, engine="auto").engine == "onnx"
    assert len(onnx_file.read_bytes()) == len(first)
    onnx_file.write_bytes(b"not a network")
    # The export recorded its checksum: damage is named, never worked around with the weights.
    for engine in ("auto", "onnx"):
        with pytest.raises(DamagedError, match=r"model\.onnx does not match its checksum"):
            load_model(store, model_id, engine=engine)


# Runs `lstmcast ARGS...` in a fresh interpreter and reports on stderr whether torch got loaded,
# from an exit handler: lstmcast ends with os._exit once those have run (cli.app._leave).
PROBE = (
    "import atexit, sys, runpy\n"
    "atexit.register(lambda: sys.stderr.write('TORCH=%s\\n' % ('torch' in sys.modules)))\n"
    "sys.argv = ['lstmcast', *sys.argv[1:]]\n"
    "runpy.run_module('lstmcast', run_name='__main__')\n"
)


def _without_torch(*args: str) -> dict[str, Any]:
    """The JSON a fresh `lstmcast` process prints for `args`, checking it never imported torch
    (and exited 0)."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    assert "TORCH=False" in done.stderr, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


@pytest.mark.slow
def test_cold_forecast_process_never_imports_torch(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    csv = Path(__file__).parents[1] / "sample_data" / "AAPL.csv"
    cli("import", str(csv), "--ticker", "AAPL")
    cli("train", "AAPL", "--epochs", "1", "--hidden", "8", "--layers", "1")
    result = _without_torch("--home", str(home), "forecast", "AAPL", "--horizon", "5", "--json")["tickers"][0]
    assert result["engine"] == "onnx" and len(result["forecasts"]) == 5
    # The sessions were computed once and kept: a second process reads them.
    assert (home / "cache" / "calendars" / "XNYS.json").is_file()


# What a cold forecast may not load: pandas and scipy (0.3-0.8 s of imports), the calendar
# library once its sessions are cached, torch, and the code of every other command.
NOT_ON_THE_FORECAST_PATH = (
    "pandas", "scipy", "torch", "exchange_calendars", "matplotlib", "yfinance", "dask",
    "distributed", "optuna", "arch", "sklearn", "pydantic", "lstmcast.training", "lstmcast.backtest",
    "lstmcast.tuning", "lstmcast.sweep", "lstmcast.execution", "lstmcast.sources",
    "lstmcast.universe.panel", "lstmcast.evaluation.panel", "lstmcast.cli.backtest",
    "lstmcast.cli.train", "lstmcast.cli.tune", "lstmcast.cli.sweep", "lstmcast.cli.audit",
    "lstmcast.cli.models", "lstmcast.cli.daily", "lstmcast.cli.universe",
)  # fmt: skip


def _imported(home: Path, *args: str) -> set[str]:
    """Every module a fresh `lstmcast --home HOME ARGS` process imports, from -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lstmcast", "--home", str(home), *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("import time:") and "|" in ln]
    return {ln.rsplit("|", 1)[1].strip() for ln in lines[1:]}  # the first line is the header


@pytest.mark.slow
def test_a_cold_forecast_imports_only_what_it_needs(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    """The import budget of a nightly forecast (sessions cached by the first one), for a return
    model and a volatility model: numpy, ONNX Runtime, sqlite3 and the CLI, never pandas; and
    printed as JSON, no Rich."""
    for ticker in ("AAPL", "IBM"):
        cli("import", str(Path(__file__).parents[1] / "sample_data" / f"{ticker}.csv"), "--ticker", ticker)
    cli("train", "AAPL", "--epochs", "1", "--model", "cnn", "--window", "20")
    cli("train", "IBM", "--epochs", "1", "--model", "cnn", "--window", "20", "--target", "volatility")
    for ticker in ("AAPL", "IBM"):
        cli("forecast", ticker)  # the first computes the exchange's sessions and caches them
        loaded = _imported(home, "forecast", ticker)
        assert {"numpy", "onnxruntime", "sqlite3", "lstmcast.jobs.forecast"} <= loaded
        heavy = sorted(m for m in loaded if m.startswith(NOT_ON_THE_FORECAST_PATH))
        assert not heavy, (ticker, heavy[:20])
        assert "rich" in loaded and "rich" not in _imported(home, "forecast", ticker, "--json")


@pytest.mark.slow
def test_models_export_cli_writes_a_runnable_file(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = Path(__file__).parents[1] / "sample_data" / "AAPL.csv"
    cli("import", str(csv), "--ticker", "AAPL")
    cli("train", "AAPL", "--epochs", "1", "--hidden", "8", "--layers", "1", "--window", "20")
    model_id = json.loads(cli("models", "--json").stdout)[0]["model_id"]
    out = cli("models", "export", model_id, "--out", str(tmp_path / "aapl.onnx"))
    assert "(batch, 20, features)" in out.stdout
    from lstmcast.models.onnx import OnnxNet

    y = OnnxNet((tmp_path / "aapl.onnx").read_bytes())(np.zeros((3, 20, 1), dtype=np.float32))
    assert y.shape == (3, 1)
    bad = cli("models", "export", "no-such-model", code=None)
    assert bad.exit_code != 0 and "no model" in bad.stderr


def test_sessions_cache_answers_without_the_calendar_library(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from lstmcast.forecasting import calendar

    fresh = calendar.next_sessions(date(2024, 12, 20), 5, "XNYS", tmp_path)
    assert date(2024, 12, 25) not in fresh  # Christmas
    monkeypatch.setattr(calendar, "_calendar", lambda *a: pytest.fail("computed again"))
    assert calendar.next_sessions(date(2024, 12, 20), 5, "XNYS", tmp_path) == fresh
    assert calendar.next_sessions(date(2024, 12, 23), 3, "XNYS", tmp_path) == fresh[1:4]
    for stale in ("version", "damaged"):
        monkeypatch.undo()
        if stale == "version":
            monkeypatch.setattr(calendar, "_version", lambda: "0.0")
        else:
            (tmp_path / "XNYS.json").write_text("{")
        calls: list[object] = []
        monkeypatch.setattr(
            calendar, "_calendar", lambda *a, c=calls, real=calendar._calendar: c.append(a) or real(*a)
        )
        assert calendar.next_sessions(date(2024, 12, 20), 5, "XNYS", tmp_path) == fresh
        assert calls, stale


@pytest.mark.slow
def test_daily_forecasts_every_ticker_without_importing_torch(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    sample = Path(__file__).parents[1] / "sample_data"
    for t in ("AAPL", "MSFT"):
        cli("import", str(sample / f"{t}.csv"), "--ticker", t)
        cli("train", t, "--epochs", "1", "--hidden", "8", "--layers", "1", "--window", "20")
    watch = home / "watch.toml"
    watch.write_text(
        "fetch = false\nhorizon = 3\n"
        + "".join(f'[[ticker]]\nsymbol = "{t}"\nmodel = "lstm"\n' for t in ("AAPL", "MSFT"))
    )
    report = _without_torch("--home", str(home), "daily", "--config", str(watch), "--json")
    assert [t["status"] for t in report["tickers"]] == ["forecast", "forecast"], report
