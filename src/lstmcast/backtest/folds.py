"""`backtest --workers N`: the folds of a walk-forward (every seed, any target) as parallel tasks.

Each fold fits on rows before its own cutoff only, so running them apart gives the same
numbers as running them in order (tested). Workers get the target's walk and its data once,
each fold as a typed `Fold` and `TrainConfig`, and return plain arrays.
"""

from __future__ import annotations

from collections.abc import Callable

from lstmcast.backtest.run import B, D, FoldRunner, R, Walk
from lstmcast.backtest.walkforward import Fold
from lstmcast.config import TrainConfig
from lstmcast.execution.engine import Parallel, TaskOutcome
from lstmcast.execution.stream import run_tasks
from lstmcast.runconfig import BacktestConfig


def fold_task(walk: Walk[D, R, B], data: D, backtest: BacktestConfig, train: TrainConfig, fold: Fold) -> R:
    """One seed's fold of any target's walk-forward, on a worker."""
    return walk.run_fold(train, data, backtest, fold)


def fold_runner(parallel: Parallel, on_fold: Callable[[int, int], None] | None = None) -> FoldRunner:
    """A FoldRunner on local worker processes (each with its share of the cores) or a Dask cluster."""

    def run(
        walk: Walk[D, R, B], data: D, bt: BacktestConfig, jobs: list[tuple[TrainConfig, Fold]]
    ) -> list[R]:
        keys = [f"fold-{cfg.seed}-{fold.index}" for cfg, fold in jobs]
        # Longest first (a fold fits on every row before its cutoff): the last wave is short.
        order = sorted(range(len(jobs)), key=lambda i: -(jobs[i][1].cutoff - jobs[i][1].lo))
        tasks = {keys[i]: {"train": jobs[i][0].replace(threads=0), "fold": jobs[i][1]} for i in order}
        shared: dict[str, object] = {"walk": walk, "data": data, "backtest": bt}
        out: dict[str, R] = {}

        def done(outcome: TaskOutcome[R]) -> None:
            out[outcome.key] = outcome.get()  # a fold that fails fails the backtest, as it would serially
            if on_fold:
                on_fold(len(out), len(keys))

        run_tasks(fold_task, tasks, shared, done, parallel)
        return [out[k] for k in keys]

    return run
