"""One network across a universe: trained on (date, ticker) samples, windows gathered per batch.

The panel's inputs stay one dense (dates, tickers, features) array; each batch gathers its
windows from the sample index (`universe.panel.gather`), so memory is the panel's and not
the windows'. Batches mix tickers and dates. There is no ticker embedding: the network must
score a member it never saw (tested on held-out tickers). Early stopping reads validation
dates only; the shared epoch loop (`training.loop.optimise`) gives the NaN guard, Ctrl-C
and the best epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lstmcast.config import TrainConfig
from lstmcast.models import build_model
from lstmcast.training import runtime
from lstmcast.training.loop import FitOutcome, loss_fn, optimise, step
from lstmcast.training.watch import EpochLog
from lstmcast.universe.folds import FoldInputs, network_config
from lstmcast.universe.panel import gather

EVAL_BATCH = 4096

Samples = tuple[np.ndarray, np.ndarray]  # (date index, ticker index), one entry per sample


@dataclass
class PanelFit:
    model: nn.Module
    outcome: FitOutcome
    window: int
    device: torch.device


def _batch(
    values: np.ndarray, target: np.ndarray, t: np.ndarray, n: np.ndarray, window: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(gather(values, t, n, window))).to(device)
    y = torch.from_numpy(target[t, n].astype("float32")).unsqueeze(1).to(device)
    return x, y


def fit_panel(
    values: np.ndarray,
    target: np.ndarray,
    train: Samples,
    val: Samples,
    config: TrainConfig,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> PanelFit:
    """Train a network on `target` (T, N) at the train samples, stopping on the validation
    samples' loss. Inputs with NaN (none should reach a sample) are zeroed."""
    generator, device = runtime.prepare(config.threads, config.seed, config.device)
    model = build_model(network_config(config), values.shape[-1]).to(device)
    criterion = loss_fn(config.loss)
    t_tr, n_tr = train
    x_val, y_val = _batch(values, target, *val, config.window, device)
    tick: Callable[[int, int], None] | None = getattr(on_epoch, "batch", None)
    size = len(t_tr)

    def train_epoch(optimizer: torch.optim.Optimizer) -> float:
        order = torch.randperm(size, generator=generator).numpy()
        total = 0.0
        for i in range(0, size, config.batch_size):
            idx = order[i : i + config.batch_size]
            x, y = _batch(values, target, t_tr[idx], n_tr[idx], config.window, device)
            loss = criterion(model(x), y)
            step(model, optimizer, loss, config.clip)
            total += float(loss.detach()) * len(idx)
            if tick is not None:
                tick(min(i + config.batch_size, size), size)
        return total / max(size, 1)

    def val_loss() -> float:
        preds = torch.cat([model(x_val[i : i + EVAL_BATCH]) for i in range(0, len(x_val), EVAL_BATCH)])
        return float(criterion(preds, y_val))

    with runtime.deterministic(device):
        outcome = optimise(model, config, train_epoch, val_loss, on_epoch)
    return PanelFit(model, outcome, config.window, device)


@torch.no_grad()
def predict_panel(fit: PanelFit, values: np.ndarray, samples: Samples) -> np.ndarray:
    """The network's score at each sample, gathered and run in chunks."""
    fit.model.eval()
    t, n = samples
    out = []
    for i in range(0, len(t), EVAL_BATCH):
        part = gather(values, t[i : i + EVAL_BATCH], n[i : i + EVAL_BATCH], fit.window)
        x = torch.from_numpy(np.ascontiguousarray(part)).to(fit.device)
        out.append(fit.model(x)[:, 0].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def fit_fold(fold: FoldInputs, config: TrainConfig) -> PanelFit:
    """Fit one block of a universe walk-forward (or `train --universe`'s one block)."""
    return fit_panel(fold.values, fold.target, fold.train, fold.val, config)


def predict_fold(fit: PanelFit, fold: FoldInputs) -> np.ndarray:
    """The fitted network's score at each of the block's samples."""
    return predict_panel(fit, fold.values, fold.test)
