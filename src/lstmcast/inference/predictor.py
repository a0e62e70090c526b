"""Forecasts from a network at given origins, for any engine that maps numpy to numpy.

`predict_origins` is the one place that turns a frame into windows, runs the network
(once, or step by step feeding each forecast back in) and returns target units. The torch
`Fitted` and the torch-free `OnnxFitted` both call it, so the two engines cannot drift.
This module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.prep.dataset import Frame
from lstmcast.prep.scaling import Scaler, apply, invert_target
from lstmcast.prep.windows import windows

Net = Callable[[np.ndarray], np.ndarray]  # (B, L, F) float32 -> (B, out) float32


class Forecaster(Protocol):
    """What `Fitted` and `OnnxFitted` share for reaching further: a config and `replace`."""

    @property
    def config(self) -> TrainConfig: ...

    def replace(self: _F, **changes: Any) -> _F: ...


_F = TypeVar("_F", bound=Forecaster)


def reaches_further(config: TrainConfig) -> bool:
    """A one-step model (not seq2seq) reaches further by feeding its forecasts back in."""
    return config.horizon == 1 and config.decoder != "seq2seq"


def run_out_to(fitted: _F, steps: int) -> _F:
    """A one-step forecaster run recursively out to `steps`: the one rule both the errors its
    intervals are made of and a longer live forecast follow."""
    return fitted.replace(config=fitted.config.replace(decoder="recursive", horizon=steps))


def n_inputs(config: TrainConfig, n_features: int) -> int:
    """Input width of the network: the features, plus the ticker-id column of an embedding."""
    return n_features + (1 if config.embedding_tickers else 0)


def with_ticker_id(x: np.ndarray, config: TrainConfig, ticker_id: int) -> np.ndarray:
    """Append the ticker's embedding row as a constant last feature when the model has one."""
    if not config.embedding_tickers:
        return x
    return np.concatenate([x, np.full((*x.shape[:2], 1), float(ticker_id))], axis=2)


def predict_origins(
    net: Net, config: TrainConfig, scaler: Scaler, ticker_id: int, frame: Frame, at: np.ndarray
) -> np.ndarray:
    """Forecasts (N, horizon) in target units for origins `at`; each uses rows
    at-window+1..at only. A one-step network reaches `config.horizon` recursively."""
    if len(at) == 0:
        return np.zeros((0, config.horizon))
    xs = apply(scaler, frame.x)
    x = with_ticker_id(windows(xs, config.window, at), config, ticker_id).astype(np.float32)
    if config.decoder == "recursive" and config.horizon > 1:
        steps = []
        for _ in range(config.horizon):
            step = net(x)  # (N, 1)
            steps.append(step)
            nxt = np.zeros_like(x[:, :1, :])  # unknown extras stay at their mean (0)
            nxt[:, 0, 0] = step[:, 0]
            x = np.concatenate([x[:, 1:], nxt], axis=1)
        scaled = np.concatenate(steps, axis=1)
    else:
        scaled = net(x)
    return invert_target(scaler, scaled.astype(np.float64))


@dataclass(kw_only=True)
class OnnxFitted:
    """A saved forecaster run by ONNX Runtime: what `Fitted` offers for forecasting
    (config, columns, scaler, predict, replace), without torch."""

    config: TrainConfig
    columns: tuple[str, ...]
    scaler: Scaler
    net: Net
    ticker_id: int = 0
    engine: str = "onnx"

    def replace(self, **changes: Any) -> OnnxFitted:
        return dataclasses.replace(self, **changes)

    def predict(self, frame: Frame, at: np.ndarray) -> np.ndarray:
        return predict_origins(self.net, self.config, self.scaler, self.ticker_id, frame, at)
