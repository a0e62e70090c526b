"""The CLI surface: help for every command, fast --help without heavy imports, conventions."""

from __future__ import annotations

import json
import subprocess
import sys

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
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(cli: Cli, command: list[str]) -> None:
    out = cli(*command, "--help").stdout
    assert "Usage" in out and len(out.strip().splitlines()) > 3


def test_help_imports_no_torch_pandas_or_yfinance() -> None:
    probe = (
        "import sys\n"
        "from lstmcast.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "for cmd in ('train', 'backtest', 'forecast', 'daily'):\n"
        "    assert CliRunner().invoke(app, [cmd, '--help']).exit_code == 0\n"
        "heavy = sorted(m for m in ('torch', 'pandas', 'yfinance', 'numpy') if m in sys.modules)\n"
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


def test_json_output_is_exactly_one_document(cli: Cli) -> None:
    res = cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM", "--json")
    json.loads(res.stdout)  # nothing else on stdout
    listing = cli("data", "--json")
    assert json.loads(listing.stdout)[0]["ticker"] == "IBM"


def test_usage_error_is_exit_2(cli: Cli) -> None:
    assert cli("import", code=2).exit_code == 2
    assert cli("no-such-command", code=2).exit_code == 2


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
