"""Sweeps and parallel folds on this machine: throughput, Dask's share, and fold speed-up.

    .venv/bin/python benchmarks/bench_sweep.py [--epochs 5] [--skip-folds]

1. 4 sample tickers x 2 models x 2 seeds (16 short walk-forward backtests): serially in one
   process with torch on every core, then `sweep --workers 2` (one thread per worker), each in
   a fresh store so nothing is resumed. Throughput ratio, and Dask's per-cell overhead: on
   each worker, the gaps between finishing one cell and starting the next (scheduling, the
   result going back, the next task's arguments coming in), against a cell's compute. The
   idle tail (a worker done while the other still computes its last cell) is load balance,
   not Dask: it is printed apart.
2. `backtest` on 5 folds (LSTM 2x64, window 50, 10 epochs): serial vs `--workers 2`.
Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lstmcast.backtest.folds import fold_runner
from lstmcast.backtest.run import backtest
from lstmcast.config import TrainConfig
from lstmcast.data.ingest import import_csv
from lstmcast.data.series import load_csv
from lstmcast.execution.engine import Parallel
from lstmcast.runconfig import BacktestConfig, RunConfig
from lstmcast.store.db import Store
from lstmcast.sweep.run import sweep

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")


def run_sweep(
    workers: int, cfg: TrainConfig, bt: BacktestConfig, data: Path
) -> tuple[float, list[dict[str, Any]], float]:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
        for t in TICKERS:
            import_csv(store, data / f"{t}.csv", t)
        run = RunConfig(tickers=TICKERS, train=cfg, backtest=bt)
        t0 = time.perf_counter()
        report = sweep(store, run, ("lstm", "gru"), 2, Parallel(workers))
        wall = time.perf_counter() - t0
        assert not report.failed, report.failed
        return wall, [c["result"] for c in finished(store, report.sweep_id)], report.startup_seconds


def finished(store: Store, sweep_id: str) -> list[dict[str, Any]]:
    from lstmcast.store.sweeps import finished_cells, get_sweep

    keys = get_sweep(store.conn, sweep_id)["cells"]
    return list(finished_cells(store.conn, keys).values())


def dask_gaps(cells: list[dict[str, Any]]) -> tuple[list[float], float]:
    """Per worker, the gaps between consecutive cells (Dask's time), and the idle tail summed
    over workers (time after a worker's last cell while another still computed)."""
    by: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        by.setdefault(c["worker"], []).append(c)
    end = max(c["finished_at"] for c in cells)
    first = min(c["started_at"] for c in cells)
    gaps, tail = [], 0.0
    for runs in by.values():
        runs.sort(key=lambda c: c["started_at"])
        gaps.append(runs[0]["started_at"] - first)  # a worker that started late
        gaps += [b["started_at"] - a["finished_at"] for a, b in itertools.pairwise(runs)]
        tail += end - runs[-1]["finished_at"]
    return gaps, tail


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--data", type=Path, default=Path("sample_data"))
    ap.add_argument("--skip-folds", action="store_true")
    ap.add_argument("--only-folds", action="store_true")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    if not args.only_folds:
        sweeps(args, cores)
    if not args.skip_folds:
        folds(args, cores)


def sweeps(args: argparse.Namespace, cores: int) -> None:
    cfg = TrainConfig(model="lstm", window=30, hidden=32, layers=1, epochs=args.epochs, patience=100)
    bt = BacktestConfig(folds=3, test_size=0.15)
    serial, serial_cells, _ = run_sweep(1, cfg, bt, args.data)
    parallel, cells, startup = run_sweep(2, cfg, bt, args.data)
    per_cell = sum(c["seconds"] for c in cells) / len(cells)
    gaps, tail = dask_gaps(cells)
    overhead = sum(gaps) / len(cells)
    print(f"sweep, 16 cells ({cores} cores): serial (torch on all cores) {serial:.1f}s,"
          f" --workers 2 {parallel:.1f}s: {serial / parallel:.2f}x the serial throughput")  # fmt: skip
    serial_per_cell = sum(c["seconds"] for c in serial_cells) / len(cells)
    print(f"  a cell computes {per_cell:.2f}s on one thread ({serial_per_cell:.2f}s on {cores}"
          " in the serial run)")  # fmt: skip
    print(f"  cluster start-up and shipping the bars: {startup:.1f}s once; then Dask's share per cell"
          f" (scheduling and transfer between a worker's cells): {overhead * 1000:.0f} ms ="
          f" {overhead / per_cell:.1%} of a cell (largest gap {max(gaps) * 1000:.0f} ms)")  # fmt: skip
    print(f"  idle tail (a worker done, the other on its last cell): {tail:.1f}s in all ="
          f" {tail / len(cells) / per_cell:.1%} of a cell per cell; load balance, not Dask")  # fmt: skip


def folds(args: argparse.Namespace, cores: int) -> None:
    series = load_csv(args.data / "AAPL.csv", "AAPL")
    big = TrainConfig(model="lstm", window=50, hidden=64, layers=2, epochs=10, patience=100)
    five = BacktestConfig(folds=5, test_size=0.2)
    t0 = time.perf_counter()
    a = backtest(big, five, series)
    t_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = backtest(big, five, series, run_folds=fold_runner(Parallel(2)))
    t_par = time.perf_counter() - t0
    sa, sb = (r.outcome.first.scores.target["model"].skill_vs_naive for r in (a, b))
    gap = float(np.max(np.abs(a.outcome.first.wf.preds["model"] - b.outcome.first.wf.preds["model"])))
    print(f"backtest, 5 folds LSTM 2x64 x 10 epochs: serial {t_serial:.1f}s, --workers 2 {t_par:.1f}s:"
          f" {t_serial / t_par:.2f}x")  # fmt: skip
    print(f"  skill vs naive {sa:+.4%} serial ({cores} torch threads per fit) vs {sb:+.4%} on workers"
          f" (one thread each); largest gap between their forecasts {gap:.1e} (float sums in another"
          " order; at one thread count they are equal digit for digit: tests/test_sweep.py)")  # fmt: skip


if __name__ == "__main__":
    main()
