"""A 5-fold LSTM walk-forward backtest on a ~3,000-bar sample series, and where its time goes.

    .venv/bin/python benchmarks/bench_backtest.py [--csv sample_data/AAPL.csv] [--epochs 10]

Prints the total, the share spent inside the training loop, and the rest (framing,
windows, baselines, batched inference, scoring): fold overhead must stay small.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lstmcast.backtest.walkforward as wf
from lstmcast.backtest.run import backtest
from lstmcast.config import TrainConfig
from lstmcast.data.series import load_csv
from lstmcast.runconfig import BacktestConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--csv", type=Path, default=Path("sample_data/AAPL.csv"))
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()
    series = load_csv(args.csv)
    cfg = TrainConfig(model="lstm", window=50, hidden=64, layers=2, epochs=args.epochs, patience=100)
    bt = BacktestConfig(folds=5, test_size=0.2)

    inside_fit = 0.0
    real_fit = wf.fit_forecaster

    def timed_fit(*a, **k):  # type: ignore[no-untyped-def]
        nonlocal inside_fit
        fitted = real_fit(*a, **k)
        inside_fit += fitted.outcome.seconds if fitted.outcome else 0.0
        return fitted

    wf.fit_forecaster = timed_fit  # measure only; the pipeline is unchanged
    t0 = time.perf_counter()
    result = backtest(cfg, bt, series)
    total = time.perf_counter() - t0
    doc = result.to_json()
    print(
        f"{args.csv.name}: {len(series.bars)} bars, 5 folds, LSTM 2x64, {args.epochs} epochs per fold,"
        f" {doc['n_predictions']} forecasts"
    )
    print(
        f"total {total:.1f}s; inside the training loop {inside_fit:.1f}s ({inside_fit / total:.0%});"
        f" everything else {total - inside_fit:.2f}s ({(total - inside_fit) / total:.1%})"
    )
    print(
        f"pooled skill vs naive {doc['pooled']['model']['skill_vs_naive']:+.2%}, DM p {doc['dm_pvalue']:.2f}"
    )


if __name__ == "__main__":
    main()
