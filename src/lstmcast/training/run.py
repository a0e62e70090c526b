"""`train`: fit one forecaster on a leak-free split and judge it on the test segment.

`run_training(config, series)` is pure (no I/O); `train(store, ...)` adds saving and the run record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.errors import DataError
from lstmcast.evaluation.scoring import (
    Scores,
)
from lstmcast.prep.inputs import frame_for, split_for
from lstmcast.training.fitted import Fitted, fit_forecaster
from lstmcast.training.scores import Trained, evaluate_fitted
from lstmcast.training.watch import EpochLog


def run_training(
    config: TrainConfig,
    series: Series,
    on_epoch: Callable[[EpochLog], None] | None = None,
    init: Fitted | None = None,
    lr: float | None = None,
    freeze_encoder: bool = False,
) -> Trained:
    """Fit on train (early stopping on validation), then forecast every test origin."""
    config.validate().returns_only("this training path (train_volatility_model)")
    frame = frame_for(config, series.bars, series.exog, series.ticker)
    seg = split_for(config, frame, series.ticker)
    fitted = fit_forecaster(config, frame, seg.train_end, seg.val_end, on_epoch, init, lr, freeze_encoder)
    return evaluate_fitted(series.ticker, config, frame, seg, fitted)


@dataclass
class GlobalTrained:
    """A global model's run: one network, every member evaluated on its own test segment."""

    config: TrainConfig
    members: list[Trained]
    pooled: Scores

    @property
    def tickers(self) -> list[str]:
        return [m.ticker for m in self.members]


def run_global_training(
    config: TrainConfig, series: list[Series], on_epoch: Callable[[EpochLog], None] | None = None
) -> GlobalTrained:
    """One network over all `series`, split at the same dates, each ticker scaled on its own."""
    config.returns_only("a global model")
    from lstmcast.training.pooled import (
        check_members,
        fit_global,
        members_at,
        pool_blocks,
        split_dates,
        view_for,
    )

    config.validate()
    tickers = [s.ticker for s in series]
    if config.ticker_embedding:
        config = config.replace(embedding_tickers=tuple(tickers))
    frames = check_members(config, series)
    val_start, test_start = split_dates(list(frames.values()), config.val_frac, config.test_frac)
    members = members_at(frames, val_start, test_start)
    for m in members:
        o = m.segments.origins(config.window, config.horizon)
        if min(len(o["train"]), len(o["val"]), len(o["test"])) < 20:
            raise DataError(
                f"{m.ticker} has too few bars before or after the common split dates {val_start.date()}"
                f" and {test_start.date()}; train it on its own or with tickers of similar history"
            )
    scalers, fitted = fit_global(config, members, on_epoch)
    trained = [
        evaluate_fitted(m.ticker, config, m.frame, m.segments, view_for(fitted, scalers, tickers, m.ticker))
        for m in members
    ]
    pooled = pool_blocks([(t.frame, t.block) for t in trained if t.block is not None])
    return GlobalTrained(config, trained, pooled)


def fit_members(
    config: TrainConfig, series: list[Series], on_epoch: Callable[[EpochLog], None] | None = None
) -> tuple[list[Trained], Scores, str]:
    """One ticker's model, or a global one over several: what was trained (each member), the
    scores its record keeps (a global model's pooled over its members), and where its data
    came from. What `train` saves, and what a `daily` worker sends back to be saved."""
    if len(series) == 1:
        trained = run_training(config, series[0], on_epoch)
        return [trained], trained.scores, series[0].origin
    g = run_global_training(config, series, on_epoch)
    return g.members, g.pooled, "store"
