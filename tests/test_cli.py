"""The CLI surface: help for every command, fast --help without heavy imports, conventions."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

import pytest

from conftest import ROOT, SAMPLE, Cli

COMMANDS = [
    ["fetch"],
    ["import"],
    ["data"],
    ["data", "export"],
    ["train"],
    ["models"],
    ["models", "show"],
    ["models", "rm"],
    ["finetune"],
    ["backtest"],
    ["audit"],
    ["forecast"],
    ["ledger"],
    ["daily"],
    ["cron"],
    ["sweep"],
    ["sweeps"],
    ["sweeps", "show"],
]


def _callback(command: list[str]) -> Any:
    """The function behind a command, found through Typer's own click group."""
    import typer.main

    from lstmcast.cli.app import app

    group = typer.main.get_command(app)
    for name in command:
        group = group.get_command(None, name)  # type: ignore[attr-defined]  # the root builds it now
    return group


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_its_own_help(cli: Cli, command: list[str]) -> None:
    out = " ".join(cli(*command, "--help").stdout.split())  # unwrapped
    summary = " ".join(_callback(command).help.split("\n\n")[0].split())
    assert summary and summary in out  # the command's own words, not just Typer's option box


@pytest.mark.parametrize("command", ["train", "backtest", "audit"])
def test_modelling_help_shows_each_default_once_and_flags_as_flags(cli: Cli, command: str) -> None:
    from lstmcast.config import TrainConfig
    from lstmcast.runconfig import BacktestConfig

    out = " ".join(cli(command, "--help").stdout.split())
    for f in dataclasses.fields(TrainConfig):
        if f.metadata["cli"] and f.default not in ((), None) and not isinstance(f.default, bool):
            flag = (f.metadata["flags"] or (f"--{f.name.replace('_', '-')}",))[0]
            entry = out.split(flag + " ", 1)[1].split(" --", 1)[0]
            assert entry.count("[default:") == 1 and f"[default: {f.default}]" in entry, (flag, entry)
    if command == "backtest":
        assert "[default: long_flat]" in out and f"[default: {BacktestConfig().cost_bps}]" in out
    assert "--stateful / --no-stateful" in out and "--json Print" in out  # flags take no value
    assert "<bool>" not in out


def test_root_help_and_version_are_flags(cli: Cli) -> None:
    out = cli("--help").stdout
    assert "--version " in out and "<bool>" not in out and "Honest daily stock forecasts" in out


def test_help_imports_no_torch_pandas_or_yfinance() -> None:
    probe = (
        "import sys\n"
        "from lstmcast.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "for cmd in ('train', 'backtest', 'forecast', 'daily', 'sweep'):\n"
        "    assert CliRunner().invoke(app, [cmd, '--help']).exit_code == 0\n"
        "heavy = sorted(m for m in ('torch', 'pandas', 'yfinance', 'numpy', 'dask', 'distributed')"
        " if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_version_and_python_m(cli: Cli) -> None:
    assert cli("--version").stdout.startswith("lstmcast ")
    run = subprocess.run(
        [sys.executable, "-m", "lstmcast", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert run.returncode == 0 and "forecast" in run.stdout


# What a process ending through `_leave` (no interpreter teardown) must still do.
_LEAVING = """
import atexit, sys, threading, time
from lstmcast.cli.app import _leave
atexit.register(lambda: print("exit handler ran"))
sys.stdout.write("x" * 200_000 + "\\n")  # buffered, never flushed by hand
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
_leave(int(sys.argv[2]))
"""


@pytest.mark.parametrize("thread", ["none", "thread"])
def test_skipping_teardown_keeps_the_exit_code_the_output_exit_handlers_and_threads(thread: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _LEAVING, thread, "3"], capture_output=True, text=True, cwd=ROOT
    )
    assert run.returncode == 3, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "x" * 200_000 and "exit handler ran" in lines
    assert ("thread finished" in lines) == (thread == "thread")  # a running thread is waited for


def test_json_output_is_exactly_one_document(cli: Cli) -> None:
    res = cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM", "--json")
    json.loads(res.stdout)  # nothing else on stdout
    listing = cli("data", "--json")
    assert json.loads(listing.stdout)[0]["ticker"] == "IBM"


def test_usage_error_is_exit_2(cli: Cli) -> None:
    cli("import", code=2)
    cli("no-such-command", code=2)


@pytest.mark.slow
def test_unexpected_errors_become_one_line_without_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad_home = tmp_path / "file"
    bad_home.write_text("not a directory")
    run = subprocess.run(
        [sys.executable, "-m", "lstmcast", "--home", str(bad_home), "data"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("error:") and len(run.stderr.strip().splitlines()) == 1
