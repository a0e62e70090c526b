"""`backtest --workers N`: the folds of a walk-forward (of every seed) as parallel tasks.

Each fold fits on rows before its own cutoff only, so running them apart gives the same
numbers as running them in order (tested). Workers get the frame once and return plain arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lstmcast.backtest.run import FoldRunner
from lstmcast.backtest.walkforward import FitFn, Fold, FoldRun, run_fold
from lstmcast.config import TrainConfig
from lstmcast.parallel.engine import Parallel, TaskOutcome
from lstmcast.parallel.stream import run_tasks
from lstmcast.prep.dataset import Frame
from lstmcast.runconfig import BacktestConfig


def fold_task(
    frame: Frame, backtest: BacktestConfig, train: dict[str, Any], fold: Fold, fit: FitFn | None = None
) -> FoldRun:
    return run_fold(TrainConfig.from_dict(train), frame, backtest, fold, fit)


def fold_runner(parallel: Parallel, on_fold: Callable[[int, int], None] | None = None) -> FoldRunner:
    """A FoldRunner on local worker processes (each with its share of the cores) or a Dask cluster."""

    def run(
        frame: Frame, bt: BacktestConfig, fit: FitFn | None, jobs: list[tuple[TrainConfig, Fold]]
    ) -> list[FoldRun]:
        keys = [f"fold-{cfg.seed}-{fold.index}" for cfg, fold in jobs]
        # Longest first (a fold fits on every row before its cutoff): the last wave is short.
        order = sorted(range(len(jobs)), key=lambda i: -(jobs[i][1].cutoff - jobs[i][1].lo))
        tasks = {
            keys[i]: {"train": jobs[i][0].replace(threads=0).to_dict(), "fold": jobs[i][1]} for i in order
        }
        shared: dict[str, Any] = {"frame": frame, "backtest": bt}
        if fit is not None:
            shared["fit"] = fit
        out: dict[str, FoldRun] = {}

        def done(outcome: TaskOutcome) -> None:
            if outcome.error is not None:
                raise outcome.error  # a fold that fails fails the backtest, as it would serially
            out[outcome.key] = outcome.value
            if on_fold:
                on_fold(len(out), len(keys))

        run_tasks(fold_task, tasks, shared, done, parallel)
        return [out[k] for k in keys]

    return run
