"""`finetune`: start from a trained (typically global) model and adapt it to one ticker with a
tiny learning rate; report it beside the parent as is, a model trained from scratch, and naive."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from lstmcast.config import FINETUNE_LR, TrainConfig
from lstmcast.data.series import Series
from lstmcast.errors import ConfigError
from lstmcast.evaluation.volatility import BENCHMARK, forward_mean
from lstmcast.inference.predictor import OnnxFitted
from lstmcast.inference.volatility import VolHead, origins_in
from lstmcast.prep.dataset import Frame, Segments
from lstmcast.prep.inputs import frame_for, split_for
from lstmcast.prep.scaling import fit_scaler
from lstmcast.training.fitted import Fitted
from lstmcast.training.run import run_training
from lstmcast.training.scores import Trained, evaluate_fitted
from lstmcast.training.volatility import VolFit, VolTrained, train_volatility
from lstmcast.training.watch import EpochLog

if TYPE_CHECKING:
    import torch


class Parent(Protocol):
    """What fine-tuning reads of a saved model (`registry.saved.LoadedModel` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def config(self) -> TrainConfig: ...

    def seen_until(self) -> str:
        """The last date of any data it was fitted or early-stopped on (its validation end)."""
        ...

    @property
    def fitted(self) -> Fitted | OnnxFitted: ...


def _parent_for(parent: Parent, ticker: str) -> tuple[TrainConfig, int]:
    cfg: TrainConfig = parent.config
    if cfg.stateful:
        raise ConfigError("fine-tuning a stateful model is not supported; train it on the ticker instead")
    if cfg.embedding_tickers and ticker not in cfg.embedding_tickers:
        raise ConfigError(
            f"model {parent.id} learned a ticker embedding for {', '.join(cfg.embedding_tickers)} only;"
            f" fine-tune {ticker} from a model trained without --ticker-embedding"
        )
    return cfg, cfg.embedding_tickers.index(ticker) if cfg.embedding_tickers else 0


def overlap_warning(parent: Parent, frame: Frame, seg: Segments, allow: bool) -> list[str]:
    """Refuse (or, allowed, warn) when the parent saw dates in the new ticker's validation or
    test period: markets move together, so its 'before' and 'after' would be judged on days
    it had already learned from, and the comparison with scratch would flatter it."""
    seen = parent.seen_until()
    start = str(frame.dates[seg.train_end].date())
    if seen < start:
        return []
    message = (
        f"model {parent.id} was fitted on data up to {seen}, inside this ticker's validation and"
        f" test period (from {start}): the before/after/scratch comparison would be contaminated"
    )
    if not allow:
        raise ConfigError(message + "; fine-tune a parent trained on earlier data, or pass --allow-overlap")
    return [message]


def prepare_finetune(
    parent: Parent, series: Series, freeze: str, epochs: int | None, allow_overlap: bool
) -> tuple[TrainConfig, int, Frame, Segments, list[str]]:
    """What every fine-tune starts from, for any target: the parent's config (with `epochs`
    if given), its embedding row for `series`, the ticker's frame and split, and the overlap
    warning. A bad `--freeze`, a parent that cannot take this ticker, or an overlap not
    allowed is refused here."""
    if freeze not in ("encoder", "none"):
        raise ConfigError("--freeze must be encoder or none")
    cfg, tid = _parent_for(parent, series.ticker)
    cfg = cfg.replace(epochs=epochs or cfg.epochs)
    frame = frame_for(cfg, series.bars, series.exog, series.ticker)
    seg = split_for(cfg, frame, series.ticker)
    return cfg, tid, frame, seg, overlap_warning(parent, frame, seg, allow_overlap)


def run_finetune(
    parent: Parent,
    series: Series,
    lr: float = FINETUNE_LR,
    freeze: str = "none",
    epochs: int | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
    allow_overlap: bool = False,
) -> tuple[Trained, Trained, Trained]:
    """(before, after, scratch) on `series`' own split; no I/O. The warnings of `after` say
    when the parent's data overlapped the evaluation period (only with `allow_overlap`)."""
    if not isinstance(parent.fitted, Fitted):
        raise ConfigError("fine-tuning starts from the weights: load the parent with engine='torch'")
    cfg, tid, frame, seg, overlap = prepare_finetune(parent, series, freeze, epochs, allow_overlap)
    # The parent as it is, with this ticker's own scaler (its training rows only).
    as_is = parent.fitted.replace(
        config=cfg, columns=frame.columns, scaler=fit_scaler(frame.x[: seg.train_end]), ticker_id=tid
    )
    before = evaluate_fitted(series.ticker, cfg, frame, seg, as_is)
    # Warm start from the parent's weights; the fit keeps the init's embedding row.
    after = run_training(cfg, series, on_epoch, init=as_is, lr=lr, freeze_encoder=freeze == "encoder")
    scratch = run_training(cfg.replace(embedding_tickers=()), series)
    after.warnings[:0] = overlap
    return before, after, scratch


def finetune_volatility(
    parent_config: TrainConfig,
    parent_state: dict[str, torch.Tensor],
    parent_head: VolHead,
    series: Series,
    lr: float,
    freeze_encoder: bool,
) -> tuple[dict[str, np.ndarray], VolTrained]:
    """A volatility parent adapted to `series`: (test forecasts of the parent as is, of the
    model trained from scratch), and the fine-tuned model judged like `train_volatility`.
    The parent as is gets this ticker's input scaler and its back-transform refitted on this
    ticker's training origins; nothing else of it changes."""
    cfg = parent_config
    after = train_volatility(cfg, series, init=parent_state, lr=lr, freeze_encoder=freeze_encoder)
    scratch = train_volatility(cfg, series)
    frame, seg = after.frame, after.segments
    proxy = np.exp(frame.x[:, 0])
    train_at = origins_in(cfg, 0, 0, seg.train_end)
    offset_har = after.fits.hars[BENCHMARK] if cfg.residual_on == "har" else None
    as_is = VolFit(
        cfg,
        fit_scaler(frame.x[: int(train_at.max()) + cfg.horizon + 1]),
        VolHead(
            parent_head.target_mean, parent_head.target_std, offset_har, float(np.min(proxy[: seg.train_end]))
        ),
        parent_state,
        after.net.outcome,
    )
    as_is.head.scale = float(
        np.mean(forward_mean(proxy, cfg.horizon, train_at) / as_is.raw(frame, proxy, train_at))
    )
    return {
        "before": as_is.predict(frame, proxy, after.at),
        "scratch": scratch.fits.forecasts["model"],
    }, after
