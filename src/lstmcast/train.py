"""`train`: fit one forecaster on a leak-free split and judge it on the test segment.

`run_training(config, series)` is pure (no I/O); `train(home, ...)` adds saving and the run record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.datasets import Series
from lstmcast.evaluation.metrics import Metrics
from lstmcast.evaluation.report import (
    BlockForecasts,
    Scores,
    baseline_forecasts,
    log_residuals,
    score_block,
    tracks_previous_value,
)
from lstmcast.evaluation.stats import diebold_mariano
from lstmcast.forecaster import Fitted, fit_forecaster
from lstmcast.prep.dataset import Frame, Segments, build_frame, check_length
from lstmcast.prep.windows import targets
from lstmcast.training.loop import EpochLog


@dataclass
class Trained:
    """Everything a training run produced, in memory."""

    ticker: str
    config: TrainConfig
    frame: Frame
    segments: Segments
    fitted: Fitted
    scores: Scores
    residuals: np.ndarray  # (N, H) log(actual/forecast) on validation and test origins
    dm_pvalue: float | None = None  # Diebold-Mariano, model vs naive, step 1 on the test segment
    warnings: list[str] = field(default_factory=list)

    def segment_dates(self) -> dict[str, list[str]]:
        d = self.frame.dates
        s = self.segments

        def day(i: int) -> str:
            return str(d[i].date())

        return {
            "train": [day(0), day(s.train_end - 1)],
            "validation": [day(s.train_end), day(s.val_end - 1)],
            "test": [day(s.val_end), day(s.n - 1)],
        }


def run_training(
    config: TrainConfig,
    series: Series,
    on_epoch: Callable[[EpochLog], None] | None = None,
    init: Fitted | None = None,
    lr: float | None = None,
    freeze_encoder: bool = False,
) -> Trained:
    """Fit on train (early stopping on validation), then forecast every test origin."""
    config.validate()
    frame = build_frame(series.bars, config)
    seg = check_length(frame, config, series.ticker)
    fitted = fit_forecaster(config, frame, seg.train_end, seg.val_end, on_epoch, init, lr, freeze_encoder)
    return evaluate_fitted(series.ticker, config, frame, seg, fitted)


def evaluate_fitted(ticker: str, config: TrainConfig, frame: Frame, seg: Segments, fitted: Fitted) -> Trained:
    o = seg.origins(config.window, config.horizon)
    test_at = o["test"]
    preds = baseline_forecasts(
        frame, test_at, config.horizon, config.window, o["train"], seg.train_end, fitted.scaler
    )
    y_model = fitted.predict(frame, test_at)
    scores = score_block(frame, BlockForecasts(test_at, {"model": y_model, **preds}))
    oos = np.concatenate([o["val"], test_at])
    residuals = log_residuals(frame, oos, fitted.predict(frame, oos))
    warnings = []
    if tracks_previous_value(frame, test_at, y_model):
        warnings.append(
            "the model's price forecasts sit closer to the previous price than to the actual one:"
            " it mostly copies yesterday's price (compare with naive, which does exactly that)"
        )
    truth = targets(frame.x[:, 0], config.horizon, test_at)
    _, dm_p = diebold_mariano((y_model - truth)[:, 0], (preds["naive"] - truth)[:, 0])
    skill = scores.target["model"].skill_vs_naive
    if np.isfinite(skill) and skill <= 0:
        warnings.append(
            f"no skill: the model does worse than the random walk on the test segment ({skill:+.1%})"
        )
    dm = None if np.isnan(dm_p) else float(dm_p)
    return Trained(ticker, config, frame, seg, fitted, scores, residuals, dm, warnings)


@dataclass
class TrainReport:
    """What `lstmcast train --json` prints; keys here are a contract with scripts."""

    model_id: str
    ticker: str
    model: str
    target: str
    window: int
    horizon: int
    epochs_run: int
    best_epoch: int
    stopped: str
    train_seconds: float
    device: str
    segments: dict[str, list[str]]
    test: dict[str, Metrics]
    test_price: dict[str, Metrics]
    dm_pvalue: float | None
    per_step: list[dict[str, float]]
    warnings: list[str]
    path: str
    history: list[dict[str, float]] = field(default_factory=list)


def report_of(trained: Trained, model_id: str, path: Path) -> TrainReport:
    out = trained.fitted.outcome
    assert out is not None
    cfg = trained.config
    return TrainReport(
        model_id,
        trained.ticker,
        cfg.model,
        cfg.target,
        cfg.window,
        cfg.horizon,
        len(out.history),
        out.best_epoch,
        out.stopped,
        round(out.seconds, 3),
        trained.fitted.device,
        trained.segment_dates(),
        trained.scores.target,
        trained.scores.price,
        trained.dm_pvalue,
        trained.scores.per_step,
        trained.warnings,
        str(path),
        [dataclasses.asdict(h) for h in out.history],
    )


def train(
    home: Path,
    config: TrainConfig,
    series: Series,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainReport:
    """Train, save the model under `home/models/<id>/`, record the run, and report."""
    from lstmcast.registry import save_trained

    trained = run_training(config, series, on_epoch)
    model_id, path = save_trained(home, trained, series.origin)
    return report_of(trained, model_id, path)


def metrics_json(scores: Scores) -> dict[str, Any]:
    return {
        "test": {k: dataclasses.asdict(v) for k, v in scores.target.items()},
        "test_price": {k: dataclasses.asdict(v) for k, v in scores.price.items()},
        "per_step": scores.per_step,
    }
