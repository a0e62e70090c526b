"""`--preset fast` against the defaults: walk-forward skill and time, on real and synthetic data.

    .venv/bin/python benchmarks/bench_preset.py [--tickers AAPL,MSFT,IBM,GOOG] [--seeds 2]

For each sample ticker, the same 5-fold walk-forward backtest (default options: LSTM 2x64,
window 50, up to 30 epochs with early stopping) with the defaults and with the `fast` preset,
alternating. Then the same on a synthetic AR(1) series of returns (phi 0.3), whose best possible skill
against the random walk is known (phi^2 = 9%, `ar1_best_skill`). Prints per series the pooled
skill vs naive (MSE) and seconds for both, and the totals over the real tickers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from lstmcast.backtest.run import backtest
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series, load_csv
from lstmcast.runconfig import BacktestConfig, preset_settings

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from synth import ar1

PHI = 0.3


def ar1_best_skill(phi: float) -> float:
    """MSE skill of the true AR(1) forecast over the random walk's zero-return forecast:
    1 - sigma^2 / var(r) = phi^2 for returns r_t = phi r_{t-1} + e_t."""
    return phi**2


def run(cfg: TrainConfig, series: Series, seeds: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    doc = backtest(cfg, BacktestConfig(seeds=seeds), series).to_json()
    return float(doc["pooled"]["model"]["skill_vs_naive"]), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickers", default="AAPL,MSFT,IBM,GOOG")
    ap.add_argument("--seeds", type=int, default=1)
    args = ap.parse_args()
    default = TrainConfig()
    fast = TrainConfig(**preset_settings("fast")["train"])
    cases = [load_csv(Path(f"sample_data/{t}.csv")) for t in args.tickers.split(",")]
    cases.append(Series("AR1", ar1(3000, phi=PHI, seed=7)[0], "synthetic"))
    totals = {"default": 0.0, "fast": 0.0}
    print(f"{'series':8} {'default skill':>14} {'s':>6} {'fast skill':>11} {'s':>6} {'speed-up':>9}")
    skills: dict[str, list[float]] = {"default": [], "fast": []}
    for series in cases:
        s_d, t_d = run(default, series, args.seeds)
        s_f, t_f = run(fast, series, args.seeds)
        if series.ticker != "AR1":
            totals["default"] += t_d
            totals["fast"] += t_f
            skills["default"].append(s_d)
            skills["fast"].append(s_f)
        print(f"{series.ticker:8} {s_d:+14.2%} {t_d:6.1f} {s_f:+11.2%} {t_f:6.1f} {t_d / t_f:8.1f}x")
    print(f"AR(1) phi {PHI}: best possible skill {ar1_best_skill(PHI):+.2%}")
    print(
        f"real tickers: mean skill default {statistics.mean(skills['default']):+.2%},"
        f" fast {statistics.mean(skills['fast']):+.2%}; time {totals['default']:.0f}s vs"
        f" {totals['fast']:.0f}s ({totals['fast'] / totals['default']:.2f} of the default's)"
    )


if __name__ == "__main__":
    main()
