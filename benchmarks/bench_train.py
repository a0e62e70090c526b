"""lstmcast's training loop vs a minimal hand-written PyTorch loop, same LSTM, same data.

Workload (from the course and the speed notes this project was handed): AAPL daily log
returns, window 50, LSTM 2x64, batch 64, Adam 1e-3, 10 epochs, 80/10/10 split. Runs
alternate (A B A B ...) and we quote medians, because identical repeats vary by about 25%
on this machine.

    .venv/bin/python benchmarks/bench_train.py [--repeats 3] [--csv sample_data/AAPL.csv]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from benchlib import minimal_loop

from lstmcast.config import TrainConfig
from lstmcast.data.series import load_csv
from lstmcast.prep.dataset import build_frame, split_rows
from lstmcast.training.fitted import fit_forecaster
from lstmcast.training.runtime import tune_allocator

CFG = TrainConfig(
    model="lstm", window=50, hidden=64, layers=2, batch_size=64, lr=1e-3, epochs=10, patience=100, seed=0
)


def lstmcast_fit(frame, seg) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fitted = fit_forecaster(CFG, frame, seg.train_end, seg.val_end)
    assert fitted.outcome is not None and len(fitted.outcome.history) == CFG.epochs
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--csv", type=Path, default=Path("sample_data/AAPL.csv"))
    args = ap.parse_args()
    tune_allocator()  # both loops get the same allocator settings
    frame = build_frame(load_csv(args.csv).bars, CFG.target, CFG.features)
    seg = split_rows(frame.n, CFG.val_frac, CFG.test_frac)
    n_train = seg.train_end - CFG.window
    print(
        f"{args.csv.name}: {frame.n} returns, ~{n_train} training windows, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    minimal_loop(frame.x[:, 0], seg.train_end)  # warm-up: first Adam imports torch._dynamo (~1.4 s)
    mins, ours = [], []
    for i in range(args.repeats):
        mins.append(minimal_loop(frame.x[:, 0], seg.train_end))
        ours.append(lstmcast_fit(frame, seg))
        print(f"  repeat {i + 1}: minimal {mins[-1]:.2f}s  lstmcast {ours[-1]:.2f}s")
    m, o = statistics.median(mins), statistics.median(ours)
    print(
        f"median fit: minimal loop {m:.2f}s ({n_train * CFG.epochs / m:,.0f} samples/s), "
        f"lstmcast {o:.2f}s ({n_train * CFG.epochs / o:,.0f} samples/s)"
    )
    print(
        f"ratio lstmcast / minimal = {o / m:.3f} (target <= 1.15; lstmcast also clips gradients"
        " and evaluates validation every epoch)"
    )


if __name__ == "__main__":
    main()
