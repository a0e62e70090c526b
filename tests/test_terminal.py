"""What a user reads: at 80 and 120 columns no number, date or ID is cut, no line is wider
than the terminal, and piped output carries no trailing padding."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from rich.cells import cell_len

from conftest import SAMPLE, Cli, one_forecast

TINY = ["--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4"]


def _commands(cli: Cli) -> list[list[str]]:
    for t in ("IBM", "MSFT"):
        cli("import", SAMPLE / f"{t}.csv", "--ticker", t)
    model = json.loads(cli("train", "IBM", *TINY, "--json").stdout)["model_id"]
    cli("train", "MSFT", "--target", "volatility", "--epochs", "1")
    cli("forecast", "IBM")
    tune = ["tune", "IBM", *TINY, "--folds", "2", "--inner-folds", "2", "--trials", "2", "--workers", "1"]
    tune_id = json.loads(cli(*tune, "--json").stdout)["tune_id"]
    return [
        ["tunes"],
        ["tunes", "show", tune_id],
        ["data"],
        ["data", "IBM"],
        ["train", "IBM", *TINY],
        ["models"],
        ["backtest", "IBM", *TINY, "--folds", "2"],
        ["audit", "IBM", *TINY, "--folds", "2"],
        ["forecast", "IBM"],
        ["forecast", "MSFT", "--target", "volatility"],
        ["ledger"],
        ["ledger", "IBM"],
        [
            "sweep",
            "IBM",
            "MSFT",
            "--models",
            "cnn,rnn",
            "--window",
            "10",
            "--epochs",
            "1",
            "--folds",
            "2",
            "--workers",
            "1",
        ],
        ["sweeps"],
        ["backtest", "MSFT", "--target", "volatility", "--epochs", "1", "--folds", "2"],
        ["finetune", model, "MSFT", "--epochs", "1", "--allow-overlap"],
    ]


@pytest.mark.slow
def test_every_table_fits_80_100_and_120_columns_without_cutting(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = _commands(cli)
    for width in (80, 100, 120):
        monkeypatch.setenv("COLUMNS", str(width))
        for args in commands:
            out = cli(*args).stdout
            assert "…" not in out, (width, args, out)
            wide = [line for line in out.splitlines() if cell_len(line) > width]
            assert not wide, (width, args, wide)
            # A table the console cropped keeps its width but loses its right border.
            cropped = [ln for ln in out.splitlines() if ln[:1] in "┏┃┡│└" and ln.rstrip()[-1:] not in "┓┃┩│┘"]
            assert not cropped, (width, args, cropped)
            assert all(line == line.rstrip() for line in out.splitlines()), (args, "trailing padding")


def test_ids_and_p_values_stay_whole_in_a_narrow_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit under the test above: a too-wide listing drops its optional columns and says
    so; a few wide rows turn; many wide rows fold into blocks. Every token stays whole."""
    import io

    from rich.table import Table

    from lstmcast.cli.tables import FittingConsole, optional

    def show(table: Table, width: int) -> str:
        buf = io.StringIO()
        FittingConsole(file=buf, width=width, force_terminal=False).print(table)
        return buf.getvalue()

    ids = [f"gspc-lstm-20261128-0919{i:02d}-7438" for i in range(8)]
    listing = optional(Table("id", "tickers", "model", "created", "p"), "created", "tickers")
    for i in ids:
        listing.add_row(i, "^GSPC,^IXIC,^DJI", "lstm", "2026-11-28T09:19:48+00:00", "6.39e-07")
    out = show(listing, 60)
    assert all(i in out for i in ids) and "6.39e-07" in out and "not shown at 60 columns: created" in out
    turned = Table("forecaster", *[f"metric number {k}" for k in range(9)])
    for name in ("model", "naive", "drift"):
        turned.add_row(name, *[f"{k / 7:.5f}" for k in range(9)])
    out = show(turned, 60)
    assert "…" not in out and "0.14286" in out and out.splitlines()[1].count("┃") == 5  # 4 columns
    wide = Table(*[f"column {k}" for k in range(12)])
    for r in range(10):
        wide.add_row(*[f"2018-01-{r + 10}" for _ in range(12)])
    out = show(wide, 40)
    assert (
        "…" not in out and out.count("2018-01-19") == 12 and max(cell_len(x) for x in out.splitlines()) <= 40
    )


