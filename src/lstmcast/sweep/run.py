"""Sweeps: one walk-forward backtest per ticker x model x seed, and an honest leaderboard.

A cell is a pure function of (configs, bars, seed): the same computation as `lstmcast
backtest` with that seed. The driver reads the bars once, skips cells already in the store
(keyed by config, data and seed), writes each finished cell in its own transaction, and ranks
ticker x model rows with p-values adjusted for every comparison in the sweep.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.config import TrainConfig
from lstmcast.data.series import load_inputs
from lstmcast.errors import DamagedError, NotFoundError
from lstmcast.execution.engine import Parallel, TaskOutcome, cores
from lstmcast.execution.stream import run_tasks
from lstmcast.fingerprint import data_fingerprint, fingerprint
from lstmcast.jsonable import from_json_object
from lstmcast.runconfig import BacktestConfig, RunConfig
from lstmcast.store.db import Store
from lstmcast.store.sweeps import StoredCell, SweepRecord, finished_cells, get_sweep, save_cell, save_sweep
from lstmcast.sweep.cells import Cell, CellResult, Ran, ReturnCell, VolCell, from_json, to_json
from lstmcast.sweep.leaderboard import ReturnRow, leaderboard
from lstmcast.sweep.volatility import VolRow, run_vol_cell
from lstmcast.target import target_of

# Bumped whenever what a cell returns changes: cells stored by an older lstmcast are then
# recomputed instead of read back without the fields the leaderboard needs.
CELL_FORMAT = 3  # 3: the volatility baselines refitted inside blocks, log-HAR the benchmark


@dataclass(frozen=True)
class CellTask:
    """One sweep cell as a worker gets it: the ticker, the train config with the cell's seed,
    and the backtest config of one seed (the sweep's seeds are its cells)."""

    ticker: str
    train: TrainConfig
    backtest: BacktestConfig


def run_cell(bars: dict[str, pd.DataFrame], task: CellTask) -> CellResult:
    """One walk-forward backtest, as `lstmcast backtest TICKER --seed SEED` runs it: this
    seed's own metrics, and every forecaster's forecasts with what happened, from which the
    leaderboard judges the seeds' average forecast; and where and when it ran."""
    import torch

    t0, started_at = time.perf_counter(), time.time()
    cfg = task.train
    result = _RUNNERS[target_of(cfg.target).family](bars, task.ticker, cfg, task.backtest)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    ran = Ran(worker, torch.get_num_threads(), time.perf_counter() - t0, started_at, time.time())
    return dataclasses.replace(result, ran=ran)


def run_return_cell(
    bars: dict[str, pd.DataFrame], ticker: str, cfg: TrainConfig, bt: BacktestConfig
) -> ReturnCell:
    """One return backtest with one seed: its own scores, every forecaster's forecasts
    (N, H) in target units and what happened."""
    from lstmcast.backtest.run import ReturnWalk, run_walk
    from lstmcast.data.series import Series
    from lstmcast.evaluation.scoring import actuals

    result = run_walk(ReturnWalk(), cfg, bt, Series(ticker, bars[ticker], "sweep"))
    run = result.outcome.first
    frame, at = result.frame, run.wf.at
    truth, _ = actuals(frame, at, cfg.horizon)
    model = run.scores.target["model"]
    return ReturnCell(
        cfg.target,
        model.skill_vs_naive,  # this seed's own forecast
        run.dm_pvalue if math.isfinite(run.dm_pvalue) else None,
        model.directional_accuracy,
        run.strategy.stats.sharpe,
        dict(run.wf.preds),  # name -> (N, H), target units
        truth,
        frame.price[at],
        np.log(frame.price[at + 1] / frame.price[at]),  # earned over t -> t+1
    )


# One seed's backtest of a cell, per family of target a sweep runs.
_RUNNERS: dict[str, Callable[[dict[str, pd.DataFrame], str, TrainConfig, BacktestConfig], CellResult]] = {
    "return": run_return_cell,
    "volatility": run_vol_cell,
}


@dataclass
class SweepReport:
    sweep_id: str
    workers: int
    threads_per_worker: int | None  # None: each remote worker's own share
    wall_seconds: float
    cells: list[dict[str, object]]  # each cell as --json shows it (`_public`)
    leaderboard: list[ReturnRow] | list[VolRow]
    adjust: str
    beat_naive: int = 0  # leaderboard rows better than the random walk after adjustment

    @property
    def beat_best(self) -> int:
        """Rows that also beat their best baseline after adjustment."""
        return sum(1 for r in self.leaderboard if isinstance(r, ReturnRow) and r.beats_best)

    failed: list[str] = field(default_factory=list)
    startup_seconds: float = 0.0  # starting the cluster and shipping the bars to it


def sweep(
    store: Store,
    run: RunConfig,
    models: tuple[str, ...],
    seeds: int,
    parallel: Parallel = Parallel(),
    adjust: str = "bh",
    on_cell: Callable[[Cell], None] | None = None,
) -> SweepReport:
    """Every (ticker, model, seed) cell, resumed from the store, then the leaderboard."""
    store.require_writable()
    t0 = time.perf_counter()
    series = load_inputs(store, run.tickers, run.csv, ())
    bars = {s.ticker: s.bars for s in series}
    # On workers, each task gets its worker's share of the cores (set by the engine).
    base = run.train.replace(threads=0) if parallel.distributed else run.train
    one_seed = dataclasses.replace(run.backtest, seeds=1)  # a cell is one seed's backtest
    bt = {k: v for k, v in dataclasses.asdict(one_seed).items() if k != "seeds"}  # what keys a cell
    planned: dict[str, tuple[Cell, TrainConfig]] = {}
    for ticker in bars:
        for model in models:
            cfg = base.replace(model=model).validate()
            for i in range(seeds):
                seed = run.train.seed + i
                key = fingerprint(
                    [
                        CELL_FORMAT,
                        cfg.replace(seed=0, threads=0).to_dict(),
                        bt,
                        ticker,
                        data_fingerprint(bars[ticker]),
                        seed,
                    ]
                )
                planned[key] = (Cell(key, ticker, model, seed, "planned"), cfg.replace(seed=seed))
    sweep_id = fingerprint([sorted(planned), run.train.to_dict(), bt])
    config: dict[str, object] = {"train": base.to_dict(), "backtest": bt, "adjust": adjust}
    save_sweep(store.conn, SweepRecord(sweep_id, list(bars), list(models), seeds, config, list(planned)))
    results: dict[str, Cell] = {}
    for key, row in finished_cells(store.conn, list(planned)).items():
        if row.status == "ok":
            results[key] = _stored(planned[key][0], row)
            if on_cell:
                on_cell(results[key])
    todo = {
        k: {"task": CellTask(cell.ticker, cfg, one_seed)}
        for k, (cell, cfg) in planned.items()
        if k not in results
    }

    def finished(outcome: TaskOutcome[CellResult]) -> None:
        cell = dataclasses.replace(planned[outcome.key][0], seconds=outcome.seconds)
        if outcome.error is None:
            cell = dataclasses.replace(cell, status="ok", result=outcome.value)
        else:
            cell = dataclasses.replace(
                cell, status="failed", error=f"{type(outcome.error).__name__}: {outcome.error}"
            )
        result = {} if cell.result is None else to_json(cell.result)
        # The driver writes, one transaction per cell, as it arrives.
        save_cell(store.conn, cell.key, cell.ticker, cell.model, cell.seed, cell.status, cell.error, result,
                  cell.seconds)  # fmt: skip
        results[outcome.key] = cell
        if on_cell:
            on_cell(cell)

    startup = run_tasks(run_cell, todo, {"bars": bars}, finished, parallel) if todo else 0.0
    ordered = [results[k] for k in planned if k in results]
    board, beat = leaderboard(ordered, adjust, run.backtest)
    return SweepReport(
        sweep_id=sweep_id,
        workers=parallel.workers,
        threads_per_worker=parallel.threads_per_worker()
        if parallel.distributed
        else (base.threads or cores()),
        wall_seconds=time.perf_counter() - t0,
        cells=[_public(c) for c in ordered],
        leaderboard=board,
        adjust=adjust,
        beat_naive=beat,
        failed=[f"{c.ticker} {c.model} seed {c.seed}: {c.error}" for c in ordered if c.status != "ok"],
        startup_seconds=startup,
    )


def _stored(cell: Cell, row: StoredCell) -> Cell:
    """A cell as the store holds it, typed again."""
    result = from_json(row.result, cell.ticker, cell.model) if row.status == "ok" else None
    return dataclasses.replace(
        cell, status=row.status, result=result, error=row.error, seconds=row.seconds, resumed=True
    )


def _public(cell: Cell) -> dict[str, object]:
    """A cell as `--json` shows it: that seed's own numbers (the leaderboard judges the seeds'
    average forecast instead)."""
    res = cell.result
    returns = res if isinstance(res, ReturnCell) else None
    out: dict[str, object] = {
        "ticker": cell.ticker,
        "model": cell.model,
        "seed": cell.seed,
        "status": cell.status,
        "resumed": cell.resumed,
        "skill_vs_naive": returns.skill_vs_naive if returns else None,
        "skill_vs_har": res.skill_vs_har if isinstance(res, VolCell) else None,  # volatility cells
        "dm_pvalue": returns.dm_pvalue if returns else None,
        "directional_accuracy": returns.directional_accuracy if returns else None,
        "sharpe": returns.sharpe if returns else None,
        "seconds": cell.seconds,
        "threads": res.ran.threads if res else None,
    }
    if cell.status != "ok":
        out["error"] = cell.error
    return out


def stored_sweep(store: Store, sweep_id: str) -> SweepReport:
    """A past sweep from the store, every cell as it was saved, nothing recomputed."""
    found = get_sweep(store.conn, sweep_id)
    if found is None:
        raise NotFoundError(f"no sweep {sweep_id!r}; `lstmcast sweeps` lists them")
    if found.damaged:
        raise DamagedError(f"sweep {sweep_id} is damaged in the store: {found.damaged}; run the sweep again")
    stored = finished_cells(store.conn, found.cells)
    cells = [
        _stored(Cell(k, stored[k].ticker, stored[k].model, stored[k].seed, "stored"), stored[k])
        for k in found.cells
        if k in stored
    ]
    adjust = str(found.config.get("adjust", "bh"))  # sweeps stored before 0.2 kept no --adjust: they used BH
    backtest = found.config["backtest"]
    assert isinstance(backtest, dict)  # as save_sweep wrote it
    bt = dataclasses.replace(from_json_object(BacktestConfig, backtest), seeds=found.seeds)
    board, beat = leaderboard(cells, adjust, bt)
    return SweepReport(
        sweep_id=sweep_id,
        workers=0,
        threads_per_worker=None,
        wall_seconds=0.0,
        cells=[_public(c) for c in cells],
        leaderboard=board,
        adjust=adjust,
        beat_naive=beat,
        failed=[f"{c.ticker} {c.model} seed {c.seed}: {c.error}" for c in cells if c.status != "ok"],
    )
