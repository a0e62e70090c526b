"""`backtest`: the one walk-forward driver for every target (`run_walk`), and the return
target's part of it: every seed scored, the verdict, the trading simulation and intervals."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from lstmcast.backtest.result import Backtest, Outcome
from lstmcast.backtest.strategy import Simulation, positions_from, simulate
from lstmcast.backtest.volatility import VolatilityWalk
from lstmcast.backtest.walkforward import (
    FitFn,
    Fold,
    FoldRun,
    FoldSummary,
    WalkForward,
    assemble,
    plan_folds,
    run_fold,
)
from lstmcast.config import INTERVAL_LEVELS, TrainConfig
from lstmcast.data.series import Series
from lstmcast.evaluation.intervals import IntervalReport, OnlineIntervals, online_intervals, score_intervals
from lstmcast.evaluation.scoring import (
    BlockForecasts,
    Scores,
    actuals,
    dm_vs_naive,
    har_sigma,
    origin_sigma,
    path_errors,
    score_block,
    to_price,
)
from lstmcast.evaluation.verdict import Verdict, judge
from lstmcast.prep.dataset import Frame
from lstmcast.prep.inputs import frame_for
from lstmcast.runconfig import BacktestConfig, RunConfig
from lstmcast.settings import TARGETS


@dataclass
class SeedOutcome:
    wf: WalkForward
    scores: Scores
    dm_stat: float
    dm_pvalue: float
    strategy: Simulation
    buy_and_hold: Simulation
    intervals: OnlineIntervals
    interval_scores: IntervalReport  # the one-step intervals at each level


@dataclass
class ReturnOutcome:
    """The return and price targets' part of a backtest: every seed's walk-forward, scored,
    their spread, and the one verdict on the forecast a user would deploy (the seeds' average)
    against the random walk and the best baseline."""

    runs: list[SeedOutcome]
    across_seeds: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    verdict: Verdict | None = None

    @property
    def first(self) -> SeedOutcome:
        return self.runs[0]

    def n_predictions(self) -> int:
        return len(self.first.wf.at)

    def period(self, frame: Frame, horizon: int) -> list[str]:
        at = self.first.wf.at
        return [str(frame.dates[at[0] + 1].date()), str(frame.dates[at[-1] + 1].date())]

    def to_json(self, result: Backtest[Outcome]) -> dict[str, object]:
        """The first seed in detail; `across_seeds` summarises all."""
        r, bt = self.first, result.bt
        asdict = dataclasses.asdict
        return {
            "global_with": result.members,
            "pooled": {k: asdict(v) for k, v in r.scores.target.items()},
            "pooled_price": {k: asdict(v) for k, v in r.scores.price.items()},
            "per_step": r.scores.per_step,
            "dm_statistic": _none(r.dm_stat),
            "dm_pvalue": _none(r.dm_pvalue),
            "verdict": self.verdict.to_json() if self.verdict else None,
            "strategy": asdict(r.strategy.stats),
            "buy_and_hold": asdict(r.buy_and_hold.stats),
            "rule": bt.rule,
            "threshold": bt.threshold,
            "cost_bps": bt.cost_bps,
            "across_seeds": self.across_seeds,
            "intervals": r.interval_scores.to_json(),
        }


ReturnBacktest = Backtest[ReturnOutcome]


def _none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def step1_log_return(frame: Frame, at: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The forecast one-step log return, whatever the target."""
    return np.log(to_price(frame, at, y)[:, 0] / frame.price[at])


def score_seed(frame: Frame, wf: WalkForward, bt: BacktestConfig) -> SeedOutcome:
    block = BlockForecasts(wf.at, wf.preds, wf.scale)
    scores = score_block(frame, block)
    stat, p = dm_vs_naive(frame, block)
    realised = np.log(frame.price[wf.at + 1] / frame.price[wf.at])  # earned over t -> t+1
    forecast = step1_log_return(frame, wf.at, wf.preds["model"])
    strat = simulate(positions_from(forecast, bt.rule, bt.threshold), realised, bt.cost_bps)
    hold = simulate(np.ones(len(wf.at)), realised, bt.cost_bps)
    intervals, interval_scores = walk_forward_intervals(frame, wf, bt.intervals)
    return SeedOutcome(wf, scores, stat, p, strat, hold, intervals, interval_scores)


def walk_forward_intervals(
    frame: Frame,
    wf: WalkForward,
    method: str,
    levels: tuple[float, ...] = INTERVAL_LEVELS,
    shrink: float | None = None,
) -> tuple[OnlineIntervals, IntervalReport]:
    """Intervals for every walk-forward forecast, each built bar by bar from errors already
    realised at its origin (seeded by the first fit's validation errors), and how the
    one-step ones did at each level."""
    errors = path_errors(frame, wf.at, wf.preds["model"])
    sigma = origin_sigma(frame, wf.at, shrink)  # the ex-ante volatility the terciles are of
    seed_err = path_errors(frame, wf.calib_at, wf.calib_preds)
    seed_err = np.where(
        wf.calib_at[:, None] + np.arange(1, errors.shape[1] + 1) < wf.at[0] + 1, seed_err, np.nan
    )
    scale, seed_scale = sigma, origin_sigma(frame, wf.calib_at, shrink)
    if method == "vol":
        scale, seed_scale = vol_scales(frame, wf)
    online = online_intervals(wf.at, errors, scale, seed_err, seed_scale, method, levels)
    scores = {
        f"{level * 100:g}": score_intervals(
            online.lower[level][:, 0], online.upper[level][:, 0], errors[:, 0], sigma, level
        )
        for level in levels
    }
    return online, IntervalReport(method, scores)


def vol_scales(frame: Frame, wf: WalkForward) -> tuple[np.ndarray, np.ndarray]:
    """HAR's volatility at every walk-forward origin, refitted per fold on the rows before the
    fold's first target, and at the seed origins from a fit on the rows before the first of
    them: nothing after an origin's fold cutoff reaches its scale."""
    scale = np.empty(len(wf.at))
    for k in np.unique(wf.fold_of):
        mine = wf.fold_of == k
        cutoff = int(wf.at[mine].min()) + 1
        scale[mine] = har_sigma(frame, wf.at[mine], cutoff)
    seed_end = int(wf.calib_at.min()) + 1 if len(wf.calib_at) else 0
    return scale, har_sigma(frame, wf.calib_at, seed_end)


def _summary(runs: list[SeedOutcome]) -> dict[str, dict[str, dict[str, float]]]:
    def ms(values: list[float | None]) -> dict[str, float]:
        v = np.array([np.nan if x is None else x for x in values], dtype="float64")
        if np.isnan(v).all():
            return {"mean": math.nan, "std": math.nan}
        return {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0}

    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in runs[0].scores.target:
        ms_t = [o.scores.target[name] for o in runs]
        out[name] = {
            k: ms([getattr(m, k) for m in ms_t])
            for k in ("mae", "rmse", "mase", "rel_mae", "directional_accuracy", "skill_vs_naive")
        }
        out[name]["mape"] = ms([o.scores.price[name].mape for o in runs])
    # No mean of p-values here: an average p-value is not a p-value. The seeds' average
    # forecast is tested instead (ReturnOutcome.verdict).
    out["strategy"] = {
        k: ms([getattr(o.strategy.stats, k) for o in runs])
        for k in ("total_return", "cagr", "sharpe", "max_drawdown", "turnover", "trades")
    }
    return out


@dataclass(frozen=True)
class ReturnData:
    """What every fold of a return walk-forward reads: the frame, and a global model's fit
    (the other members' rows before each cutoff), or None. Sent to each worker once."""

    frame: Frame
    fit: FitFn | None = None
    members: tuple[str, ...] = ()


D = TypeVar("D")
R = TypeVar("R")
B = TypeVar("B", covariant=True)


class Walk(Protocol[D, R, B]):
    """A target's part of the one walk-forward: the data its folds read, one seed's fold (run
    anywhere: it depends on rows before its cutoff only), and every seed's folds judged
    together. The driver (`run_walk`) owns the folds, the seeds and where they run."""

    def prepare(self, cfg: TrainConfig, series: Series, others: list[Series]) -> tuple[TrainConfig, D]: ...

    def frame_of(self, data: D) -> Frame: ...

    def run_fold(self, cfg: TrainConfig, data: D, bt: BacktestConfig, fold: Fold) -> R: ...

    def finish(
        self, cfg: TrainConfig, bt: BacktestConfig, series: Series, data: D, runs: list[list[R]]
    ) -> B: ...


class ReturnWalk:
    """The return and price targets' part: fits on each fold's past (one global model with
    `others`), every seed's walk-forward scored, the verdict on the seeds' average."""

    def prepare(
        self, cfg: TrainConfig, series: Series, others: list[Series]
    ) -> tuple[TrainConfig, ReturnData]:
        fit = None
        if others:
            from lstmcast.backtest.pooled_folds import fold_fitter

            if cfg.ticker_embedding:
                cfg = cfg.replace(embedding_tickers=(series.ticker, *(o.ticker for o in others)))
            fit = fold_fitter(
                series.ticker, {o.ticker: frame_for(cfg, o.bars, o.exog, o.ticker) for o in others}
            )
        frame = frame_for(cfg, series.bars, series.exog, series.ticker)
        return cfg, ReturnData(frame, fit, tuple(o.ticker for o in others))

    def frame_of(self, data: ReturnData) -> Frame:
        return data.frame

    def run_fold(self, cfg: TrainConfig, data: ReturnData, bt: BacktestConfig, fold: Fold) -> FoldRun:
        return run_fold(cfg, data.frame, bt, fold, data.fit)

    def finish(
        self,
        cfg: TrainConfig,
        bt: BacktestConfig,
        series: Series,
        data: ReturnData,
        runs: list[list[FoldRun]],
    ) -> ReturnBacktest:
        frame = data.frame
        outcomes = [score_seed(frame, assemble(cfg.seed + i, r), bt) for i, r in enumerate(runs)]
        verdict = seed_average_verdict(frame, [o.wf for o in outcomes])
        outcome = ReturnOutcome(outcomes, _summary(outcomes), verdict)
        folds: list[FoldSummary[Any]] = list(outcomes[0].wf.folds)
        return Backtest(series.ticker, cfg, bt, frame, folds, outcome, list(data.members))


WALKS: dict[str, Walk[Any, Any, Backtest[Outcome]]] = {
    "log_return": ReturnWalk(),
    "price": ReturnWalk(),
    "volatility": VolatilityWalk(),
}
assert set(WALKS) == set(TARGETS)


class FoldRunner(Protocol):
    """Runs (seed config, fold) jobs of a walk somewhere and returns what each produced, in
    order: the seam through which `backtest.folds` runs them on the execution engine (Dask),
    so that this driver imports neither."""

    def __call__(
        self, walk: Walk[D, R, B], data: D, bt: BacktestConfig, jobs: list[tuple[TrainConfig, Fold]]
    ) -> list[R]: ...


def run_walk(
    walk: Walk[D, R, B],
    cfg: TrainConfig,
    bt: BacktestConfig,
    series: Series,
    others: list[Series] | None = None,
    run_folds: FoldRunner | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> B:
    """The one walk-forward: `bt.seeds` seeds (cfg.seed, cfg.seed+1, ...) by `bt.folds` folds,
    each fitted on rows before its own cutoff, then judged by the target's walk.

    Every fold of every seed depends on rows before its own cutoff only: `run_folds` may run
    them in parallel, and the result is the same as one after another. `on_fold(done, total)`
    hears of each fold run here (a parallel `run_folds` reports its own)."""
    RunConfig(train=cfg, backtest=bt).validate()
    cfg, data = walk.prepare(cfg, series, others or [])
    frame = walk.frame_of(data)
    seeds = [cfg.replace(seed=cfg.seed + i) for i in range(bt.seeds)]
    jobs = [(c, fold) for c in seeds for fold in plan_folds(frame, c, bt)]
    if run_folds is None:
        done: list[R] = []
        for c, fold in jobs:
            done.append(walk.run_fold(c, data, bt, fold))
            if on_fold:
                on_fold(len(done), len(jobs))
    else:
        done = run_folds(walk, data, bt, jobs)
    runs = [[r for (j, _), r in zip(jobs, done, strict=True) if j is c] for c in seeds]
    return walk.finish(cfg, bt, series, data, runs)


def backtest(
    cfg: TrainConfig,
    bt: BacktestConfig,
    series: Series,
    others: list[Series] | None = None,
    run_folds: FoldRunner | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> Backtest[Outcome]:
    """Walk-forward `series` for the config's target (with `others`: one global model on every
    member's rows before each cutoff, scored on `series`)."""
    return run_walk(WALKS[cfg.target], cfg, bt, series, others, run_folds, on_fold)


def seed_average_verdict(frame: Frame, walks: list[WalkForward]) -> Verdict:
    """The verdict on the seeds' average forecast (the one forecast a user would deploy from
    several seeds), against the baselines, which do not depend on the seed."""
    first = walks[0]
    model = np.mean([w.preds["model"] for w in walks], axis=0)
    truth, _ = actuals(frame, first.at, model.shape[1])
    label = "one seed" if len(walks) == 1 else f"average of {len(walks)} seeds"
    return judge({**first.preds, "model": model}, truth, label)
