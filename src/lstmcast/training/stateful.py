"""Stateful training for one long series: truncated backpropagation through time.

The training rows are laid out as a few long, consecutive streams. Each epoch walks them
chunk by chunk (`window` bars), carrying the hidden (and cell) state from one chunk to the
next without shuffling, cutting the gradient at every chunk boundary, and resetting the
state at the start of the epoch. Forecasts run the network over the whole series from its
first bar, so each one continues from the state at the end of the data it may see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lstmcast.config import TrainConfig
from lstmcast.training.loop import EpochLog, FitOutcome, loss_fn, optimise, step

MAX_STREAMS = 8  # parallel streams per batch; fewer when the series is short


def _detach(state: Any) -> Any:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def run_sequence(model: nn.Module, xs: torch.Tensor) -> torch.Tensor:
    """One-step forecasts at every row of xs (T, F), state carried from row 0: (T,)."""
    out, _ = model.forward_seq(xs[None], None)  # type: ignore[operator]
    return out[0, :, 0]  # (T,)


def run_recursive(model: nn.Module, xs: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` forecasts after the last row of xs (T, F): each fed back in as the next row's
    target (other features at their mean, 0 when scaled), the state carried along: (steps,)."""
    out, state = model.forward_seq(xs[None], None)  # type: ignore[operator]
    y = out[0, -1, 0]
    path = [y]
    for _ in range(steps - 1):
        nxt = torch.zeros((1, 1, xs.shape[1]), dtype=xs.dtype, device=xs.device)
        nxt[0, 0, 0] = y
        out, state = model.forward_seq(nxt, state)  # type: ignore[operator]
        y = out[0, -1, 0]
        path.append(y)
    return torch.stack(path)


def fit_stateful(
    model: nn.Module,
    xs: torch.Tensor,
    train_end: int,
    val_end: int,
    config: TrainConfig,
    on_epoch: Callable[[EpochLog], None] | None = None,
    lr: float | None = None,
) -> FitOutcome:
    """xs: scaled rows [0, val_end) (T, F); column 0 is the target. Rows >= val_end are absent."""
    criterion = loss_fn(config.loss)
    n = train_end - 1  # inputs rows 0..train_end-2 predict rows 1..train_end-1
    streams = max(1, min(MAX_STREAMS, n // (4 * config.window)))
    length = n // streams
    x = xs[: streams * length].reshape(streams, length, -1)  # (S, Ls, F): consecutive streams
    y = xs[1 : streams * length + 1, 0].reshape(streams, length)  # (S, Ls): the next row's target

    def train_epoch(optimizer: torch.optim.Optimizer) -> float:
        state = None  # reset at the start of each epoch
        total, count = 0.0, 0
        for c in range(0, length, config.window):
            out, state = model.forward_seq(x[:, c : c + config.window], state)  # type: ignore[operator]
            loss = criterion(out[..., 0], y[:, c : c + config.window])
            step(model, optimizer, loss, config.clip)
            state = _detach(state)  # truncate the gradient at the chunk boundary
            total += float(loss.detach()) * out.shape[1]
            count += out.shape[1]
        return total / max(count, 1)

    def val_loss() -> float:
        pred = run_sequence(model, xs[: val_end - 1])  # (val_end-1,): row r forecasts row r+1
        return float(criterion(pred[train_end - 1 :], xs[train_end:val_end, 0]))

    return optimise(model, config, train_epoch, val_loss, on_epoch, lr)
