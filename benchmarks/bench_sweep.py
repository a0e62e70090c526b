"""Sweeps and parallel folds on this machine: throughput, Dask's share, and fold speed-up.

    .venv/bin/python benchmarks/bench_sweep.py [--epochs 5] [--skip-folds]

1. 4 sample tickers x 2 models x 2 seeds (16 short walk-forward backtests): serially in one
   process with torch on every core, then `sweep --workers 2` (one thread per worker), each in
   a fresh store so nothing is resumed. Throughput ratio and Dask's per-cell overhead
   (wall time x workers - compute inside the cells, per cell, against a cell's compute).
2. `backtest` on 5 folds (LSTM 2x64, window 50, 10 epochs): serial vs `--workers 2`.
Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from lstmcast.backtest.run import backtest
from lstmcast.config import BacktestConfig, RunConfig, TrainConfig
from lstmcast.data.ingest import import_csv
from lstmcast.data.series import load_csv
from lstmcast.parallel.folds import fold_runner
from lstmcast.parallel.sweep import sweep
from lstmcast.store.db import Store

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")


def run_sweep(
    workers: int, cfg: TrainConfig, bt: BacktestConfig, data: Path
) -> tuple[float, list[float], float]:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
        for t in TICKERS:
            import_csv(store, data / f"{t}.csv", t)
        run = RunConfig(tickers=TICKERS, train=cfg, backtest=bt)
        t0 = time.perf_counter()
        report = sweep(store, run, ("lstm", "gru"), 2, workers=workers)
        wall = time.perf_counter() - t0
        assert not report.failed, report.failed
        return wall, [c["seconds"] for c in report.cells], report.startup_seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--data", type=Path, default=Path("sample_data"))
    ap.add_argument("--skip-folds", action="store_true")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    cfg = TrainConfig(model="lstm", window=30, hidden=32, layers=1, epochs=args.epochs, patience=100)
    bt = BacktestConfig(folds=3, test_size=0.15)
    serial, serial_cells, _ = run_sweep(1, cfg, bt, args.data)
    parallel, cells, startup = run_sweep(2, cfg, bt, args.data)
    per_cell = sum(cells) / len(cells)
    overhead = ((parallel - startup) * 2 - sum(cells)) / len(cells)  # idle or busy with Dask, not a cell
    print(f"sweep, 16 cells ({cores} cores): serial (torch on all cores) {serial:.1f}s,"
          f" --workers 2 {parallel:.1f}s: {serial / parallel:.2f}x the serial throughput")  # fmt: skip
    print(f"  a cell computes {per_cell:.2f}s on one thread ({sum(serial_cells) / len(cells):.2f}s on {cores}"
          " in the serial run)")  # fmt: skip
    share = overhead / per_cell
    print(f"  cluster start-up and shipping the bars: {startup:.1f}s once; per cell after that"
          f" (scheduling, transfer, idle tails): {overhead:.2f}s = {share:.1%} of a cell")  # fmt: skip
    if args.skip_folds:
        return
    series = load_csv(args.data / "AAPL.csv", "AAPL")
    big = TrainConfig(model="lstm", window=50, hidden=64, layers=2, epochs=10, patience=100)
    five = BacktestConfig(folds=5, test_size=0.2)
    t0 = time.perf_counter()
    a = backtest(big, five, series)
    t_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = backtest(big, five, series, run_folds=fold_runner(2))
    t_par = time.perf_counter() - t0
    same = a.first.scores.target["model"].skill_vs_naive == b.first.scores.target["model"].skill_vs_naive
    print(f"backtest, 5 folds LSTM 2x64 x 10 epochs: serial {t_serial:.1f}s, --workers 2 {t_par:.1f}s:"
          f" {t_serial / t_par:.2f}x")  # fmt: skip
    print(f"  same skill to the digit: {same} (serial ran {cores} torch threads per fit, workers one)")


if __name__ == "__main__":
    main()
