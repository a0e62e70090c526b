"""Walk-forward (rolling-origin) cross-validation of a forecaster against the baselines.

The last `test_size` of the rows is cut into `folds` consecutive blocks. For each block the
scaler, the network and the baselines are fitted on rows before the block's first target
row (the cutoff) and nothing else; every bar of the block is then forecast one batch at a
time, each forecast using only rows up to its own origin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.errors import DataError
from lstmcast.evaluation.metrics import Metrics
from lstmcast.evaluation.scoring import (
    BlockForecasts,
    baseline_forecasts,
    concat_scales,
    dm_vs_naive,
    naive_scale,
    score_block,
)
from lstmcast.jsonable import to_jsonable
from lstmcast.prep.dataset import Frame, fit_origins, row_at
from lstmcast.runconfig import BacktestConfig
from lstmcast.settings import MIN_EVAL_SAMPLES, MIN_TRAIN_SAMPLES
from lstmcast.training.fitted import Fitted, fit_forecaster


@dataclass(frozen=True)
class Fold:
    index: int  # 1-based
    lo: int  # first row the fit may use (0 when expanding)
    cutoff: int  # first target row of the block: the fit uses rows < cutoff only
    end: int  # block targets are rows [cutoff, end)


def plan_folds(frame: Frame, cfg: TrainConfig, bt: BacktestConfig) -> list[Fold]:
    n = frame.n
    if n == 0:
        raise DataError("no usable bar after building features: too few bars for a walk-forward")
    first = row_at(frame.dates, bt.start) if bt.start is not None else n - round(n * bt.test_size)
    if first >= n - bt.folds:
        test_bars = max(n - first, 0)
        if test_bars > 0:
            raise DataError(
                f"--folds {bt.folds} needs at least {bt.folds} test bars, and the test part"
                f" ({frame.dates[min(first, n - 1)].date()} to {frame.dates[-1].date()}) has {test_bars}:"
                " use fewer --folds, or a larger --test-size or earlier --start"
            )
        raise DataError(
            f"nothing to forecast: the test part starts after the last bar ({frame.dates[-1].date()})"
        )
    edges = np.linspace(first, n, bt.folds + 1).round().astype(int)
    folds = []
    for k in range(bt.folds):
        cutoff = int(edges[k])
        lo = max(0, cutoff - bt.train_size) if bt.scheme == "sliding" else 0
        folds.append(Fold(k + 1, lo, cutoff, int(edges[k + 1])))
    _check_fit_size(folds[0], cfg, frame)
    return folds


def fit_split(cfg: TrainConfig, rows: int) -> tuple[int, int]:
    """(train_end, val_end) inside `rows` fitting rows: the last val_frac validates."""
    n_val = max(round(rows * cfg.val_frac), MIN_EVAL_SAMPLES + cfg.horizon)
    return rows - n_val, rows


def _check_fit_size(fold: Fold, cfg: TrainConfig, frame: Frame) -> None:
    rows = fold.cutoff - fold.lo
    train_end, val_end = fit_split(cfg, rows)
    o = fit_origins(train_end, val_end, cfg.window, cfg.horizon)
    if len(o["train"]) < MIN_TRAIN_SAMPLES or len(o["val"]) < MIN_EVAL_SAMPLES:
        raise DataError(
            f"the first fold would train on {rows} bars ({frame.dates[fold.lo].date()} to"
            f" {frame.dates[fold.cutoff - 1].date()}), too few for window {cfg.window}:"
            " use fewer --folds, a smaller --test-size, a larger --train-size or more data"
        )


def fit_fold(cfg: TrainConfig, frame: Frame, lo: int, cutoff: int, init: Fitted | None = None) -> Fitted:
    """Fit on rows [lo, cutoff) only: the frame handed on ends at the cutoff."""
    known = frame.slice(lo, cutoff)
    train_end, val_end = fit_split(cfg, known.n)
    return fit_forecaster(cfg, known, train_end, val_end, init=init)


def block_origins(
    fold: Fold, n: int, horizon: int, start: int | None = None, stop: int | None = None
) -> np.ndarray:
    """Origins whose first target lies in [start, stop) (default: the whole block)."""
    first = fold.cutoff if start is None else start
    last = fold.end if stop is None else stop
    at = np.arange(first - 1, last - 1)
    return at[at + horizon <= n - 1]


S = TypeVar("S")


@dataclass
class FoldSummary(Generic[S]):
    """One fold of any target: its span, and the target's own scores of its block."""

    index: int
    fit_start: str
    fit_end: str
    test_start: str
    test_end: str
    n: int
    scores: S  # a dataclass: ReturnFoldScores, or the volatility target's

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "fit_start": self.fit_start,
            "fit_end": self.fit_end,
            "test_start": self.test_start,
            "test_end": self.test_end,
            "n": self.n,
            **to_jsonable(self.scores),
        }


def summarise_fold(frame: Frame, fold: Fold, n: int, scores: S) -> FoldSummary[S]:
    """A fold's summary: the dates it fitted on and forecast, and its scores."""
    d = frame.dates
    return FoldSummary(
        fold.index,
        str(d[fold.lo].date()),
        str(d[fold.cutoff - 1].date()),
        str(d[fold.cutoff].date()),
        str(d[fold.end - 1].date()),
        n,
        scores,
    )


@dataclass(frozen=True)
class ReturnFoldScores:
    """A return fold's scores: every forecaster in target and price units, DM against naive."""

    metrics: dict[str, Metrics]  # target units
    metrics_price: dict[str, Metrics]  # price units (MAPE lives here)
    dm_pvalue: float | None


