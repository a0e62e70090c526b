"""The volatility contest on the sample tickers: networks and the hybrid against the stronger HAR.

    .venv/bin/python benchmarks/bench_volatility.py [--tickers AAPL,MSFT,IBM,GOOG]
        [--horizons 1,5,22] [--models lstm,gru,cnn,hybrid] [--epochs 30] [--loss qlike]

For each ticker x horizon, a 5-fold walk-forward over the last 20% (the gk proxy; default
network settings; `hybrid` is the LSTM with --residual-on har) for every model. The baselines
(naive, EWMA, GARCH, HAR and log-HAR) come out of the same runs. Printed per ticker x
horizon: QLIKE skill against the stronger HAR of every forecaster, the Diebold-Mariano p of
each network against it, and whether it is in the 90% Model Confidence Set; then the
summary the README quotes, with the DM p-values adjusted (Holm) across every network x
ticker x horizon cell, and the cost of a volatility backtest against a return backtest of
the same LSTM, and of the baselines alone. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from lstmcast.backtest.run import backtest
from lstmcast.backtest.walkforward import block_origins, fit_split, plan_folds
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series, load_csv
from lstmcast.evaluation.multiple import holm
from lstmcast.inference.volatility import origins_in
from lstmcast.prep.inputs import frame_for
from lstmcast.runconfig import BacktestConfig
from lstmcast.training import volatility as net
from lstmcast.training.volatility import fold_forecasts

BASELINES = ("ewma", "garch", "har", "har_log", "naive")


def model_config(name: str, horizon: int, epochs: int, loss: str) -> TrainConfig:
    base = TrainConfig(target="volatility", horizon=horizon, epochs=epochs, loss=loss)
    if name == "hybrid":
        return base.replace(model="lstm", residual_on="har")
    return base.replace(model=name)


def baseline_seconds(cfg: TrainConfig, series: Series) -> float:
    """All five baselines over every fold, without the network: what they add to a backtest."""
    frame = frame_for(cfg, series.bars, series.exog, series.ticker)
    proxy, returns = np.exp(frame.x[:, 0]), frame.x[:, 1]
    t0 = time.perf_counter()
    plain = net.fit_volatility

    def no_network(*args: Any) -> Any:
        class Flat:
            def predict(self, frame: Any, proxy: Any, at: np.ndarray) -> np.ndarray:
                return np.ones(len(at))

        return Flat()

    net.fit_volatility = no_network  # type: ignore[assignment]
    try:
        bt = BacktestConfig()
        for fold in plan_folds(frame, cfg, bt):
            lo = fold.lo
            train_end = lo + fit_split(cfg, fold.cutoff - lo)[0]
            train_at = origins_in(cfg, lo, lo, train_end)
            val_at = origins_in(cfg, lo, train_end, fold.cutoff)
            test_at = block_origins(fold, frame.n, cfg.horizon)
            fold_forecasts(cfg, frame, proxy, returns, lo, train_end, train_at, val_at, test_at)
    finally:
        net.fit_volatility = plain  # type: ignore[assignment]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickers", default="AAPL,MSFT,IBM,GOOG")
    ap.add_argument("--horizons", default="1,5,22")
    ap.add_argument("--models", default="lstm,gru,cnn,hybrid")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--loss", default="qlike")
    ap.add_argument("--data", type=Path, default=Path("sample_data"))
    args = ap.parse_args()
    tickers = args.tickers.split(",")
    horizons = [int(h) for h in args.horizons.split(",")]
    models = args.models.split(",")
    cells: list[dict[str, Any]] = []
    for ticker in tickers:
        series = load_csv(args.data / f"{ticker}.csv", ticker)
        for h in horizons:
            docs = {}
            for m in models:
                t0 = time.perf_counter()
                doc = backtest(model_config(m, h, args.epochs, args.loss), BacktestConfig(), series).to_json()
                docs[m] = (doc["volatility"], time.perf_counter() - t0)
            first = docs[models[0]][0]
            used = first["har_used"]
            line = f"{ticker:5} h={h:<2} vs {used:7}"
            for b in BASELINES:
                line += f" {b} {first['scores'][b]['skill_vs_har']:+.1%}"
            print(line, flush=True)
            for m in models:
                vol, seconds = docs[m]
                s = vol["scores"]["model"]
                p = vol["dm_vs_har"]["pvalue"]
                in_mcs = "model" in vol["mcs"]
                cells.append(
                    {"ticker": ticker, "h": h, "model": m, "skill": s["skill_vs_har"], "p": p, "mcs": in_mcs,
                     "har_beats_naive": first["scores"][used]["skill_vs_naive"] > 0}
                )  # fmt: skip
                print(
                    f"      {m:7} skill {s['skill_vs_har']:+.1%}  DM p {p if p is None else round(p, 3)}"
                    f"  {'in' if in_mcs else 'OUT of'} the MCS {vol['mcs']}  ({seconds:.0f}s)",
                    flush=True,
                )
    adjusted = holm([c["p"] for c in cells])
    for c, a in zip(cells, adjusted, strict=True):
        c["p_holm"] = a
    print("\nsummary: the best network or hybrid per ticker x horizon, against the stronger HAR")
    pairs = sorted({(c["ticker"], c["h"]) for c in cells})
    beat = outside = 0
    for t, h in pairs:
        group = [c for c in cells if (c["ticker"], c["h"]) == (t, h)]
        best = max(group, key=lambda c: c["skill"])
        wins = best["skill"] > 0 and best["p"] is not None and best["p"] < 0.05
        beat += wins
        outside += sum(not c["mcs"] for c in group if c is best)
        print(
            f"  {t:5} h={h:<2} {best['model']:7} {best['skill']:+.1%}  DM p {best['p']:.3f}"
            f"  Holm {best['p_holm']:.3f}  {'in' if best['mcs'] else 'OUT of'} the MCS"
        )
    survive = sum(1 for c in cells if c["skill"] > 0 and c["p_holm"] is not None and c["p_holm"] < 0.05)
    print(
        f"the best network beats the stronger HAR (DM p < 0.05) on {beat} of {len(pairs)} ticker x horizon"
        f" pairs; outside the MCS on {outside}; {survive} of {len(cells)} network cells survive Holm"
        f" across all of them; HAR beats naive on {sum(c['har_beats_naive'] for c in cells) // len(models)}"
        f" of {len(pairs)}"
    )
    series = load_csv(args.data / f"{tickers[0]}.csv", tickers[0])
    t0 = time.perf_counter()
    backtest(TrainConfig(epochs=args.epochs), BacktestConfig(), series)
    returns_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    backtest(TrainConfig(target="volatility", epochs=args.epochs), BacktestConfig(), series)
    vol_s = time.perf_counter() - t0
    base_s = baseline_seconds(TrainConfig(target="volatility", horizon=horizons[-1]), series)
    fixed = []  # the same number of epochs for both: what one epoch costs, early stopping aside
    for _ in range(2):
        for cfg in (
            TrainConfig(epochs=10, patience=100),
            TrainConfig(epochs=10, patience=100, target="volatility"),
        ):
            t0 = time.perf_counter()
            backtest(cfg, BacktestConfig(), series)
            fixed.append(f"{cfg.target} {time.perf_counter() - t0:.1f}s")
    print(
        f"cost on {tickers[0]}, 5 folds, LSTM 2x64 (mse, horizon 1): return backtest {returns_s:.1f}s,"
        f" volatility backtest {vol_s:.1f}s; the five baselines alone {base_s:.2f}s (horizon {horizons[-1]})"
    )
    print(f"at 10 epochs each (patience 100), alternating: {', '.join(fixed)}")


if __name__ == "__main__":
    main()
