"""A 500-ticker x 20-year universe on this machine: memory against the panel's own size, and
training speed against a minimal PyTorch loop over the same arrays.

    .venv/bin/python benchmarks/bench_universe_scale.py [--tickers 500] [--years 20]
        [--epochs 1] [--folds 2] [--batch-size 1024] [--threads 2]

A synthetic panel with a planted short-term reversal (tests/synth.py: the 1-day rule's
rank IC is known exactly) is stored, one universe made of it, then:

1. `lstmcast train --universe` and `lstmcast backtest --universe --target rank` each run as a
   process of their own, under /usr/bin/time: wall time and peak RSS, beside the panel's
   own size in memory and what copying every sample's window would take;
2. one epoch of `training.panel.fit_panel` on the last block's samples, against the
   plainest loop over the same arrays (the same network, Adam, shuffled batches gathered
   from the same index arrays, MSE, clipped gradients): samples per second, each.

Runs alone: other work on the machine is load the timing does not show.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def store_panel(home: Path, tickers: int, years: int) -> tuple[float, float]:
    """The synthetic universe `big` in a store at `home`; (planted rank IC, seconds to store)."""
    from lstmcast.store.db import Store
    from lstmcast.store.prices import upsert_prices
    from lstmcast.universe.members import create_universe
    from synth import bars_from_log_returns, reversal_panel

    r, _, rank_ic = reversal_panel(days=252 * years, tickers=tickers, phi=0.2, seed=0)
    t0 = time.perf_counter()
    store = Store(home)
    names = [f"S{i:03d}" for i in range(tickers)]
    for i, name in enumerate(names):
        upsert_prices(store.conn, name, bars_from_log_returns(r[:, i]), "synthetic")
    create_universe(store, "big", names)
    store.close()
    return rank_ic, time.perf_counter() - t0


def samples_per_second(home: Path, epochs: int, batch: int, threads: int) -> tuple[int, float, float]:
    """(training samples, lstmcast's samples/s, the minimal loop's samples/s) on the last block."""
    import torch
    from torch import nn

    from lstmcast.config import TrainConfig
    from lstmcast.models import build_model
    from lstmcast.runconfig import BacktestConfig
    from lstmcast.store.db import Store
    from lstmcast.training.panel import fit_panel
    from lstmcast.universe.folds import fold_inputs, network_config, plan_blocks
    from lstmcast.universe.members import show_universe
    from lstmcast.universe.panel import build_panel, gather

    config = TrainConfig(
        target="rank", model="cnn", window=20, channels=8, epochs=epochs, patience=100, batch_size=batch,
        threads=threads,
    )  # fmt: skip
    store = Store(home)
    panel = build_panel(store, show_universe(store, "big"))
    plan = plan_blocks(panel, panel.forward(1), BacktestConfig(folds=1, test_size=0.1), "big", "a benchmark")
    start, end = int(plan.test_rows[0]), int(plan.test_rows[-1]) + 1
    fold = fold_inputs(panel, config, start, end, plan.first, plan.ranked, "big")
    n = len(fold.train[0])
    t0 = time.perf_counter()
    fit_panel(fold.values, fold.target, fold.train, fold.val, config)
    ours = n * epochs / (time.perf_counter() - t0)

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model(network_config(config), fold.values.shape[-1])
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.MSELoss()
    t_idx, n_idx = fold.train

    def steps(order: np.ndarray) -> None:
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            x = torch.from_numpy(
                np.ascontiguousarray(gather(fold.values, t_idx[idx], n_idx[idx], config.window))
            )
            y = torch.from_numpy(fold.target[t_idx[idx], n_idx[idx]].astype("float32")).unsqueeze(1)
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            opt.step()

    steps(np.arange(min(n, 3 * batch)))  # warm up, as fit_panel's first batches do for it
    t0 = time.perf_counter()
    for _ in range(epochs):
        steps(torch.randperm(n).numpy())
    minimal = n * epochs / (time.perf_counter() - t0)
    store.close()
    return n, ours, minimal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickers", type=int, default=500)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from benchlib import peak

    from lstmcast.universe.panel import panel_size

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        rank_ic, stored = store_panel(home, args.tickers, args.years)
        days = 252 * args.years
        size = panel_size(days, args.tickers, 1, 20)
        print(f"panel: {args.tickers} tickers x {days} days; stored in {stored:.0f} s")
        print(f"  {size.words()}; planted rank IC of the 1-day rule {rank_ic:.4f}")
        env = {**os.environ, "LSTMCAST_HOME": str(home)}
        net = ["--model", "cnn", "--window", "20", "--channels", "8", "--epochs", str(args.epochs),
               "--patience", "100", "--batch-size", str(args.batch_size),
               "--threads", str(args.threads)]  # fmt: skip
        cli = [sys.executable, "-m", "lstmcast"]
        train = peak([*cli, "train", "--universe", "big", "--target", "rank", *net, "--json"], env)
        if train.code:
            sys.exit(f"train failed: {train.stderr[-2000:]}")
        doc = json.loads(train.stdout)
        print(
            f"train --universe: {train.seconds:.0f} s, peak RSS {train.peak_mb:.0f} MB; held-out rank IC"
            f" {doc['test']['rank_ic_mean']:.4f} (t {doc['test']['rank_ic_t']:.1f}),"
            f" {doc['n_train']:,} samples"
        )
        back = peak(
            [*cli, "backtest", "--universe", "big", "--target", "rank", *net, "--folds", str(args.folds),
             "--rule", "long_short", "--json"], env,
        )  # fmt: skip
        if back.code:
            sys.exit(f"backtest failed: {back.stderr[-2000:]}")
        doc = json.loads(back.stdout)
        p, pf = doc["panel"], doc["portfolio"]
        print(
            f"backtest --universe ({args.folds} folds): {back.seconds:.0f} s, peak RSS {back.peak_mb:.0f} MB;"
            f" rank IC {p['rank_ic_mean']:.4f} (t {p['rank_ic_t']:.1f}) against reversal's"
            f" {doc['baselines']['reversal']['rank_ic_mean']:.4f};"
            f" long-short net {pf['net_return_ann']:+.1%} a year"
        )
        n, ours, minimal = samples_per_second(home, args.epochs, args.batch_size, args.threads)
        print(
            f"one block's {n:,} training samples: lstmcast {ours:,.0f} samples/s, the minimal loop"
            f" {minimal:,.0f} samples/s ({ours / minimal:.2f}x)"
        )


if __name__ == "__main__":
    main()