@dataclass
class WalkForward:
    """One seed's walk-forward: every forecast, by origin, with its fold."""

    seed: int
    at: np.ndarray  # (N,) origins
    fold_of: np.ndarray  # (N,) 1-based fold index
    preds: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N, H) target units
    scale: tuple[np.ndarray, np.ndarray] | None = None  # in-sample naive MAE behind each origin
    folds: list[FoldSummary[ReturnFoldScores]] = field(default_factory=list)
    # The first fit's validation origins and their forecasts: out-of-sample errors known before
    # the first cutoff, the calibration set that intervals start from.
    calib_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    calib_preds: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))


def validation_origins(cfg: TrainConfig, lo: int, cutoff: int) -> np.ndarray:
    """The origins a fit on rows [lo, cutoff) validated on (early stopping), in frame rows."""
    train_end, val_end = fit_split(cfg, cutoff - lo)
    return lo + fit_origins(train_end, val_end, cfg.window, cfg.horizon)["val"]


FitFn = Callable[[TrainConfig, Frame, int, int, Fitted | None], Fitted]


def _baselines(
    cfg: TrainConfig, frame: Frame, fold_lo: int, cutoff: int, fitted: Fitted, at: np.ndarray
) -> dict[str, np.ndarray]:
    """Naive, drift and linear AR refitted on the fold's own fitting rows."""
    known = frame.slice(fold_lo, cutoff)
    train_end, _ = fit_split(cfg, known.n)
    train_at = fit_origins(train_end, known.n, cfg.window, cfg.horizon)["train"]
    # Drift from every fitting row; AR coefficients from the fold's training origins.
    return baseline_forecasts(frame, at, cfg.horizon, cfg.window, train_at, known.n, fitted.scaler, known)


@dataclass
class FoldRun:
    """What one fold produced, as plain arrays (no model): safe to send back from a worker."""

    fold: Fold
    block: BlockForecasts  # origins, every forecaster's forecasts, in-sample naive scales
    result: FoldSummary[ReturnFoldScores]
    calib_at: np.ndarray  # the first fit's validation origins (fold 1 only; empty otherwise)
    calib_preds: np.ndarray


def run_fold(
    cfg: TrainConfig, frame: Frame, bt: BacktestConfig, fold: Fold, fit: FitFn | None = None
) -> FoldRun:
    """Fit and forecast one block; it depends on rows before its cutoff only, so folds can run
    in any order, anywhere. Refits every `retrain_every` bars warm-start from the last fit."""
    fit = fit or fit_fold
    step = bt.retrain_every or (fold.end - fold.cutoff)
    fitted: Fitted | None = None
    block: dict[str, list[np.ndarray]] = {"model": [], "naive": [], "drift": [], "linear": []}
    stretches: list[BlockForecasts] = []
    calib_at, calib_preds = np.zeros(0, dtype=np.int64), np.zeros((0, cfg.horizon))
    for start in range(fold.cutoff, fold.end, step):
        lo = max(0, start - bt.train_size) if bt.scheme == "sliding" else 0
        fitted = fit(cfg, frame, lo, start, fitted)
        if fold.index == 1 and not len(calib_at):
            calib_at = validation_origins(cfg, lo, start)
            calib_preds = fitted.predict(frame, calib_at)
        at = block_origins(fold, frame.n, cfg.horizon, start, min(start + step, fold.end))
        if len(at) == 0:
            continue
        block["model"].append(fitted.predict(frame, at))  # one batch for the whole stretch
        for name, y in _baselines(cfg, frame, lo, start, fitted, at).items():
            block[name].append(y)
        stretches.append(BlockForecasts(at, scale=naive_scale(frame, lo, start, len(at))))
    at_block = block_origins(fold, frame.n, cfg.horizon)
    got = {k: np.concatenate(v) for k, v in block.items()}
    fold_block = BlockForecasts(at_block, got, concat_scales(stretches))
    scores = score_block(frame, fold_block)  # target and price units
    _, p = dm_vs_naive(frame, fold_block)
    result = summarise_fold(
        frame,
        fold,
        len(at_block),
        ReturnFoldScores(scores.target, scores.price, None if np.isnan(p) else p),
    )
    return FoldRun(fold, fold_block, result, calib_at, calib_preds)


def assemble(seed: int, runs: list[FoldRun]) -> WalkForward:
    """One seed's walk-forward from its folds' runs (in fold order)."""
    runs = sorted(runs, key=lambda r: r.fold.index)
    wf = WalkForward(
        seed,
        np.concatenate([r.block.at for r in runs]),
        np.concatenate([np.full(len(r.block.at), r.fold.index) for r in runs]),
    )
    wf.preds = {k: np.concatenate([r.block.by_name[k] for r in runs]) for k in runs[0].block.by_name}
    wf.scale = concat_scales([r.block for r in runs])
    wf.folds = [r.result for r in runs]
    wf.calib_at, wf.calib_preds = runs[0].calib_at, runs[0].calib_preds
    return wf


def walk_forward(cfg: TrainConfig, frame: Frame, bt: BacktestConfig, fit: FitFn | None = None) -> WalkForward:
    """Run every fold for `cfg.seed`, one after another; `fit` can be replaced (the audit
    plants leaks with it)."""
    return assemble(cfg.seed, [run_fold(cfg, frame, bt, fold, fit) for fold in plan_folds(frame, cfg, bt)])
