"""Shared fixtures: a temporary LSTMCAST_HOME, the real CLI runner, the fake Yahoo transport."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

os.environ.setdefault("MPLBACKEND", "Agg")
# Two cores in CI: one torch thread per test process keeps timing predictable.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _device(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs on the CPU, where lstmcast promises bit-for-bit repeats, also on a GPU
    machine; tests marked `gpu` use CUDA and skip without it."""
    if request.node.get_closest_marker("gpu") is None:
        monkeypatch.setenv("LSTMCAST_DEVICE", "cpu")
        return
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    monkeypatch.setenv("LSTMCAST_DEVICE", "cuda")


ROOT = Path(__file__).resolve().parents[1]


def one_forecast(stdout: str) -> Any:
    """The one ticker's forecast in `forecast --json`'s document ({exit_code, tickers, errors})."""
    import json

    doc = json.loads(stdout)
    assert len(doc["tickers"]) == 1, doc
    return doc["tickers"][0]


SAMPLE = ROOT / "sample_data"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("LSTMCAST_HOME", str(path))
    return path


class Cli:
    """Runs the real Typer app in-process; stdout and stderr kept apart."""

    def __init__(self) -> None:
        from lstmcast.cli.app import app

        self.app = app
        self.runner = CliRunner()

    def __call__(self, *args: Any, code: int | None = 0) -> Any:
        result = self.runner.invoke(self.app, [str(a) for a in args])
        if code is not None and result.exit_code != code:
            raise AssertionError(
                f"exit {result.exit_code} != {code} for {args}\nstdout:\n{result.stdout}\n"
                f"stderr:\n{result.stderr}\nexception: {result.exception!r}"
            )
        return result


@pytest.fixture
def cli(home: Path) -> Cli:
    return Cli()


@pytest.fixture(scope="session")
def yahoo_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from fakeyahoo import make_certificate

    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fake_yahoo(
    monkeypatch: pytest.MonkeyPatch, home: Path, yahoo_certificate: tuple[Path, Path]
) -> Iterator[Any]:
    """A loopback HTTPS Yahoo that yfinance's own curl_cffi client talks to; instant back-off."""
    from fakeyahoo import FakeYahoo
    from lstmcast.sources import yahoo

    fake = FakeYahoo(*yahoo_certificate)
    monkeypatch.setattr(yahoo, "make_session", fake.session)
    monkeypatch.setattr(yahoo, "_sleep", lambda s: None)
    yield fake
    fake.close()
