"""The volatility contest on the sample tickers: each network and the hybrid against log-HAR.

    .venv/bin/python benchmarks/bench_volatility.py [--tickers AAPL,MSFT,IBM,GOOG]
        [--horizons 1,5,22] [--models lstm,gru,cnn,hybrid] [--epochs 30] [--loss qlike]

For each ticker x horizon, a 5-fold walk-forward over the last 20% (the gk proxy; default
network settings; `hybrid` is the LSTM with --residual-on har) for every model. The baselines
(naive, EWMA, GARCH, HAR, log-HAR and the leverage log-HAR, refitted every 21 origins) come
out of the same runs. Printed per ticker x horizon: each baseline's QLIKE skill against
log-HAR (the pre-specified benchmark); per network its skill and DM p against log-HAR and
the leverage HAR, as forecast and under one rolling recalibration of every forecaster, and
its MCS p-values by both statistics; then per network (never the best of four) how many
pairs are positive, how many significant at 5% (and what chance gives), and which survive
Holm across all network cells; a markdown table; and the cost of a volatility backtest
against a return backtest of the same LSTM, and of the baselines alone. Run it alone.
"""

from __future__ import annotations

import argparse
import json
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

BASELINES = ("ewma", "garch", "har", "har_lev", "naive")


def _p(p: float | None) -> str:
    return "–" if p is None else f"{p:.3f}" if p >= 0.001 else "<0.001"


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
            def predict(self, frame: Any, proxy: Any, at: np.ndarray, first_day: bool = False) -> np.ndarray:
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


COMPARISONS = (  # (label, where in the JSON, against)
    ("log-HAR", "scores", "har_log"),
    ("lev. HAR", "scores", "har_lev"),
    ("log-HAR, recal.", "recalibrated", "har_log"),
    ("lev. HAR, recal.", "recalibrated", "har_lev"),
)


def cell_of(ticker: str, h: int, model: str, vol: dict[str, Any]) -> dict[str, Any]:
    """One network's result on one ticker x horizon: skill and DM p against each pre-specified
    HAR, as forecast and recalibrated, and its MCS p-values by both statistics."""
    out: dict[str, Any] = {"ticker": ticker, "h": h, "model": model}
    for label, where, name in COMPARISONS:
        part = vol if where == "scores" else vol["recalibrated"]
        out[label] = (part["scores"]["model"]["skill_vs"][name], part["dm"][name]["pvalue"])
    out["mcs"] = vol["mcs_pvalues"]["model"]
    return out


def summarise(
    cells: list[dict[str, Any]], tickers: list[str], horizons: list[int], models: list[str]
) -> None:
    """Per network, never the best of them: positive pairs, raw DM rejections against what
    chance gives, and the cells that survive Holm across every network cell; a markdown table."""
    print("\nsummary, per network (no best-of), Holm across every network x ticker x horizon cell:")
    n_pairs = len(tickers) * len(horizons)
    for label, _, _ in COMPARISONS:
        adjusted = holm([c[label][1] for c in cells])
        for c, a in zip(cells, adjusted, strict=True):
            c[f"{label} holm"] = a
        for m in models:
            mine = [c for c in cells if c["model"] == m]
            positive = sum(c[label][0] > 0 for c in mine)
            raw = sum(c[label][0] > 0 and c[label][1] is not None and c[label][1] < 0.05 for c in mine)
            held = [
                f"{c['ticker']} h{c['h']} {c[label][0]:+.1%}"
                for c in mine
                if c[label][0] > 0 and (c[f"{label} holm"] or 1.0) < 0.05
            ]
            print(
                f"  vs {label:16} {m:7} positive on {positive:2} of {n_pairs}; DM p < 0.05 on {raw}"
                f" (chance: {0.025 * n_pairs:.1f}); after Holm: {len(held)} {held}"
            )
    print("\nmarkdown (skill vs log-HAR / vs leverage HAR, DM p; recalibrated beside):")
    for c in cells:
        cols = " | ".join(f"{c[lab][0]:+.1%} ({_p(c[lab][1])})" for lab, _, _ in COMPARISONS)
        mcs = f"{c['mcs']['range']:.2f} / {c['mcs']['max']:.2f}"
        print(f"| {c['ticker']} | {c['h']} | {c['model']} | {cols} | {mcs} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickers", default="AAPL,MSFT,IBM,GOOG")
    ap.add_argument("--horizons", default="1,5,22")
    ap.add_argument("--models", default="lstm,gru,cnn,hybrid")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--loss", default="qlike")
    ap.add_argument("--data", type=Path, default=Path("sample_data"))
    ap.add_argument("--cells-out", type=Path, help="also write every network cell to this JSON file")
    ap.add_argument(
        "--summarise",
        type=Path,
        nargs="+",
        help="skip the runs: summarise cells files of split runs together",
    )
    ap.add_argument("--no-cost", action="store_true", help="skip the cost measurements at the end")
    args = ap.parse_args()
    tickers = args.tickers.split(",")
    horizons = [int(h) for h in args.horizons.split(",")]
    models = args.models.split(",")
    cells: list[dict[str, Any]] = []
    if args.summarise:  # split runs (e.g. two tickers each, one per core) judged as one family
        for path in args.summarise:
            cells += json.loads(path.read_text())
        tickers = sorted({c["ticker"] for c in cells})
        horizons = sorted({c["h"] for c in cells})
        models = list(dict.fromkeys(c["model"] for c in cells))
        summarise(cells, tickers, horizons, models)
        return
    for ticker in tickers:
        series = load_csv(args.data / f"{ticker}.csv", ticker)
        for h in horizons:
            first: dict[str, Any] | None = None
            for m in models:
                t0 = time.perf_counter()
                doc = backtest(model_config(m, h, args.epochs, args.loss), BacktestConfig(), series).to_json()
                vol = doc["volatility"]
                if first is None:
                    first = vol
                    line = f"{ticker:5} h={h:<2} baselines vs log-HAR:"
                    for b in BASELINES:
                        line += f" {b} {vol['scores'][b]['skill_vs_har']:+.1%}"
                    print(line, flush=True)
                c = cell_of(ticker, h, m, vol)
                cells.append(c)
                parts = "  ".join(f"{lab} {c[lab][0]:+.1%} (p {_p(c[lab][1])})" for lab, _, _ in COMPARISONS)
                mcs = c["mcs"]
                print(
                    f"      {m:7} {parts}  MCS p range {mcs['range']:.2f} max {mcs['max']:.2f}"
                    f"  ({time.perf_counter() - t0:.0f}s)",
                    flush=True,
                )
    if args.cells_out:
        args.cells_out.write_text(json.dumps(cells))
    summarise(cells, tickers, horizons, models)
    if args.no_cost:
        return
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
