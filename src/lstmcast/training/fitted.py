"""A fitted forecaster: config + scaler + weights, and the one function that fits it.

`fit_forecaster(config, frame, train_end, val_end)` is a plain function of (config, data):
no global state, no I/O, so sweeps can ship it to workers as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmcast.config import TrainConfig
from lstmcast.inference.predictor import Net, n_inputs, predict_origins, with_ticker_id
from lstmcast.models import build_model
from lstmcast.prep.dataset import Frame, fit_origins, sample_arrays
from lstmcast.prep.scaling import Scaler, apply, fit_scaler, invert_target
from lstmcast.training import runtime
from lstmcast.training.loop import FitOutcome, fit, predict_scaled
from lstmcast.training.watch import EpochLog


@dataclass(kw_only=True)
class Fitted:
    """A fitted forecaster. Built with keywords only; a changed view (another member's scaler
    and embedding row, a longer horizon) comes from `replace`, which keeps everything else."""

    config: TrainConfig
    columns: tuple[str, ...]
    scaler: Scaler
    state: dict[str, torch.Tensor]
    device: str = "cpu"
    outcome: FitOutcome | None = None
    ticker_id: int = 0  # row of the ticker embedding (global models with --ticker-embedding)
    _module: nn.Module | None = field(default=None, repr=False)

    def replace(self, **changes: Any) -> Fitted:
        """The same fit with some fields changed; the network is rebuilt if the config changes."""
        if "config" in changes and "_module" not in changes:
            changes["_module"] = None
        return dataclasses.replace(self, **changes)

    def as_net(self) -> Net:
        """This fit as a numpy-to-numpy network, as `OnnxFitted.net` is for an export: what
        torch-free code (forecasting) calls without importing torch itself."""
        module = self.module()
        return lambda x: predict_scaled(module, torch.from_numpy(x).float()).double().cpu().numpy()

    def module(self) -> nn.Module:
        if self._module is None:
            m = build_model(self.config, n_inputs(self.config, len(self.columns)))
            m.load_state_dict(self.state)
            self._module = m.to(self.device).eval()
        return self._module

    def predict(self, frame: Frame, at: np.ndarray) -> np.ndarray:
        """Forecasts (N, horizon) in target units for origins `at`, batched, no look-ahead:
        each uses rows at-window+1..at only."""
        cfg = self.config
        if len(at) == 0:
            return np.zeros((0, cfg.horizon))
        model = self.module()
        if cfg.stateful:
            xs = apply(self.scaler, frame.x)
            from lstmcast.training.stateful import run_paths, run_sequence

            with torch.no_grad():
                model.eval()
                seq = torch.from_numpy(xs[: int(at.max()) + 1]).float().to(self.device)
                if cfg.horizon > 1:  # feed each forecast back in, state carried from row 0
                    paths = run_paths(model, seq, at, cfg.horizon)
                    return invert_target(self.scaler, paths.double().cpu().numpy())
                out = run_sequence(model, seq).double().cpu().numpy()  # row r forecasts r+1
            return invert_target(self.scaler, out[at][:, None])

        def net(x: np.ndarray) -> np.ndarray:
            return predict_scaled(model, torch.from_numpy(x).to(self.device)).cpu().numpy()

        return predict_origins(net, cfg, self.scaler, self.ticker_id, frame, at)


def _prepared_model(
    config: TrainConfig, n_features: int, init: Fitted | None, freeze_encoder: bool
) -> nn.Module:
    """A fresh network, or a copy of `init`'s weights; with `freeze_encoder` only the head learns."""
    model = build_model(config, n_features)
    if init is not None:
        model.load_state_dict(init.state)
    if freeze_encoder:
        for name, p in model.named_parameters():
            if "head" not in name.split("."):
                p.requires_grad_(False)
    return model


def fit_forecaster(
    config: TrainConfig,
    frame: Frame,
    train_end: int,
    val_end: int,
    on_epoch: Callable[[EpochLog], None] | None = None,
    init: Fitted | None = None,
    lr: float | None = None,
    freeze_encoder: bool = False,
) -> Fitted:
    """Fit on rows before `val_end` only: scaler and weights from rows < train_end, early
    stopping on samples whose targets lie in [train_end, val_end). Rows after val_end are
    never read. `init` warm-starts from earlier weights; the scaler is always refitted."""
    gen, device = runtime.prepare(config.threads, config.seed, config.device)
    # Leakage cut-off: the scaler sees training rows only.
    scaler = fit_scaler(frame.x[:train_end])
    xs = apply(scaler, frame.x[:val_end])
    tid = init.ticker_id if init is not None else 0
    if config.stateful:
        from lstmcast.training.stateful import fit_stateful

        model = _prepared_model(config, frame.x.shape[1], init, freeze_encoder).to(device)
        xt = torch.from_numpy(xs).float().to(device)
        outcome = fit_stateful(model, xt, train_end, val_end, config, on_epoch, lr)
    else:
        origins = fit_origins(train_end, val_end, config.window, config.horizon)
        h_fit = 1 if config.decoder == "recursive" else config.horizon
        xtr, ytr = sample_arrays(xs, config.window, h_fit, origins["train"])
        xva, yva = sample_arrays(xs, config.window, h_fit, origins["val"])
        xtr, xva = with_ticker_id(xtr, config, tid), with_ticker_id(xva, config, tid)

        def as_t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).float().to(device)

        width = n_inputs(config, frame.x.shape[1])
        model = _prepared_model(config, width, init, freeze_encoder).to(device)
        scale = (float(scaler.mean[0]), float(scaler.std[0]))
        outcome = fit(model, (as_t(xtr), as_t(ytr)), (as_t(xva), as_t(yva)), config, gen, on_epoch, lr, scale)
    return Fitted(
        config=config,
        columns=frame.columns,
        scaler=scaler,
        state=outcome.state,
        device=str(device),
        outcome=outcome,
        ticker_id=tid,
        _module=model.eval(),
    )
