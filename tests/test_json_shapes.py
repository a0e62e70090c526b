"""Every command's --json against its written schema (docs/schemas/), on success and on error.

On error a command prints the same envelope, {"error": ..., "exit_code": ...}, on stdout
(docs/schemas/error.json); `fetch`, `forecast` and `daily` report a ticker's failure inside
their own document, beside the tickers that worked.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, SAMPLE, Cli

jsonschema = pytest.importorskip("jsonschema")
SCHEMAS = ROOT / "docs" / "schemas"
TINY = "--model cnn --window 10 --epochs 1 --channels 4"
SUCCESS = {
    "data": "data",
    "data-ticker": "data IBM",
    "train": f"train IBM {TINY}",
    "train-volatility": "train IBM --target volatility --epochs 1",
    "models": "models",
    "models-verify": "models verify",
    "models-export": "models export --latest IBM",
    "backtest": f"backtest IBM {TINY} --folds 2",
    "backtest-volatility": "backtest IBM --target volatility --epochs 1 --folds 2",
    "audit": f"audit IBM {TINY} --folds 2",
    "audit-volatility": "audit IBM --target volatility --model cnn --window 20 --epochs 1 --folds 2",
    "sweep": "sweep IBM --models cnn --window 10 --epochs 1 --folds 2 --workers 1",
    "sweeps": "sweeps",
    "tune": "tune IBM --model cnn --window 10 --epochs 1 --folds 2 --inner-folds 2 --trials 2 --workers 1",
    "tunes": "tunes",
    "forecast": "forecast IBM --target log_return",
    "ledger": "ledger",
    "import": f"import {SAMPLE / 'MSFT.csv'} --ticker MSFT",
    "fetch": "fetch AAPL",  # from the fake Yahoo on loopback
    "universe": "universe create pair IBM MSFT",
    "universes": "universe list",
    "cron": "cron",
    "daily-init": "daily --init",
    "data-export": "data export IBM HOME/ibm.csv",
    "universe-rm": "universe rm pair",
    "models-rm": "models rm --latest IBM --model cnn",
    "data-rm": "data rm MSFT",
}
# Documents whose data the fixtures here cannot hold, checked against their schema where they are made.
ELSEWHERE = {
    "backtest-universe": "tests/test_universe_backtest.py (a synthetic universe)",
    "backtest-universe-volatility": "tests/test_universe_backtest.py (a synthetic pooled GARCH panel)",
    "train-universe": "tests/test_universe_model.py (a synthetic universe)",
    "forecast-universe": "tests/test_universe_model.py (a synthetic universe)",
    "sweep-universe": "tests/test_universe_search.py (a synthetic universe)",
    "tune-universe": "tests/test_universe_search.py (a synthetic universe)",
}
FAILURE = [
    "data NOSUCH", "train NOSUCH", "models show nosuch", "backtest NOSUCH", "audit NOSUCH",
    "sweeps show nosuch", "tunes show nosuch", "forecast NOSUCH", "import /nonexistent.csv --ticker X",
    "finetune nosuch IBM", "tune NOSUCH --workers 1",
    "sweep NOSUCH --models cnn --workers 1", "data restore NOSUCH", "daily --config /nonexistent.toml",
    "universe show nosuch", "universe create bad/name IBM", "import /nonexistent-folder/",
]  # fmt: skip


def _schema(name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / f"{name}.json").read_text()))


@pytest.mark.slow
def test_every_json_document_matches_its_schema(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    from lstmcast.sources.csvfile import read_price_csv

    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    fake_yahoo.bars["AAPL"] = read_price_csv(SAMPLE / "AAPL.csv").bars.iloc[-30:]
    assert sorted(p.stem for p in SCHEMAS.glob("*.json")) == sorted([*SUCCESS, *ELSEWHERE, "error"])
    for name, args in SUCCESS.items():
        doc = json.loads(cli(*shlex.split(args.replace("HOME", str(home))), "--json").stdout)
        jsonschema.validate(doc, _schema(name))
    envelope = _schema("error")
    for args in FAILURE:
        res = cli(*shlex.split(args), "--json", code=None)
        assert res.exit_code in (1, 75), (args, res.exit_code, res.stderr)
        jsonschema.validate(json.loads(res.stdout), envelope)
        assert json.loads(res.stdout)["error"] in res.stderr  # the same words on both streams


@pytest.mark.parametrize(
    "args",
    [
        ["backtest", "IBM", "--folds", "x", "--json"],  # a bad value
        ["cron", "--wide", "--json"],  # an option the command does not have
        ["data", "IBM", "--rows", "0", "--format", "json"],
        ["forecast", "--json", "--nope"],
    ],
)
def test_a_usage_error_under_json_prints_the_envelope_too(home: Path, args: list[str]) -> None:
    """Through the real entry point (a process): exit 2, Click's words on stderr, and the same
    words in the error envelope on stdout, so a script reading stdout always gets a document."""
    import subprocess
    import sys

    from processes import child_env

    res = subprocess.run([sys.executable, "-m", "lstmcast", *args], env=child_env(home),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2, res.stderr
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, _schema("error"))
    assert doc["exit_code"] == 2 and doc["error"] in res.stderr and "Usage:" in res.stderr