def test_an_id_too_long_to_sit_beside_its_label_gets_a_line_of_its_own() -> None:
    """At 40 columns a model ID (32 characters) does not fit beside a 9-character label: it
    moves under the label, whole, and the labels stay aligned; a value that fits stays beside."""
    import io

    from rich.table import Table

    from lstmcast.cli.tables import FittingConsole

    model = "aapl-lstm-20261204-030759-87310000"
    summary = Table("ticker", "model", "forecasts", "naive MAE", "hit rate", "80% cover", "95% cover")
    for _ in range(2):
        summary.add_row("AAPL", model, "5", "0.011", "51%", "80%", "95%")
    for width in (40, 36):
        buf = io.StringIO()
        FittingConsole(file=buf, width=width, force_terminal=False).print(summary)
        lines = buf.getvalue().splitlines()
        assert lines.count(model) == 2, lines  # on a line of its own, unbroken
        assert "ticker     AAPL" in lines and "forecasts  5" in lines, lines  # one label column
        assert max(cell_len(x) for x in lines) <= width


def test_a_column_that_may_not_wrap_keeps_each_cell_on_one_line_and_its_heading_whole() -> None:
    """A value-at-risk cell, a hit rate and its p-value, was folded onto two lines at 80
    columns, doubling the table: a `no_wrap` column now counts its whole cells as what it
    needs, so another optional column goes instead, and its heading wraps rather than being cut."""
    import io

    from rich.table import Table

    from lstmcast.cli.tables import FittingConsole, optional

    t = Table("forecaster", *[f"score number {k}" for k in range(5)])
    t.add_column("VaR 95% hits (p)", no_wrap=True)
    optional(t, "score number 4", "score number 3")
    for name in ("model", "naive", "GARCH"):
        t.add_row(name, *["0.4085"] * 5, "3.7% (0.10)")
    buf = io.StringIO()
    FittingConsole(file=buf, width=60, force_terminal=False).print(t)
    out = buf.getvalue()
    assert out.count("3.7% (0.10)") == 3 and "VaR 95%" in out and "hits (p)" in out, out
    assert "not shown at 60 columns" in out and max(cell_len(x) for x in out.splitlines()) <= 60


