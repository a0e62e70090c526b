"""lstmcast's training loop vs a minimal hand-written PyTorch loop, same LSTM, same data.

Workload (from the course and PERF-NOTES): AAPL daily log returns, window 50, LSTM 2x64,
batch 64, Adam 1e-3, 10 epochs, 80/10/10 split. Runs alternate (A B A B ...) and we quote
medians, because identical repeats vary by about 25% on this machine.

    .venv/bin/python benchmarks/bench_train.py [--repeats 3] [--csv sample_data/AAPL.csv]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lstmcast.config import TrainConfig
from lstmcast.data.series import load_csv
from lstmcast.prep.dataset import build_frame, split_rows
from lstmcast.training.fitted import fit_forecaster
from lstmcast.training.runtime import tune_allocator

CFG = TrainConfig(
    model="lstm", window=50, hidden=64, layers=2, batch_size=64, lr=1e-3, epochs=10, patience=100, seed=0
)


def minimal_loop(returns: np.ndarray, train_end: int) -> float:
    """The plainest fast loop: unfold windows, randperm batches, no DataLoader, no extras."""
    torch.manual_seed(0)
    r = torch.tensor(returns[:train_end], dtype=torch.float32)
    r = (r - r.mean()) / r.std()
    x = r.unfold(0, CFG.window, 1)[:-1].unsqueeze(-1)  # (N, 50, 1)
    y = r[CFG.window :].unsqueeze(-1)  # (N, 1)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(1, 64, num_layers=2, batch_first=True)
            self.head = nn.Linear(64, 1)

        def forward(self, xb: torch.Tensor) -> torch.Tensor:
            return self.head(self.rnn(xb)[0][:, -1])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for _ in range(CFG.epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


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
