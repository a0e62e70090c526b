"""Interval methods side by side on the sample tickers: calibration in calm and turbulent markets.

    .venv/bin/python benchmarks/bench_intervals.py [--model cnn] [--epochs 30]

For each sample ticker, one walk-forward over its last 40% (5 folds); the one-step 80% and 95%
intervals of every method are built bar by bar from the same forecasts and scored: coverage,
coverage by tercile of ex-ante volatility (calm, middle, turbulent) and its spread, Kupiec p,
Christoffersen p, width and the Winkler score. `scaled*` is plain RiskMetrics EWMA (no
shrinkage to the long-run variance), shown for comparison.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lstmcast.backtest.run import backtest, walk_forward_intervals
from lstmcast.config import BacktestConfig, TrainConfig
from lstmcast.data.series import load_csv

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")
METHODS = (("empirical", None), ("scaled*", 0.0), ("scaled", None), ("aci", None))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--data", type=Path, default=Path("sample_data"))
    args = ap.parse_args()
    cfg = TrainConfig(model=args.model, epochs=args.epochs)
    bt = BacktestConfig(folds=5, test_size=0.4)
    table: dict[str, dict[str, list[float]]] = {}
    for level in (0.8, 0.95):
        label = f"{level * 100:g}"
        print(f"\n{label}% one-step intervals, walk-forward over the last 40% ({args.model})")
        print(f"{'ticker':6} {'method':10} {'cover':>6} {'calm':>6} {'mid':>6} {'turb':>6} {'spread':>7}"
              f" {'kupiec p':>9} {'christ. p':>9} {'width':>7} {'winkler':>8}")  # fmt: skip
        for ticker in TICKERS:
            t0 = time.perf_counter()
            result = backtest(cfg, bt, load_csv(args.data / f"{ticker}.csv", ticker))
            run = result.first
            for name, shrink in METHODS:
                _, scores = walk_forward_intervals(result.frame, run.wf, name.rstrip("*"), shrink=shrink)
                s = scores[label]
                terc = s["coverage_by_vol_tercile"]
                spread = max(terc) - min(terc)
                row = table.setdefault(label, {}).setdefault(name, [])
                row.append(s["winkler"])
                table[label].setdefault(name + ":spread", []).append(spread)
                table[label].setdefault(name + ":kupiec", []).append(s["kupiec_p"])
                table[label].setdefault(name + ":cover", []).append(s["coverage"])
                print(
                    f"{ticker:6} {name:10} {s['coverage']:6.1%} {terc[0]:6.1%} {terc[1]:6.1%} {terc[2]:6.1%}"
                    f" {spread * 100:6.1f}p {s['kupiec_p']:9.3f} {s['christoffersen_p']:9.3f}"
                    f" {s['width']:7.4f} {s['winkler']:8.5f}"
                )
            skill = run.scores.target["model"].skill_vs_naive
            print(f"       ({time.perf_counter() - t0:.0f}s, skill vs naive {skill:+.2%})")
    for label, rows in table.items():
        print(
            f"\nsummary {label}%: method, mean Winkler, max |coverage - nominal|, max spread, Kupiec p > 0.05"
        )
        nominal = float(label) / 100
        for name, _ in METHODS:
            cover_err = max(abs(c - nominal) for c in rows[name + ":cover"])
            ok = sum(k > 0.05 for k in rows[name + ":kupiec"])
            print(
                f"  {name:10} {np.mean(rows[name]):.5f}  {cover_err * 100:4.1f}p"
                f"  {max(rows[name + ':spread']) * 100:4.1f}p  {ok}/{len(TICKERS)}"
            )


if __name__ == "__main__":
    main()
