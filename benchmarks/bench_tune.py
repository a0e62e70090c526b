"""`lstmcast tune` measured: does it find the signal that is there, and only that?

    .venv/bin/python benchmarks/bench_tune.py [--case ar1|rw|tickers|throughput|all] [--trials 30]

- ar1: an AR(1) return series (phi = 0.5, 1500 bars), the default LSTM space (which holds
  bad settings: 4-unit networks, steps of 0.02), 3 outer and 3 inner folds, 2 workers. The
  tuned model's pooled outer skill against the best achievable on the same days (the oracle
  forecast phi * r_t, whose error is the innovation alone); the target is within 2 points.
- rw: a random walk (1500 bars). Outer skill (target: within +-0.5% of 0), the verdict, PBO,
  and the inner best beside it: the search's optimism.
- tickers: each sample ticker, the LSTM tuned per outer fold against the default settings
  on the same outer folds (3 folds, 3 inner folds): does tuning help out of sample?
- throughput: a 16-trial random search (no pruning) serially with torch on every core, then
  on 2 workers with one thread each; trials per minute, and Dask's share of a trial (the
  gaps between a worker's trials against their compute).
Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmcast.config import TrainConfig
from lstmcast.data.ingest import import_csv
from lstmcast.execution.engine import Parallel, cores
from lstmcast.runconfig import BacktestConfig, RunConfig
from lstmcast.store.db import Store
from lstmcast.store.prices import upsert_prices
from lstmcast.store.tunes import TrialRecord, trials_of
from lstmcast.tuning.report import tune
from lstmcast.tuning.tune import TuneSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synth import ar1, random_walk

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")


def _tune(
    store: Store, ticker: str, cfg: TrainConfig, bt: BacktestConfig, s: TuneSettings, workers: int
) -> Any:
    run = RunConfig(tickers=(ticker,), train=cfg, backtest=bt)
    t0 = time.perf_counter()
    report = tune(store, run, s, None, Parallel(workers))[0]
    return report, time.perf_counter() - t0


def oracle_skill(
    r: np.ndarray, eps: np.ndarray, dates: pd.DatetimeIndex, outer: list[dict[str, Any]]
) -> float:
    """1 - sum(eps^2) / sum(r^2) over the outer blocks' target days: the best skill there is."""
    e2 = n2 = 0.0
    for row in outer:
        k = np.flatnonzero((dates >= row["test_start"]) & (dates <= row["test_end"]))
        e2 += float(np.sum(eps[k - 1] ** 2))
        n2 += float(np.sum(r[k - 1] ** 2))
    return 1 - e2 / n2


def case_synthetic(kind: str, trials: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        if kind == "ar1":
            bars, eps = ar1(1500, 0.5, seed=7)
        else:
            bars, eps = random_walk(1500, seed=7), np.zeros(0)
        upsert_prices(store.conn, "SYN", bars, "bench")
        bt = BacktestConfig(folds=3, test_size=0.2)
        report, wall = _tune(store, "SYN", TrainConfig(seed=0), bt, TuneSettings(trials), 2)
        d = report.doc
        print(f"{kind}: {d['trials']} trials ({d['states']}) in {wall:.0f}s on 2 workers")
        print(
            f"  outer skill vs naive {d['skill_vs_naive']:+.4f} (p {d['dm_pvalue']}), verdict: {d['verdict']}"
        )
        print(f"  default settings, same outer folds: {d['start']['skill_vs_naive']:+.4f}")
        inner = d["inner_best_mean"]
        print(f"  inner best (mean over folds) {inner:+.4f}; PBO {d['pbo']}; DSR {d['deflated_sharpe']}")
        for row in d["outer"]:
            print(f"  fold {row['fold']}: inner {row['inner_score']:+.4f} outer {row['outer_skill']:+.4f}"
                  f" optimism {row['optimism']:+.4f} best {row['best_params']}")  # fmt: skip
        if kind == "ar1":
            r = np.log(bars["adj_close"]).diff().to_numpy()[1:]
            best = oracle_skill(r, eps, bars.index, d["outer"])
            print(f"  best achievable on those days {best:+.4f}; gap {best - d['skill_vs_naive']:+.4f}")


def case_tickers(trials: int) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        for t in TICKERS:
            import_csv(store, SAMPLE / f"{t}.csv", t)
        for t in TICKERS:
            bt = BacktestConfig(folds=3, test_size=0.2)
            report, wall = _tune(store, t, TrainConfig(seed=0), bt, TuneSettings(trials), 2)
            d = report.doc
            rows.append((t, d["skill_vs_naive"], d["dm_pvalue"], d["start"]["skill_vs_naive"],
                         d["inner_best_mean"], d["pbo"], d["deflated_sharpe"], wall))  # fmt: skip
            print(f"{t}: tuned {d['skill_vs_naive']:+.4f} (p {d['dm_pvalue']:.3f}) default"
                  f" {d['start']['skill_vs_naive']:+.4f} inner best {d['inner_best_mean']:+.4f}"
                  f" PBO {d['pbo']} DSR {d['deflated_sharpe']} {wall:.0f}s; {d['verdict']}",
                  flush=True)  # fmt: skip
    helped = sum(1 for r in rows if r[1] > r[3])
    print(f"tuning beat the default settings out of sample on {helped} of {len(rows)} tickers")


def _dask_share(trials: list[TrialRecord]) -> tuple[float, float]:
    """(sum of gaps between a worker's consecutive trials, sum of their compute), seconds."""
    by: dict[str, list[tuple[float, float]]] = {}
    for t in trials:
        if t.worker is not None and t.started_at is not None and t.finished_at is not None:
            by.setdefault(t.worker, []).append((t.started_at, t.finished_at))
    gaps = compute = 0.0
    for spans in by.values():
        spans.sort()
        compute += sum(b - a for a, b in spans)
        gaps += sum(max(0.0, nxt[0] - prev[1]) for prev, nxt in itertools.pairwise(spans))
    return gaps, compute


def case_throughput() -> None:
    cfg = TrainConfig(seed=0, epochs=5)
    bt = BacktestConfig(folds=2, test_size=0.2)
    s = TuneSettings(8, 2, "random", prune=False)
    rates = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp))
            import_csv(store, SAMPLE / "AAPL.csv", "AAPL")
            run_cfg = cfg if workers == 1 else cfg.replace(threads=0)
            report, wall = _tune(store, "AAPL", run_cfg, bt, s, workers)
            n = report.doc["trials"]
            rates[workers] = n / wall * 60
            gaps, compute = _dask_share(trials_of(store.conn, report.tune_id))
            share = f", Dask's share {gaps / compute:.1%} of a trial" if workers > 1 and compute else ""
            print(f"{workers} worker(s): {n} trials + {2 * len(report.doc['outer'])} refits in {wall:.1f}s,"
                  f" {rates[workers]:.1f} trials/min{share}", flush=True)  # fmt: skip
    print(f"2 workers / serial: {rates[2] / rates[1]:.2f}x (target >= 1.3x) on {cores()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", choices=("ar1", "rw", "tickers", "throughput", "all"), default="all")
    parser.add_argument("--trials", type=int, default=30, help="trials per outer fold")
    args = parser.parse_args()
    if args.case in ("ar1", "all"):
        case_synthetic("ar1", args.trials)
    if args.case in ("rw", "all"):
        case_synthetic("rw", args.trials)
    if args.case in ("throughput", "all"):
        case_throughput()
    if args.case in ("tickers", "all"):
        case_tickers(args.trials)


if __name__ == "__main__":
    main()
