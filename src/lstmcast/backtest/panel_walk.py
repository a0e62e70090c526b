"""The universe walk-forward every panel target shares: blocks, (block, seed) fits, workers.

The test span (the last `--test-size` of the panel's dates with enough members' outcomes
known) is cut into `--folds` blocks. For each, the network is fitted on samples whose
outcome was known before the block (the last `--val` share of those dates for early
stopping and calibration only), each member's scaler fitted on the rows before the
validation dates (`universe.folds`). Each (block, seed) is one task, run here or on Dask
workers with their share of the cores; a task returns its block's forecasts in the
outcome's units (`universe.targets`). What the forecasts are judged by is the target's own
judge (backtest/panel.py), never this module's business.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.evaluation.multiple import SharpeMoments
from lstmcast.evaluation.panel import versus
from lstmcast.execution.engine import Parallel, TaskOutcome
from lstmcast.execution.stream import run_tasks
from lstmcast.jsonable import from_json_object
from lstmcast.runconfig import BacktestConfig
from lstmcast.store.db import Store
from lstmcast.universe.folds import BlockPlan, fold_inputs, plan_blocks
from lstmcast.universe.members import Survivorship, show_universe
from lstmcast.universe.panel import Panel, build_panel, check_fits, panel_size
from lstmcast.universe.targets import forecasts_of, learner_of


@dataclass(frozen=True)
class PanelFold:
    index: int
    train_end: str  # the last date whose outcome a training sample could know
    test_start: str
    test_end: str
    n_train: int
    n_val: int
    n_test: int
    best_epochs: list[int]  # per seed
    val_start: int  # the first validation row: the baselines fit before it and calibrate after


@dataclass(frozen=True)
class PanelFoldResult:
    """One (block, seed) fit, as a worker returns it: plain arrays and counts."""

    index: int
    seed: int
    t: np.ndarray  # the block's samples: date and member indices
    n: np.ndarray
    scores: np.ndarray  # the network's forecast at each, in the outcome's units
    truth: np.ndarray  # what it learned to score, realised at each (the fold's target scale)
    best_epoch: int
    n_train: int
    n_val: int
    val_start: int
    seconds: float


def panel_fold_task(
    panel: Panel,
    train: TrainConfig,
    first: int,
    ranked: np.ndarray,
    name: str,
    index: int,
    start: int,
    end: int,
    seed: int,
) -> PanelFoldResult:
    """Fit block `index` (rows [start, end)) with `seed` and forecast its samples: on a
    worker or here."""
    t0 = time.perf_counter()
    from lstmcast.training.panel import fit_fold, predict_fold, predict_panel  # torch: only here

    fold = fold_inputs(panel, train, start, end, first, ranked, name, index)
    fit = fit_fold(fold, train.replace(seed=seed))
    scores = predict_fold(fit, fold)
    val_scores = predict_panel(fit, fold.values, fold.val)
    made = forecasts_of(learner_of(train.target), fold.scale, scores, fold.test, val_scores, fold.val,
                        fold.outcome)  # fmt: skip
    return PanelFoldResult(
        index=index,
        seed=seed,
        t=fold.test[0],
        n=fold.test[1],
        scores=made,
        truth=fold.target[fold.test],
        best_epoch=fit.outcome.best_epoch,
        n_train=len(fold.train[0]),
        n_val=len(fold.val[0]),
        val_start=fold.val_start,
        seconds=time.perf_counter() - t0,
    )


@dataclass(frozen=True)
class WalkSummary:
    """One judged walk-forward on a universe in the terms every target shares: what a sweep
    ranks, a tune maximises and the trial register keeps (`store.trials`)."""

    metric: str  # what `value` is, in words
    value: float | None  # higher is better: a rank IC, or a QLIKE skill against the best baseline
    t: float | None  # its t-statistic, where it has one (a rank IC's Newey-West t)
    best_baseline: str
    dm_statistic: float | None  # pooled DM against the best baseline: negative, the network's loss is lower
    dm_pvalue: float | None
    net_sharpe: float | None  # the network's portfolio after costs, annualised (a ranking's)
    sharpe: SharpeMoments | None  # its daily net returns' moments, to deflate it later
    span: str  # the test dates judged: "first..last"
    verdict: str

    def against_best(self, pvalue: float | None) -> str:
        """Better than, worse than or the same as the best baseline at 5% with `pvalue` (this
        one, or adjusted): `evaluation.panel.versus`."""
        return versus(pvalue, self.dm_statistic)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> WalkSummary:
        """A summary from its JSON; a TypeError for one of another shape."""
        moments = doc.get("sharpe")
        if moments is not None and not isinstance(moments, dict):
            raise TypeError(f"sharpe is not a JSON object: {moments!r}")
        sharpe = None if moments is None else from_json_object(SharpeMoments, moments)
        names = {f.name for f in dataclasses.fields(cls)}
        if set(doc) != names:  # from_json_object would leave one out: here, it is another shape
            raise TypeError(f"not a walk summary: keys {sorted(doc)}")
        return from_json_object(cls, {**doc, "sharpe": sharpe})


@dataclass
class PanelRun:
    """A walk-forward's forecasts, for the target's judge."""

    universe: str
    survivorship: Survivorship
    panel: Panel
    train: TrainConfig
    config: BacktestConfig
    plan: BlockPlan
    spans: list[tuple[int, int]]  # each block's rows [start, end)
    outcome: np.ndarray  # (T, N) what is realised, in the forecasts' units
    by_seed: np.ndarray  # (seeds, T, N) the network's forecasts, NaN off the test samples
    truth: np.ndarray  # (T, N) the target it learned, realised (each fold's own scale)
    folds: list[PanelFold]
    seeds: list[int]
    size: str  # the panel's memory, in words

    @property
    def test_rows(self) -> slice:
        return slice(int(self.plan.test_rows[0]), int(self.plan.test_rows[-1]) + 1)


def walk_panel(
    store: Store,
    name: str,
    train: TrainConfig,
    config: BacktestConfig,
    on_fold: Callable[[int, int], None] | None = None,
    parallel: Parallel = Parallel(),
) -> PanelRun:
    """Fit every (block, seed) of universe `name` where `parallel` says and gather the forecasts."""
    universe = show_universe(store, name)
    return walk(build_panel(store, universe), universe.name, universe.survivorship, train, config, on_fold,
                parallel)  # fmt: skip


def walk(
    panel: Panel,
    name: str,
    survivorship: Survivorship,
    train: TrainConfig,
    config: BacktestConfig,
    on_fold: Callable[[int, int], None] | None = None,
    parallel: Parallel = Parallel(),
) -> PanelRun:
    """Walk `panel` (universe `name`'s, or the part of it before a cutoff) forward."""
    learner = learner_of(train.target)
    size = panel_size(len(panel.dates), len(panel.tickers), 1, train.window)
    check_fits(size)
    h = train.horizon
    outcome = learner.outcome(panel, h)
    plan = plan_blocks(panel, outcome, config, name, "a walk-forward")
    seeds = [train.seed + i for i in range(config.seeds)]
    spans = [(int(b[0]), int(b[-1]) + 1) for b in plan.blocks]
    # Later blocks fit on more history: they go first, so the last wave is short.
    tasks = {
        f"panel-fold-{i + 1}-seed-{seed}": {"index": i + 1, "start": start, "end": end, "seed": seed}
        for i, (start, end) in reversed(list(enumerate(spans)))
        for seed in seeds
    }
    shared = {
        "panel": panel,
        "train": train.replace(threads=0) if parallel.distributed else train,
        "first": plan.first,
        "ranked": plan.ranked,
        "name": name,
    }
    results: dict[tuple[int, int], PanelFoldResult] = {}

    def done(got: TaskOutcome[PanelFoldResult]) -> None:
        value = got.get()  # a block that fails fails the backtest, as it would serially
        results[(value.index, value.seed)] = value
        if on_fold:
            on_fold(len(results), len(tasks))

    run_tasks(panel_fold_task, tasks, shared, done, parallel)
    by_seed = np.full((len(seeds), *outcome.shape), np.nan)
    truth = np.full(outcome.shape, np.nan)
    folds: list[PanelFold] = []
    for i, (start, end) in enumerate(spans):
        mine = [results[(i + 1, seed)] for seed in seeds]
        truth[mine[0].t, mine[0].n] = mine[0].truth
        for s, got in enumerate(mine):
            by_seed[s][got.t, got.n] = got.scores
        first = mine[0]
        folds.append(
            PanelFold(
                i + 1,
                str(panel.dates[max(first.val_start - h - 1, 0)].date()),
                str(panel.dates[start].date()),
                str(panel.dates[end - 1].date()),
                first.n_train,
                first.n_val,
                len(first.t),
                [got.best_epoch for got in mine],
                first.val_start,
            )
        )
    return PanelRun(name, survivorship, panel, train, config, plan, spans, outcome, by_seed, truth, folds,
                    seeds, size.words())  # fmt: skip
