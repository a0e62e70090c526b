"""Cold forecasts: a new process, a stored LSTM 2x64, one ticker, horizon 5, per engine.

    .venv/bin/python benchmarks/bench_forecast.py [--repeats 5] [--tickers 20]

Trains one model per ticker (1 epoch: inference cost does not depend on how well it learned),
then alternates, repeat by repeat, fresh `lstmcast forecast AAPL --horizon 5` processes with
`--engine onnx` and `--engine torch` (JSON), the default table at a terminal's width, and three
yardsticks: a bare `python -c "import numpy, onnxruntime, sqlite3"` (what a forecast cannot do
without; the target is a cold forecast within 2x of it), the same imports ended by `os._exit`
(lstmcast skips the interpreter's teardown, which the bare imports pay: about 0.05 s; this is
the stricter yardstick) and `python -c "import torch"`. Prints medians of wall time and peak
RSS with their spread, the ratios to both bare imports, the same forecasts from both engines,
and one process forecasting TICKERS tickers (what `daily` does): imports paid once.

Every process may write and read its bytecode, as an installed lstmcast's can: with
PYTHONDONTWRITEBYTECODE set (some machines set it) a checkout's modules would be compiled
again on every cold start (about 0.05 s here), which no user's install pays.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import peak

SAMPLE = ("AAPL", "MSFT", "IBM", "GOOG")
BARE = "import numpy, onnxruntime, sqlite3"  # what a forecast cannot do without


def peak_of(cmd: list[str]) -> tuple[float, float, str]:
    """The child's wall time, its own peak RSS and its stdout; a failure stops the benchmark."""
    run = peak(cmd)
    if run.code:
        raise SystemExit(f"{' '.join(cmd)} failed: {run.stderr}")
    return run.seconds, run.peak_mb, run.stdout


def setup(home: Path, n: int) -> list[str]:
    """n tickers from the sample CSVs (aliases beyond four), each with a trained model."""
    from lstmcast.config import TrainConfig
    from lstmcast.data.series import load_stored
    from lstmcast.jobs.train import train
    from lstmcast.store.db import Store

    names = [SAMPLE[i % 4] if i < 4 else f"{SAMPLE[i % 4]}{i}" for i in range(n)]
    lstmcast = str(Path(sys.executable).with_name("lstmcast"))
    for i, name in enumerate(names):
        csv = f"sample_data/{SAMPLE[i % 4]}.csv"
        subprocess.run([lstmcast, "--home", str(home), "import", csv, "--ticker", name], check=True,
                       capture_output=True)  # fmt: skip
    cfg = TrainConfig(model="lstm", window=50, hidden=64, layers=2, epochs=1, patience=100)
    with Store(home) as store:
        for name in names:
            train(store, cfg, load_stored(store, name))
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tickers", type=int, default=20)
    args = ap.parse_args()
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):  # inherited by every process below
        print("PYTHONDONTWRITEBYTECODE unset for these runs: bytecode is written, then read, as installed")
    lstmcast = str(Path(sys.executable).with_name("lstmcast"))
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        names = setup(home, args.tickers)
        base = [lstmcast, "--home", str(home), "forecast"]
        # One forecast first, so the ledger row exists and the sessions cache is warm, as on
        # every night but a model's first: each run below does the same work.
        peak_of([*base, "AAPL", "--horizon", "5"])
        kinds = ("onnx", "torch", "table", "bare imports", "no teardown", "import torch")
        walls: dict[str, list[float]] = {k: [] for k in kinds}
        peaks: dict[str, list[float]] = {k: [] for k in kinds}
        outs: dict[str, str] = {}
        for _ in range(args.repeats):
            for engine in ("onnx", "torch"):
                wall, peak, out = peak_of([*base, "AAPL", "--horizon", "5", "--engine", engine, "--json"])
                walls[engine].append(wall)
                peaks[engine].append(peak)
                outs[engine] = out
            for name, cmd in (
                ("table", [*base, "AAPL", "--horizon", "5"]),
                ("bare imports", [sys.executable, "-c", BARE]),
                ("no teardown", [sys.executable, "-c", f"{BARE}, os; os._exit(0)"]),
                ("import torch", [sys.executable, "-c", "import torch"]),
            ):
                wall, peak, _ = peak_of(cmd)
                walls[name].append(wall)
                peaks[name].append(peak)
        for name in walls:
            w = walls[name]
            print(f"{name:13} wall {statistics.median(w):.2f}s (range {min(w):.2f}-{max(w):.2f}),"
                  f" peak RSS {statistics.median(peaks[name]):.0f} MB")  # fmt: skip
        a, b = (json.loads(outs[e])["tickers"][0]["forecasts"] for e in ("onnx", "torch"))
        gap = max(abs(x["log_return"] - y["log_return"]) for x, y in zip(a, b, strict=True))
        print(f"largest difference between the engines' 5 log-return forecasts: {gap:.1e}")
        ratio = statistics.median(walls["onnx"]) / statistics.median(walls["torch"])
        print(f"cold forecast, onnx / torch: {ratio:.2f}")
        bare = statistics.median(walls["bare imports"])
        quick = statistics.median(walls["no teardown"])
        for name in ("onnx", "table"):
            times = statistics.median(walls[name]) / bare
            strict = statistics.median(walls[name]) / quick
            print(f"cold forecast ({name}) / bare imports: {times:.2f} (target 2);"
                  f" / the same without teardown: {strict:.2f}")  # fmt: skip
        many: list[float] = []
        for _ in range(max(1, args.repeats // 2)):
            wall, peak, _ = peak_of([*base, *names, "--horizon", "5", "--engine", "onnx", "--json"])
            many.append(wall)
        one = statistics.median(walls["onnx"])
        m = statistics.median(many)
        extra = (m - one) / (len(names) - 1)
        print(f"{len(names)} tickers in one process: {m:.2f}s, {extra:.3f}s per extra ticker"
              f" (one ticker: {one:.2f}s; imports paid once), peak RSS {peak:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
