"""CPU against CUDA: training, forecast latency and sweep throughput, with the device named.

    .venv/bin/python benchmarks/bench_device.py [--epochs 3] [--sweep-epochs 5] [--no-sweep]

- Train: LSTM 2x64 (batch 64) and LSTM 2x256 (batch 512), window 50, on AAPL's returns;
  seconds per epoch on the CPU (all its threads) and on CUDA.
- Forecast latency: one 20-step forecast from a fitted network (median of 20), with torch
  on each device and with ONNX Runtime on the CPU (what `lstmcast forecast` uses).
- Sweep: 4 tickers x 2 models x 2 seeds, 2 folds each, as cells per minute on CPU workers
  (one per core, threads split) and on the GPU (`--gpu-workers 4`).
Without a GPU every CUDA figure is skipped, and the script says so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lstmcast.config import TrainConfig
from lstmcast.data.ingest import import_csv
from lstmcast.data.series import load_csv
from lstmcast.execution.engine import Parallel, cores
from lstmcast.prep.dataset import build_frame, split_rows
from lstmcast.runconfig import BacktestConfig, RunConfig
from lstmcast.store.db import Store
from lstmcast.sweep.run import sweep
from lstmcast.training.fitted import fit_forecaster
from lstmcast.training.runtime import tune_allocator

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
NETS = {"LSTM 2x64": (64, 64), "LSTM 2x256": (256, 512)}


def train_seconds(device: str, hidden: int, batch: int, epochs: int) -> tuple[float, object]:
    cfg = TrainConfig(model="lstm", window=50, hidden=hidden, layers=2, batch_size=batch, epochs=epochs,
                      patience=1000, device=device, seed=0)  # fmt: skip
    frame = build_frame(load_csv(SAMPLE / "AAPL.csv").bars, cfg.target, cfg.features)
    seg = split_rows(frame.n, cfg.val_frac, cfg.test_frac)
    fit_forecaster(cfg.replace(epochs=1), frame, seg.train_end, seg.val_end)  # warm-up: kernels, context
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fitted = fit_forecaster(cfg, frame, seg.train_end, seg.val_end)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / epochs, (fitted, frame)


def latency(fitted: object, frame: object, repeats: int = 20) -> float:
    at = np.array([frame.n - 1])  # type: ignore[attr-defined]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fitted.predict(frame, at)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def onnx_latency(fitted: object, frame: object) -> float | None:
    from lstmcast.models.onnx import OnnxNet, OnnxUnavailable
    from lstmcast.registry.manifest import onnx_of

    cfg = fitted.config  # type: ignore[attr-defined]
    state = {k: v.cpu().numpy() for k, v in fitted.state.items()}  # type: ignore[attr-defined]
    try:
        model = onnx_of(cfg, len(fitted.columns), state)  # type: ignore[attr-defined]
        net = OnnxNet(model) if model is not None else None
    except (ImportError, OnnxUnavailable):
        return None
    if net is None:
        return None
    x = np.zeros((1, cfg.window, len(fitted.columns)), dtype=np.float32)  # type: ignore[attr-defined]
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        net(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def sweep_rate(parallel: Parallel, device: str, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
        tickers = ("AAPL", "MSFT", "IBM", "GOOG")
        for t in tickers:
            import_csv(store, SAMPLE / f"{t}.csv", t)
        run = RunConfig(
            tickers=tickers,
            train=TrainConfig(
                model="lstm", window=30, hidden=32, layers=1, epochs=epochs, patience=1000, device=device
            ),
            backtest=BacktestConfig(folds=2, seeds=2),
        )
        t0 = time.perf_counter()
        report = sweep(store, run, ("lstm", "gru"), 2, parallel)
        minutes = (time.perf_counter() - t0) / 60
        return len(report.cells) / minutes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3, help="epochs timed per network and device")
    ap.add_argument("--sweep-epochs", type=int, default=5)
    ap.add_argument("--no-sweep", action="store_true", help="skip the sweep throughput")
    args = ap.parse_args()
    tune_allocator()
    os.environ.pop("LSTMCAST_DEVICE", None)
    gpu = torch.cuda.is_available()
    devices = ["cpu", "cuda"] if gpu else ["cpu"]
    name = torch.cuda.get_device_name(0) if gpu else "none"
    print(
        f"torch {torch.__version__}, {cores()} CPU cores ({torch.get_num_threads()} torch threads),"
        f" GPU: {name}"
    )
    if not gpu:
        print("skipped: every CUDA figure (no CUDA GPU visible to this torch)")
    print(f"{'network':<12} {'device':<6} {'s/epoch':>8} {'torch ms':>9} {'onnx ms':>8}")
    for label, (hidden, batch) in NETS.items():
        for device in devices:
            secs, (fitted, frame) = train_seconds(device, hidden, batch, args.epochs)  # type: ignore[misc]
            onnx = onnx_latency(fitted, frame) if device == "cpu" else None
            shown = "-" if onnx is None else f"{onnx:.2f}"
            print(f"{label:<12} {device:<6} {secs:>8.2f} {latency(fitted, frame):>9.2f} {shown:>8}")
    if args.no_sweep:
        return
    cpu_rate = sweep_rate(Parallel(cores()), "cpu", args.sweep_epochs)
    print(f"sweep, 16 cells: {cpu_rate:.1f} cells/min on {cores()} CPU workers")
    serial = sweep_rate(Parallel(1), "cpu", args.sweep_epochs)
    print(f"sweep, 16 cells: {serial:.1f} cells/min serially on the CPU")
    if gpu:
        for k in (1, 4, 8):
            rate = sweep_rate(Parallel(k), "cuda", args.sweep_epochs)
            print(f"sweep, 16 cells: {rate:.1f} cells/min with {k} worker(s) sharing the GPU")
    else:
        print("skipped: the sweep on the GPU")


if __name__ == "__main__":
    main()
