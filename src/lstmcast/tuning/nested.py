"""Nested walk-forward: the fold layout, and the two tasks a worker runs.

The outer folds are the backtest's. Inside each outer fold, the inner folds are a walk-forward
of that fold's training span alone: they are planned on the rows before the outer cutoff, and
a trial's worker cuts the bars at the outer cutoff before it builds anything, so no inner fit,
scaler, early stop or score can see a bar of the outer test block. Folds travel as dates, so
that every trial of a study is scored on the same days whatever its window or features.

- `run_trial`: one trial's settings fitted and scored on the inner folds of one outer fold,
  stopping early when the driver's pruning threshold says it cannot catch up.
- `run_outer`: settings fitted on the rows before an outer cutoff and scored once on its block.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcast.backtest.run import step1_log_return
from lstmcast.backtest.strategy import positions_from, simulate
from lstmcast.backtest.walkforward import Fold, plan_folds, run_fold
from lstmcast.bars import Bars
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.scoring import actuals
from lstmcast.prep.dataset import Frame, row_at
from lstmcast.prep.inputs import frame_for
from lstmcast.runconfig import BacktestConfig
from lstmcast.target import target_of


@dataclass(frozen=True)
class Span:
    """A test block as dates: targets from `cutoff` to `last` (inclusive); fits use bars
    dated before `cutoff` only."""

    index: int
    cutoff: str
    last: str


@dataclass(frozen=True)
class OuterFold:
    span: Span
    inner: tuple[Span, ...]  # inside the rows before span.cutoff


def _span(frame: Frame, fold: Fold) -> Span:
    d = frame.dates
    return Span(fold.index, str(d[fold.cutoff].date()), str(d[fold.end - 1].date()))


def plan_nested(frame: Frame, cfg: TrainConfig, bt: BacktestConfig, inner_folds: int) -> list[OuterFold]:
    """The outer folds of `bt` on `frame`, each with `inner_folds` inner folds planned on the
    rows before its cutoff (the same test share of that span as the outer test has)."""
    inner_bt = dataclasses.replace(bt, folds=inner_folds, start=None)
    out = []
    for fold in plan_folds(frame, cfg, bt):
        known = frame.slice(0, fold.cutoff)
        inner = tuple(_span(known, f) for f in plan_folds(known, cfg, inner_bt))
        out.append(OuterFold(_span(frame, fold), inner))
    return out


def fold_of(frame: Frame, span: Span, bt: BacktestConfig) -> Fold:
    """`span` in the rows of `frame` (each trial's frame starts where its features allow)."""
    cutoff = row_at(frame.dates, span.cutoff)
    end = row_at(frame.dates, pd.Timestamp(span.last) + pd.Timedelta(days=1))
    lo = max(0, cutoff - bt.train_size) if bt.scheme == "sliding" else 0
    return Fold(span.index, lo, cutoff, end)


def before(bars: Bars | pd.DataFrame, cutoff: str) -> Bars:
    """The bars dated before `cutoff`: all that a choice made for that cutoff may see."""
    bars = Bars.of(bars)
    return bars.rows(0, row_at(bars.dates, cutoff))


@dataclass(frozen=True)
class Scored:
    """One forecaster against its baseline on one block: per origin, the baseline's loss minus
    the model's (> 0: the model did better), and the long-flat strategy's active return."""

    dates: np.ndarray  # (N,) origin dates, datetime64[D]
    gain: np.ndarray  # (N,) baseline loss - model loss
    model_loss: float
    base_loss: float
    active: np.ndarray  # (N,) strategy minus buy-and-hold (returns targets; empty for volatility)
    preds: dict[str, np.ndarray]  # name -> forecasts; "truth" what happened (target units)


def score_span(
    cfg: TrainConfig, bt: BacktestConfig, ticker: str, bars: Bars | pd.DataFrame, span: Span
) -> Scored:
    """Fit `cfg` on the bars before `span` (every bar given is before the end of what may be
    seen) and score its forecasts of the span's block against the random walk (returns) or
    log-HAR (volatility)."""
    return _SCORERS[target_of(cfg.target).family](cfg, bt, ticker, bars, span)


def _score_variance(
    cfg: TrainConfig, bt: BacktestConfig, ticker: str, bars: Bars | pd.DataFrame, span: Span
) -> Scored:
    from lstmcast.backtest.volatility import VolatilityWalk

    walk = VolatilityWalk()
    _, data = walk.prepare(cfg, Series(ticker, bars, "tune"), [])
    frame, proxy = data.frame, data.proxy
    vol = walk.run_fold(cfg, data, bt, fold_of(frame, span, bt))
    realised = V.forward_mean(proxy, cfg.horizon, vol.at)
    q_model = V.qlike(vol.forecasts["model"], realised)
    q_har = V.qlike(vol.forecasts[V.BENCHMARK], realised)
    preds = {**vol.forecasts, "truth": realised}
    return Scored(
        frame.dates[vol.at].values.astype("datetime64[D]"),
        q_har - q_model,
        float(q_model.sum()),
        float(q_har.sum()),
        np.zeros(0),
        preds,
    )


def _score_returns(
    cfg: TrainConfig, bt: BacktestConfig, ticker: str, bars: Bars | pd.DataFrame, span: Span
) -> Scored:
    frame = frame_for(cfg, bars, None, ticker)
    run = run_fold(cfg, frame, bt, fold_of(frame, span, bt))
    at = run.block.at
    truth, _ = actuals(frame, at, cfg.horizon)
    model_se = ((run.block.by_name["model"] - truth) ** 2).sum(axis=1)
    naive_se = ((run.block.by_name["naive"] - truth) ** 2).sum(axis=1)
    realised = np.log(frame.price[at + 1] / frame.price[at])
    step1 = step1_log_return(frame, at, run.block.by_name["model"])
    strategy = simulate(positions_from(step1, "long_flat", 0.0), realised, bt.cost_bps)
    hold = simulate(np.ones(len(at)), realised, bt.cost_bps)
    preds = {**run.block.by_name, "truth": truth, "realised": realised}
    return Scored(
        frame.dates[at].values.astype("datetime64[D]"),
        naive_se - model_se,
        float(model_se.sum()),
        float(naive_se.sum()),
        strategy.returns - hold.returns,
        preds,
    )


# How each family of target a tune searches scores one block.
_SCORERS = {"return": _score_returns, "volatility": _score_variance}


@dataclass(frozen=True)
class TrialTask:
    """One trial as a worker gets it: the settings to try, the outer fold whose inner folds
    score them, and the pruning bar: after inner fold j, a trial whose skill so far is below
    `prune_below[j]` (the median of the finished trials there) stops."""

    ticker: str
    train: TrainConfig
    backtest: BacktestConfig
    outer: OuterFold
    prune_below: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class TrialResult:
    steps: tuple[float, ...]  # skill on the inner folds so far, after each one run
    pruned: bool
    dates: np.ndarray  # (N,) inner origin dates
    gain: np.ndarray  # (N,) per origin: baseline loss - model loss
    active: np.ndarray  # (N,) active strategy returns (returns targets)
    seconds: float
    worker: str
    started_at: float
    finished_at: float

    @property
    def skill(self) -> float:
        return self.steps[-1]


def run_trial(bars: dict[str, pd.DataFrame], task: TrialTask) -> TrialResult:
    t0, started = time.perf_counter(), time.time()
    known = before(bars[task.ticker], task.outer.span.cutoff)  # nothing of the outer block
    parts: list[Scored] = []
    steps: list[float] = []
    pruned = False
    for j, span in enumerate(task.outer.inner):
        parts.append(score_span(task.train, task.backtest, task.ticker, known, span))
        model = sum(p.model_loss for p in parts)
        base = sum(p.base_loss for p in parts)
        steps.append(1.0 - model / base if base > 0 else float("nan"))
        bar = task.prune_below[j] if j < len(task.prune_below) else None
        if bar is not None and j < len(task.outer.inner) - 1 and not steps[-1] >= bar:
            pruned = True
            break
    return TrialResult(
        tuple(steps),
        pruned,
        np.concatenate([p.dates for p in parts]),
        np.concatenate([p.gain for p in parts]),
        np.concatenate([p.active for p in parts]),
        time.perf_counter() - t0,
        f"{socket.gethostname()}:{os.getpid()}",
        started,
        time.time(),
    )


@dataclass(frozen=True)
class OuterTask:
    ticker: str
    train: TrainConfig
    backtest: BacktestConfig
    span: Span


def run_outer(bars: dict[str, pd.DataFrame], task: OuterTask) -> Scored:
    """The chosen settings refitted on the rows before the outer cutoff and scored once on its
    block, exactly as `lstmcast backtest` scores that fold (its fit sees rows before the
    cutoff only)."""
    return score_span(task.train, task.backtest, task.ticker, bars[task.ticker], task.span)
