"""The optimisation loop: whole tensors in memory, shuffled index batches, early stopping.

No DataLoader: the data fits in memory, and indexing a prebuilt tensor per batch is as fast
as plain PyTorch gets (a DataLoader cost 1.46x on the CNN in our measurements).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch
from torch import nn

from lstmcast.config import TrainConfig
from lstmcast.errors import Interrupted, TrainingDiverged
from lstmcast.training import runtime
from lstmcast.training.watch import EpochLog, heard

EVAL_CHUNK = 8192  # samples per forward pass when evaluating


@dataclass
class FitOutcome:
    state: dict[str, torch.Tensor]  # best weights (lowest validation loss), on the CPU
    history: list[EpochLog]
    best_epoch: int
    stopped: str  # "early_stop", "max_epochs" or "interrupted"
    seconds: float


class QLikeLoss(nn.Module):
    """Patton's QLIKE on variance forecasts, from scaled log variances: the network's output
    and the target are z-scores of log variance (mean m, sd s of the training rows), so
    d = (target - output) s is log(v / forecast), and QLIKE = e^d - d - 1."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        d = ((target - output) * self.std).clamp(-30.0, 30.0)  # exp stays finite on a wild start
        return (torch.exp(d) - d - 1.0).mean()


def loss_fn(name: str, target_scale: tuple[float, float] | None = None) -> nn.Module:
    """The training loss; QLIKE needs the target's scaling (mean, sd of its log variance)."""
    if name == "qlike":
        mean, std = target_scale or (0.0, 1.0)
        return QLikeLoss(mean, std)
    return nn.HuberLoss(delta=1.0) if name == "huber" else nn.MSELoss()


@torch.no_grad()
def predict_scaled(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    parts = [model(x[i : i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
    return torch.cat(parts) if parts else x.new_zeros((0, 1))


# Ctrl-C during a fit: `train` and `finetune` keep the best epoch so far and save it (the user
# stopped a long fit and wants what it learned); everything else (a backtest fold, a tune
# trial, a sweep cell, daily) stops the whole command, so nothing half-fitted is scored or
# stored as if it were complete.
_KEEP_ON_INTERRUPT: ContextVar[bool] = ContextVar("keep_on_interrupt", default=False)


@contextmanager
def keep_best_on_interrupt() -> Iterator[None]:
    """Within it, Ctrl-C ends the fit at its best epoch so far instead of stopping the command."""
    token = _KEEP_ON_INTERRUPT.set(True)
    try:
        yield
    finally:
        _KEEP_ON_INTERRUPT.reset(token)


def optimise(
    model: nn.Module,
    config: TrainConfig,
    train_epoch: Callable[[torch.optim.Optimizer], float],
    val_loss: Callable[[], float],
    on_epoch: Callable[[EpochLog], None] | None = None,
    lr: float | None = None,
) -> FitOutcome:
    """Epochs, early stopping on validation loss, the NaN guard and Ctrl-C: shared by the
    batch and the stateful loops, which differ only in how one epoch walks the data."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = runtime.adam(params, lr or config.lr)
    best_val, best_epoch, bad_epochs = math.inf, 0, 0
    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    history: list[EpochLog] = []
    stopped = "max_epochs"
    started = time.perf_counter()
    try:
        for epoch in range(1, config.epochs + 1):
            t0 = time.perf_counter()
            model.train()
            train_loss = train_epoch(optimizer)
            model.eval()
            with torch.no_grad():
                v_loss = val_loss()
            if not (math.isfinite(train_loss) and math.isfinite(v_loss)):
                raise TrainingDiverged(
                    f"the loss became {'NaN' if math.isnan(train_loss) else 'infinite'} in epoch"
                    f" {epoch}: try a smaller --lr (now {lr or config.lr:g}), keep gradient"
                    f" clipping on (--clip, now {config.clip:g}) or use --loss huber"
                )
            log = EpochLog(epoch, train_loss, v_loss, time.perf_counter() - t0)
            history.append(log)
            if on_epoch:
                on_epoch(log)
            heard(log)  # a command's listener, if any (a fold's bar at a terminal)
            if v_loss < best_val - 1e-9:
                best_val, best_epoch, bad_epochs = v_loss, epoch, 0
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
                if bad_epochs >= config.patience:
                    stopped = "early_stop"
                    break
    except KeyboardInterrupt:
        if not _KEEP_ON_INTERRUPT.get():
            raise  # the command stops: see _KEEP_ON_INTERRUPT
        if not history:
            raise Interrupted("interrupted before the first epoch finished; nothing saved") from None
        stopped = "interrupted"
    model.load_state_dict(best_state)
    return FitOutcome(best_state, history, best_epoch, stopped, time.perf_counter() - started)


def step(model: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, clip: float) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    if clip > 0:
        # Frozen parameters have no gradient, and clip_grad_norm_ skips those by itself.
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    generator: torch.Generator,
    on_epoch: Callable[[EpochLog], None] | None = None,
    lr: float | None = None,
    target_scale: tuple[float, float] | None = None,
) -> FitOutcome:
    """Train `model` in place on (x (N, L, F), y (N, H)) and return its best validation state.
    `target_scale` (mean, sd) undoes the target's z-score for losses on the raw scale (QLIKE)."""
    xtr, ytr = train
    xva, yva = val
    criterion = loss_fn(config.loss, target_scale)
    n = len(xtr)
    # A progress bar may also hear of batches (a long epoch should not look stuck).
    tick: Callable[[int, int], None] | None = getattr(on_epoch, "batch", None)

    def train_epoch(optimizer: torch.optim.Optimizer) -> float:
        order = torch.randperm(n, generator=generator).to(xtr.device)
        total = torch.zeros((), device=xtr.device)
        for i in range(0, n, config.batch_size):
            idx = order[i : i + config.batch_size]
            loss = criterion(model(xtr[idx]), ytr[idx])  # (B, H) vs (B, H)
            step(model, optimizer, loss, config.clip)
            total += loss.detach() * len(idx)  # stays on device: no sync per batch
            if tick is not None:
                tick(min(i + config.batch_size, n), n)
        return float(total) / n

    def val_loss() -> float:
        return float(criterion(predict_scaled(model, xva), yva))

    return optimise(model, config, train_epoch, val_loss, on_epoch, lr)
