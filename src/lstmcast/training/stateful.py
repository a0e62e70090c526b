"""Stateful training for one long series: truncated backpropagation through time.

The training rows are laid out as a few long, consecutive streams. Each epoch walks them
chunk by chunk (`window` bars), carrying the hidden (and cell) state from one chunk to the
next without shuffling, cutting the gradient at every chunk boundary, and resetting the
state at the start of the epoch. Forecasts run the network over the whole series from its
first bar, so each one continues from the state at the end of the data it may see.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from lstmcast.config import TrainConfig
from lstmcast.models.recurrent import State
from lstmcast.training.loop import FitOutcome, loss_fn, optimise, step
from lstmcast.training.watch import EpochLog

MAX_STREAMS = 8  # parallel streams per batch; fewer when the series is short


def _detach(state: State | None) -> State | None:
    if state is None:
        return None
    if isinstance(state, tuple):
        return state[0].detach(), state[1].detach()
    return state.detach()


def run_sequence(model: nn.Module, xs: torch.Tensor) -> torch.Tensor:
    """One-step forecasts at every row of xs (T, F), state carried from row 0: (T,)."""
    out, _ = model.forward_seq(xs[None], None)  # type: ignore[operator]
    return out[0, :, 0]  # (T,)


def _cat_states(states: list[State]) -> State:
    """Per-origin states (each batch 1) -> one state batched over the origins (dim 1)."""
    pairs = [s for s in states if isinstance(s, tuple)]
    if pairs:
        return torch.cat([h for h, _ in pairs], dim=1), torch.cat([c for _, c in pairs], dim=1)
    return torch.cat([s for s in states if not isinstance(s, tuple)], dim=1)


def run_paths(model: nn.Module, xs: torch.Tensor, at: np.ndarray, steps: int) -> torch.Tensor:
    """`steps`-step forecast paths from each origin in `at` (rows of xs (T, F)), state carried
    from row 0: one pass over the rows up to the last origin, keeping the state at each origin,
    then all paths continue together, each forecast fed back in as the next row's target
    (other features at their mean, 0 when scaled). Returns (N, steps)."""
    order = np.argsort(at, kind="stable")
    state: State | None = None
    start = 0
    firsts: list[torch.Tensor] = []
    states: list[State] = []
    for t in at[order]:
        if t + 1 > start:
            out, state = model.forward_seq(xs[None, start : t + 1], state)  # type: ignore[operator]
            start = t + 1
        assert state is not None  # the first origin ran the rows up to it
        firsts.append(out[:, -1, :1])  # (1, 1): the forecast of row t+1
        states.append(state)
    y = torch.cat(firsts)  # (N, 1)
    state = _cat_states(states)
    path = [y]
    for _ in range(steps - 1):
        nxt = torch.zeros((len(y), 1, xs.shape[1]), dtype=xs.dtype, device=xs.device)
        nxt[:, 0, :1] = y
        out, state = model.forward_seq(nxt, state)  # type: ignore[operator]
        y = out[:, -1, :1]
        path.append(y)
    paths = torch.cat(path, dim=1)  # (N, steps), in sorted order
    return paths[torch.from_numpy(np.argsort(order, kind="stable"))]


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