@pytest.mark.slow
def test_a_model_is_named_by_any_unique_prefix_or_by_latest(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    cli("import", SAMPLE / "GOOG.csv", "--ticker", "^GSPC")
    first = json.loads(cli("train", "IBM", *TINY, "--json").stdout)["model_id"]
    second = json.loads(cli("train", "IBM", *TINY, "--json").stdout)["model_id"]
    gru = json.loads(cli("train", "IBM", *TINY[2:], "--model", "gru", "--hidden", "4", "--json").stdout)[
        "model_id"
    ]
    index = json.loads(cli("train", "^GSPC", *TINY, "--json").stdout)["model_id"]
    assert index.startswith("gspc-cnn-")  # typeable: no leading underscore
    # A prefix only one ID starts with names it; a shared one lists the candidates.
    unique = next(first[:n] for n in range(8, len(first)) if not second.startswith(first[:n]))
    shown = cli("models", "show", unique).stdout
    assert f"model {first}" in shown and "residuals" not in shown and "in MSE against naive" in shown
    ambiguous = cli("models", "show", "ibm-cnn", code=1).stderr
    assert "is the start of 2 model IDs" in ambiguous and first in ambiguous and second in ambiguous
    assert "no model 'zzz'" in cli("models", "show", "zzz", code=1).stderr
    # --latest: the ticker's newest, of an architecture if asked.
    assert json.loads(cli("models", "show", "--latest", "IBM", "--json").stdout)["id"] == gru
    assert json.loads(cli("models", "show", "--latest", "IBM", "-m", "cnn", "--json").stdout)["id"] == second
    assert "no lstm model of IBM" in cli("models", "show", "--latest", "IBM", "-m", "lstm", code=1).stderr
    full = json.loads(cli("models", "show", gru[:-2], "--full").stdout)
    assert len(full["residuals_by_ticker"]["IBM"][0]) > 10  # the pools from errors.safetensors
    # The same names work wherever a model is named.
    assert one_forecast(cli("forecast", "IBM", "--model-id", unique, "--json").stdout)["model_id"] == first
    assert f"removed {second}" in cli("models", "rm", "--latest", "IBM", "--model", "cnn").stdout
    assert f"removed {first}" in cli("models", "rm", unique).stdout


def _in_a_terminal(args: list[str], env: dict[str, str], limit: float = 240.0) -> tuple[str, int]:
    """Run lstmcast with stdin, stdout and stderr on a pseudo-terminal (100x30; `env` may set
    COLUMNS; TERM is xterm-256color): all it wrote within `limit` seconds, and its exit code."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "lstmcast", *args], stdin=slave, stdout=slave,
                            stderr=slave, env={**env, "TERM": "xterm-256color"}, close_fds=True)  # fmt: skip
    os.close(slave)
    chunks = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=120)
    os.close(master)
    return b"".join(chunks).decode(errors="replace"), proc.returncode


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_backtest_and_audit_show_fold_progress_on_a_terminal_only(cli: Cli, home: Path) -> None:
    import os
    import subprocess
    import sys

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    env = {**os.environ, "LSTMCAST_HOME": str(home)}
    for command in (["backtest", "IBM", *TINY, "--folds", "3"], ["audit", "IBM", *TINY, "--folds", "2"]):
        shown, _ = _in_a_terminal(command, env)
        assert f"{command[0]} IBM" in shown and "folds" in shown, shown[-2000:]
        piped = subprocess.run([sys.executable, "-m", "lstmcast", *command], capture_output=True, text=True,
                               env=env, timeout=120)  # fmt: skip
        assert piped.returncode == 0 and " folds" not in piped.stderr and "\x1b[" not in piped.stdout


def test_a_long_epoch_moves_the_bar_within_the_epoch() -> None:
    """The training loop tells a bar that listens of each batch, not only of each epoch."""
    import torch

    from lstmcast.config import TrainConfig
    from lstmcast.models import build_model
    from lstmcast.training.loop import fit

    seen: list[tuple[int, int]] = []

    class Bar:
        def __call__(self, log: object) -> None:
            seen.append((-1, -1))

        def batch(self, done: int, total: int) -> None:
            seen.append((done, total))

    cfg = TrainConfig(model="lstm", window=5, hidden=4, layers=1, epochs=2, batch_size=32)
    x, y = torch.randn(100, 5, 1), torch.randn(100, 1)
    fit(build_model(cfg, 1), (x, y), (x[:20], y[:20]), cfg, torch.Generator().manual_seed(0), Bar())
    assert seen == [(32, 100), (64, 100), (96, 100), (100, 100), (-1, -1)] * 2


def test_help_reads_as_words_and_choices_show_as_choices(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = {
        tuple(c): cli(*c, "--help").stdout
        for c in (
            ["train"],
            ["forecast"],
            ["data"],
            ["data", "export"],
            ["models", "show"],
            ["sweep"],
            ["fetch"],
        )
    }
    for command, text in pages.items():
        for machine in ("<str>", "<int>", "<float>", "<path>", "<list[str]>", "{ticker}", "{path}"):
            assert machine not in text, (command, machine)
    assert "-m, --model <lstm|gru|rnn|cnn>" in pages[("train",)] and "--window N" in pages[("train",)]
    assert "--engine <auto|onnx|torch>" in pages[("forecast",)]
    assert "Usage: lstmcast data [TICKER] [OPTIONS] | COMMAND" in pages[("data",)]
    assert "Usage: lstmcast data export [OPTIONS] TICKER PATH" in pages[("data", "export")]
    assert "global model" not in pages[("sweep",)]
    wrong = cli("train", "IBM", "--model", "xgboost", code=2).stderr
    assert "'xgboost' is not one of 'lstm', 'gru', 'rnn', 'cnn'" in wrong
    assert cli("forecast", "IBM", "--engine", "gpu", code=2).exit_code == 2
    # Typer finds the shell from the process tree: under `make` that is sh, which it refuses.
    monkeypatch.setattr("typer.completion._get_shell_name", lambda: "bash")
    assert "_lstmcast_completion" in cli("--show-completion").stdout


@pytest.mark.slow
def test_forecast_from_any_file_with_a_fan_chart_and_backtest_bounds_in_csv(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    import shutil
    import stat

    import pandas as pd

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    model = json.loads(cli("train", "IBM", *TINY, "--json").stdout)["model_id"]
    data = tmp_path / "goog_backtesting.csv"  # a name that is no ticker, and longer than one
    shutil.copy(SAMPLE / "IBM.csv", data)
    assert "name its series with --ticker T" in cli("forecast", "--csv", data, code=1).stderr
    other = tmp_path / "prices.csv"
    shutil.copy(SAMPLE / "IBM.csv", other)
    hint = cli("forecast", "--csv", other, code=1).stderr
    assert "no trained model for PRICES" in hint and "--ticker T" in hint
    doc = one_forecast(cli("forecast", "--csv", data, "--ticker", "IBM", "--horizon", "3", "--json").stdout)
    assert doc["ticker"] == "IBM" and doc["model_id"] == model and len(doc["forecasts"]) == 3
    # A fan chart in the format its name asks for; a name without one is refused first.
    for name, magic in (("fan.png", b"\x89PNG"), ("fan.svg", b"<?xml"), ("fan.pdf", b"%PDF")):
        cli("forecast", "IBM", "--horizon", "3", "--plot", tmp_path / name)
        written = tmp_path / name
        assert written.read_bytes().startswith(magic)
        assert stat.S_IMODE(written.stat().st_mode) & 0o044  # readable by others, as files usually are
    assert (
        "--plot writes .png, .svg, .pdf"
        in cli("forecast", "IBM", "--plot", tmp_path / "x.exe", code=1).stderr
    )
    # Backtest predictions carry each interval in price.
    cli("backtest", "IBM", *TINY, "--folds", "2", "--out", tmp_path / "bt")
    pred = pd.read_csv(tmp_path / "bt" / "predictions.csv")
    assert {"lower_80", "upper_80", "lower_95", "upper_95"} <= set(pred.columns)
    inside = pred["lower_95"] <= pred["lower_80"]
    assert (
        inside.all()
        and (pred["lower_80"] <= pred["model"]).all()
        and (pred["model"] <= pred["upper_80"]).all()
    )
    covered = ((pred["actual"] >= pred["lower_80"]) & (pred["actual"] <= pred["upper_80"])).mean()
    assert 0.7 < covered < 0.9


@pytest.mark.slow
def test_listings_print_as_table_csv_or_json(cli: Cli, home: Path) -> None:
    import csv
    import io

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    model = json.loads(cli("train", "IBM", *TINY, "--json").stdout)["model_id"]
    cli("forecast", "IBM")
    cases = [(["data"], "ticker", "IBM"), (["data", "IBM"], "date", "2013-03-01"),
             (["models"], "model_id", model), (["ledger"], "model_id", model)]  # fmt: skip
    for command, key, value in cases:
        rows = list(csv.DictReader(io.StringIO(cli(*command, "--format", "csv").stdout)))
        assert rows and any(r[key] == value for r in rows), (command, rows[:2])
        assert cli(*command, "--format", "json").stdout == cli(*command, "--json").stdout
        assert "┃" in cli(*command, "--format", "table").stdout
    assert (
        cli("sweeps", "--format", "csv").stdout.startswith("\n")
        or cli("sweeps", "--format", "csv").stdout == "\n"
    )
    assert "'xml' is not one of" in cli("models", "--format", "xml", code=2).stderr


def test_plain_readings_say_what_the_statistics_mean() -> None:
    from lstmcast.cli import readings

    assert "close to a coin toss" in (readings.pbo(0.42) or "")
    assert "mostly held up" in (readings.pbo(0.05) or "") and readings.pbo(None) is None
    assert "what 50 tries give by luck" in (readings.deflated_sharpe(0.2, 50) or "")
    assert "survives the number of tries" in (readings.deflated_sharpe(0.97, 5) or "")
    assert "miss by 12% less than log-HAR's" in (readings.qlike_skill(0.12, "log-HAR") or "")
    assert "only forecaster" in readings.mcs(["model"]) and "leaves the model out" in readings.mcs(["har"])
    # The held-out index the new user ran: 80% intervals that cover 80.0% overall but 74.5%
    # in turbulent markets, with clustered misses.
    from lstmcast.evaluation.intervals import IntervalReport, IntervalScores

    def level(coverage: float, terciles: list[float], kupiec: float, christoffersen: float) -> IntervalScores:
        tests = (kupiec, christoffersen, None)
        return IntervalScores(500, 0, coverage, list(terciles), None, None, None, None, *tests, [], {})

    aci = IntervalReport(
        "aci",
        {
            "80": level(0.800, [0.84, 0.81, 0.745], 0.98, 0.0003),
            "95": level(0.95, [0.95, 0.95, 0.94], 0.9, 0.4),
        },
    )
    (line,) = readings.intervals(aci)
    assert line.startswith("the 80% intervals miss") and "74.5% in turbulent markets" in line
    assert "come in clusters" in line and "try --intervals vol" in line and "Kupiec" not in line
    held = level(0.80, [0.81, 0.80, 0.78], 0.9, 0.3)
    assert readings.intervals(IntervalReport("aci", {**aci.levels, "80": held})) == []  # nothing to say


def test_when_the_tests_disagree_each_is_named_with_its_question() -> None:
    from lstmcast.cli import readings
    from lstmcast.evaluation.metrics import Metrics
    from lstmcast.evaluation.verdict import Comparison, Verdict

    def judged(skill: float, pvalue: float) -> Verdict:
        rw = Comparison("naive", "clark_west", skill, 1.0, pvalue)
        return Verdict("one seed", rw, "naive", rw)

    no_skill = judged(-0.0297, 0.9)
    calls = Metrics(500, 0.01, 0.02, None, None, 1.0, 0.54, 0.0004, -0.0297)
    said = readings.disagreement(no_skill, calls, 1.10, 1.03) or ""
    assert "MSE asks whether the forecast's size is closer" in said
    assert "54% right, p 0.000" in said and "Sharpe 1.10 against buy-and-hold's 1.03" in said
    guesses = dataclasses.replace(calls, directional_pvalue=0.4, directional_accuracy=0.5)
    assert readings.disagreement(no_skill, guesses, 0.5, 1.03) is None  # nothing to reconcile
    assert readings.disagreement(judged(0.01, 0.01), calls, 1.10, 1.03) is None  # skill: nothing either


@pytest.mark.slow
def test_a_backtest_at_a_terminal_shows_the_epoch_inside_the_fold(cli: Cli, home: Path) -> None:
    """Through a real pseudo-terminal: the fold bar names the epoch the current fit is on, so
    minutes inside one fold are not minutes of a bar that sits still."""
    from processes import child_env

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    env = {**child_env(home), "COLUMNS": "120"}
    args = ["backtest", "IBM", "--model", "cnn", "--window", "10", "--channels", "4", "--epochs", "30",
            "--patience", "30", "--folds", "2", "--threads", "1"]  # fmt: skip
    text, code = _in_a_terminal(args, env)
    assert code == 0, text[-2000:]
    assert "this fold: epoch" in text and "folds" in text


def test_a_baseline_far_off_the_mark_is_explained() -> None:
    from lstmcast.cli import readings
    from lstmcast.evaluation.volatility import Against, ForecasterScores, Recalibrated, VolScores

    def scored(skill: float) -> ForecasterScores:
        return ForecasterScores(1.0, 1.0, None, 0.0, skill, {}, {})

    skills = {"model": 0.2, "naive": 0.0, "har": -1.07, "har_log": 0.1}
    by_name = {n: scored(s) for n, s in skills.items()}
    vol = VolScores("har_log", by_name, {}, Against(None, None), [], 0.1, {}, Recalibrated(250, {}, {}))
    annualised = {"naive": 28.1, "har": 48.8, "har_log": 27.5}
    (line,) = readings.far_off(vol, annualised, {"har": "HAR", "har_log": "log-HAR"}, "log-HAR")
    assert line.startswith("HAR forecast a mean volatility of 48.8% where the naive forecast averaged 28.1%")
    assert "107% worse than naive" in line and "the verdict is against log-HAR" in line


def test_a_forecast_keeps_each_interval_on_one_line_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a quoted column (a dividend payer), the forecast table once folded every interval
    onto two lines at 80 columns. Now headings wrap and intervals never do; where even that
    is too wide (prices over 1,000), the quoted column goes, and the table says so."""
    import contextlib
    import io

    from lstmcast.cli.forecast import render_forecasts
    from lstmcast.forecasting.result import Forecast, ForecastResult

    monkeypatch.setenv("COLUMNS", "80")

    def shown(scale: float) -> str:
        band = {"80": [173.43 * scale, 177.58 * scale], "95": [172.0 * scale, 178.78 * scale]}
        (lo80, hi80), (lo95, hi95) = band["80"], band["95"]
        rows = [Forecast(f"2013-03-0{d}", d, 175.5 * scale, 0.0012, lo80, hi80, lo95, hi95, band,
                         close=203.15 * scale) for d in (4, 5, 6)]  # fmt: skip
        made = ForecastResult("IBM", "ibm-gru-20261204-092940-cd89", "gru", "2013-03-01", 175.27 * scale,
                              "XNYS", rows, "2013-03-01", 0, last_close=202.91 * scale)  # fmt: skip
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            render_forecasts([made], in_ledger=False)
        text = out.getvalue()
        assert all(cell_len(line) <= 80 for line in text.splitlines()), text
        return text

    text = shown(1)
    assert "173.43 .. 177.58" in text and "172.00 .. 178.78" in text and "203.15" in text, text
    assert "'quoted' is the same forecast" in " ".join(text.split()), text
    text = shown(10)
    assert "1,734.30 .. 1,775.80" in text and "2,031.50" not in text, text
    assert "not shown at 80 columns: quoted" in text, text
    # A note about a column the table no longer has is not printed under it.
    assert "'quoted'" not in text and "prices are adjusted closes" in " ".join(text.split()), text
