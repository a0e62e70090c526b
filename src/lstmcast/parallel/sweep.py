"""Sweeps: one walk-forward backtest per ticker x model x seed, and an honest leaderboard.

A cell is a pure function of (configs, bars, seed): the same computation as `lstmcast
backtest` with that seed. The driver reads the bars once, skips cells already in the store
(keyed by config, data and seed), writes each finished cell in its own transaction, and ranks
ticker x model rows with p-values adjusted for every comparison in the sweep.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lstmcast.config import BacktestConfig, RunConfig, TrainConfig
from lstmcast.data.series import load_inputs
from lstmcast.evaluation.multiple import benjamini_hochberg, deflated_sharpe, holm
from lstmcast.evaluation.stats import diebold_mariano
from lstmcast.parallel.engine import TaskOutcome, run_tasks
from lstmcast.store.db import Store
from lstmcast.store.sweeps import finished_cells, save_cell, save_sweep

ADJUSTMENTS = ("bh", "holm")
SIGNIFICANCE = 0.05


def run_cell(
    bars: dict[str, pd.DataFrame], ticker: str, train: dict[str, Any], backtest: dict[str, Any], seed: int
) -> dict[str, Any]:
    """One walk-forward backtest, as `lstmcast backtest TICKER --seed SEED` runs it. Plain in,
    plain out: metrics, and the one-step errors and strategy returns the leaderboard needs."""
    import torch

    from lstmcast.backtest.run import backtest as run_backtest
    from lstmcast.data.series import Series
    from lstmcast.evaluation.report import actuals

    t0, started_at = time.perf_counter(), time.time()
    cfg = TrainConfig.from_dict(train).replace(seed=seed)
    bt = BacktestConfig(**{**backtest, "seeds": 1})
    result = run_backtest(cfg, bt, Series(ticker, bars[ticker], "sweep"))
    run = result.first
    truth, _ = actuals(result.frame, run.wf.at, 1)
    model = run.scores.target["model"]
    return {
        "skill_vs_naive": model.skill_vs_naive,
        "dm_pvalue": run.dm_pvalue if math.isfinite(run.dm_pvalue) else None,
        "directional_accuracy": model.directional_accuracy,
        "sharpe": run.strategy.stats.sharpe,
        "model_errors": (run.wf.preds["model"][:, 0] - truth[:, 0]).tolist(),
        "naive_errors": (run.wf.preds["naive"][:, 0] - truth[:, 0]).tolist(),
        "strategy_returns": np.asarray(run.strategy.returns, dtype="float64").tolist(),
        "threads": torch.get_num_threads(),
        "seconds": time.perf_counter() - t0,
        # Where and when it ran (wall clock): how benchmarks/bench_sweep.py tells Dask's gaps
        # between a worker's cells from the cells themselves.
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "started_at": started_at,
        "finished_at": time.time(),
    }


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def data_fingerprint(bars: pd.DataFrame) -> str:
    h = hashlib.sha256(pd.util.hash_pandas_object(bars, index=True).to_numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class SweepReport:
    sweep_id: str
    workers: int
    wall_seconds: float
    cells: list[dict[str, Any]]
    leaderboard: list[dict[str, Any]]
    adjust: str
    beat_naive: int = 0  # leaderboard rows better than the random walk after adjustment
    failed: list[str] = field(default_factory=list)
    startup_seconds: float = 0.0  # starting the cluster and shipping the bars to it


def sweep(
    store: Store,
    run: RunConfig,
    models: tuple[str, ...],
    seeds: int,
    workers: int = 1,
    cluster: str | None = None,
    adjust: str = "bh",
    on_cell: Callable[[dict[str, Any]], None] | None = None,
) -> SweepReport:
    """Every (ticker, model, seed) cell, resumed from the store, then the leaderboard."""
    t0 = time.perf_counter()
    series = load_inputs(store, run.tickers, run.csv, ())
    bars = {s.ticker: s.bars for s in series}
    parallel = workers > 1 or cluster is not None
    base = run.train.replace(threads=1 if parallel else run.train.threads)  # one thread per worker
    bt = {k: v for k, v in run.backtest.__dict__.items() if k != "seeds"}
    cells: dict[str, dict[str, Any]] = {}
    for ticker in bars:
        for model in models:
            cfg = base.replace(model=model).validate()
            for i in range(seeds):
                seed = run.train.seed + i
                key = _fingerprint(
                    [
                        cfg.replace(seed=0, threads=0).to_dict(),
                        bt,
                        ticker,
                        data_fingerprint(bars[ticker]),
                        seed,
                    ]
                )
                cells[key] = {
                    "cell_key": key,
                    "ticker": ticker,
                    "model": model,
                    "seed": seed,
                    "train": cfg.to_dict(),
                }
    sweep_id = _fingerprint([sorted(cells), run.train.to_dict(), bt])
    record = {
        "id": sweep_id,
        "tickers": list(bars),
        "models": list(models),
        "seeds": seeds,
        "config": {"train": base.to_dict(), "backtest": bt},
        "cells": list(cells),
    }
    save_sweep(store.conn, record)
    done = finished_cells(store.conn, list(cells))
    results: dict[str, dict[str, Any]] = {}
    for key, row in done.items():
        if row["status"] == "ok":
            results[key] = {**cells[key], **row, "resumed": True}
            if on_cell:
                on_cell(results[key])
    todo = {
        k: {"ticker": c["ticker"], "train": c["train"], "backtest": bt, "seed": c["seed"]}
        for k, c in cells.items()
        if k not in results
    }

    def finished(outcome: TaskOutcome) -> None:
        cell = {**cells[outcome.key], "resumed": False, "seconds": outcome.seconds}
        if outcome.error is None:
            cell.update(status="ok", result=outcome.value, error=None)
        else:
            cell.update(status="failed", result={}, error=f"{type(outcome.error).__name__}: {outcome.error}")
        save_cell(store.conn, cell)  # the driver writes, one transaction per cell, as it arrives
        results[outcome.key] = cell
        if on_cell:
            on_cell(cell)

    startup = run_tasks(run_cell, todo, {"bars": bars}, finished, workers, cluster) if todo else 0.0
    ordered = [results[k] for k in cells if k in results]
    board, beat = leaderboard(ordered, adjust)
    return SweepReport(
        sweep_id=sweep_id,
        workers=workers,
        wall_seconds=time.perf_counter() - t0,
        cells=[_public(c, board) for c in ordered],
        leaderboard=board,
        adjust=adjust,
        beat_naive=beat,
        failed=[
            f"{c['ticker']} {c['model']} seed {c['seed']}: {c['error']}"
            for c in ordered
            if c["status"] != "ok"
        ],
        startup_seconds=startup,
    )


def leaderboard(cells: list[dict[str, Any]], adjust: str = "bh") -> tuple[list[dict[str, Any]], int]:
    """One row per ticker x model: skill over seeds, DM of the seed-averaged forecast against
    naive, that p adjusted for every row, directional accuracy, Sharpe and deflated Sharpe."""
    ok = [c for c in cells if c["status"] == "ok"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in ok:
        groups.setdefault((c["ticker"], c["model"]), []).append(c)
    per_period = [_per_period_sharpe(c["result"]["strategy_returns"]) for c in ok]
    sr_var = float(np.nanvar(per_period, ddof=1)) if len(per_period) > 1 else 0.0
    rows: list[dict[str, Any]] = []
    for (ticker, model), group in groups.items():
        skills = [g["result"]["skill_vs_naive"] for g in group]
        errors = np.mean([g["result"]["model_errors"] for g in group], axis=0)  # the seeds' average forecast
        _, p = diebold_mariano(errors, np.asarray(group[0]["result"]["naive_errors"]))
        best = max(group, key=lambda g: g["result"]["sharpe"] if g["result"]["sharpe"] is not None else -1e9)
        best_returns = np.asarray(best["result"]["strategy_returns"])
        rows.append(
            {
                "ticker": ticker,
                "model": model,
                "seeds": len(group),
                "skill_vs_naive": float(np.mean(skills)),
                "skill_std": float(np.std(skills, ddof=1)) if len(skills) > 1 else 0.0,
                "dm_pvalue": None if math.isnan(p) else float(p),
                "directional_accuracy": _mean([g["result"]["directional_accuracy"] for g in group]),
                "sharpe": _mean([g["result"]["sharpe"] for g in group]),
                "deflated_sharpe": deflated_sharpe(best_returns, len(ok), sr_var),
            }
        )
    adjusted = (holm if adjust == "holm" else benjamini_hochberg)([r["dm_pvalue"] for r in rows])
    for r, a in zip(rows, adjusted, strict=True):
        r["dm_pvalue_adjusted"] = a
    beat = sum(
        1
        for r in rows
        if r["skill_vs_naive"] > 0
        and r["dm_pvalue_adjusted"] is not None
        and r["dm_pvalue_adjusted"] < SIGNIFICANCE
    )
    rows.sort(key=lambda r: -r["skill_vs_naive"])
    return rows, beat


def _per_period_sharpe(returns: list[float]) -> float:
    r = np.asarray(returns, dtype="float64")
    return float(r.mean() / r.std(ddof=1)) if len(r) > 2 and r.std(ddof=1) > 0 else math.nan


def _mean(values: list[Any]) -> float | None:
    v = [float(x) for x in values if x is not None]
    return float(np.mean(v)) if v else None


def _public(cell: dict[str, Any], board: list[dict[str, Any]]) -> dict[str, Any]:
    """A cell as `--json` shows it: its numbers, with its row's adjusted p and deflated Sharpe."""
    res = cell.get("result") or {}
    row = next((r for r in board if (r["ticker"], r["model"]) == (cell["ticker"], cell["model"])), {})
    out = {
        "ticker": cell["ticker"],
        "model": cell["model"],
        "seed": cell["seed"],
        "status": cell["status"],
        "resumed": cell.get("resumed", False),
        "skill_vs_naive": res.get("skill_vs_naive"),
        "dm_pvalue": res.get("dm_pvalue"),
        "dm_pvalue_adjusted": row.get("dm_pvalue_adjusted"),
        "directional_accuracy": res.get("directional_accuracy"),
        "sharpe": res.get("sharpe"),
        "deflated_sharpe": row.get("deflated_sharpe"),
        "seconds": cell.get("seconds"),
        "threads": res.get("threads"),
    }
    if cell["status"] != "ok":
        out["error"] = cell.get("error")
    return out


def stored_sweep(store: Store, sweep_id: str) -> SweepReport:
    """A past sweep from the store, every cell as it was saved, nothing recomputed."""
    from lstmcast.errors import NotFoundError
    from lstmcast.store.sweeps import get_sweep

    found = get_sweep(store.conn, sweep_id)
    if found is None:
        raise NotFoundError(f"no sweep {sweep_id!r}; `lstmcast sweeps` lists them")
    stored = finished_cells(store.conn, found["cells"])
    cells = [{**stored[k], "resumed": True} for k in found["cells"] if k in stored]
    board, beat = leaderboard(cells)
    return SweepReport(
        sweep_id=sweep_id,
        workers=0,
        wall_seconds=0.0,
        cells=[_public(c, board) for c in cells],
        leaderboard=board,
        adjust="bh",
        beat_naive=beat,
        failed=[
            f"{c['ticker']} {c['model']} seed {c['seed']}: {c['error']}" for c in cells if c["status"] != "ok"
        ],
    )
