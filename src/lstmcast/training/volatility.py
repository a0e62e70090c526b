"""A network that forecasts variance: the fit and the forecast behind `--target volatility`.

Inputs are the usual windows of the volatility frame (log variance proxy, log return, any
extra features). The targets are the log proxies of the next h days, each minus an offset
known at the origin: 0, or the log of HAR's forecast for the hybrid (`--residual-on har`),
which then learns HAR's error and starts from HAR (its head starts at zero). The forecast
is the mean of the h exponentiated outputs plus the offset, times one scale (the
QLIKE-optimal mean(v / f)) fitted on the training origins, so that it is not biased low:
the exponential of a mean log is below the mean level. Log-HAR's bias correction uses the
same rows, so neither wins by calibrating on more recent data; fitting the network's scale
on the validation origins instead moved its 22-day QLIKE on GOOG from +12% to -48% against
log-HAR (benchmarks/bench_volatility.py's note). No test row reaches any of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lstmcast.config import TrainConfig
from lstmcast.evaluation.volatility import Har, forward_mean
from lstmcast.models import build_model
from lstmcast.prep.dataset import Frame
from lstmcast.prep.scaling import Scaler, apply, fit_scaler
from lstmcast.prep.windows import targets, windows
from lstmcast.training import runtime
from lstmcast.training.loop import FitOutcome, fit, predict_scaled


@dataclass
class VolFit:
    config: TrainConfig
    scaler: Scaler  # the inputs', from training rows
    target_mean: float  # the targets' (log ratio) z-score, from training origins
    target_std: float
    state: dict[str, torch.Tensor]
    scale: float  # the back-transform, fitted on training origins
    har: Har | None  # the hybrid's offset (None: a plain network)
    outcome: FitOutcome
    floor: float  # the smallest variance any forecast may take (levels HAR can go below 0)

    def raw(self, frame: Frame, proxy: np.ndarray, at: np.ndarray) -> np.ndarray:
        """(N,) variance forecasts for origins `at` before the validation scale."""
        model = build_model(self.config, frame.x.shape[1])
        model.load_state_dict(self.state)
        x = windows(apply(self.scaler, frame.x), self.config.window, at)  # (N, L, F)
        out = predict_scaled(model, torch.from_numpy(x).float()).double().numpy()  # (N, h)
        log_ratio = out * self.target_std + self.target_mean
        return np.exp(_offset(self.har, proxy, at, self.floor)) * np.mean(np.exp(log_ratio), axis=1)

    def predict(self, frame: Frame, proxy: np.ndarray, at: np.ndarray) -> np.ndarray:
        return self.raw(frame, proxy, at) * self.scale


def _offset(har: Har | None, proxy: np.ndarray, at: np.ndarray, floor: float) -> np.ndarray:
    """(N,) log of HAR's forecast at each origin, or zeros for a plain network."""
    return np.zeros(len(at)) if har is None else np.log(har.predict(proxy, at, floor))


def fit_volatility(
    config: TrainConfig,
    frame: Frame,
    proxy: np.ndarray,
    lo: int,
    train_at: np.ndarray,
    val_at: np.ndarray,
    har: Har | None,
) -> VolFit:
    """Fit on training origins `train_at` (their targets end before the validation rows) and
    stop early on `val_at`; the inputs' scaler and the back-transform come from the training
    rows and origins, from `lo` on."""
    runtime.set_threads(config.threads)
    gen = runtime.seed_everything(config.seed)
    device = runtime.pick_device(config.device)
    h = config.horizon
    train_end = int(train_at.max()) + h + 1  # the first row no training target reaches
    scaler = fit_scaler(frame.x[lo:train_end])  # leakage cut-off: training rows only
    floor = float(np.min(proxy[lo:train_end]))
    xs = apply(scaler, frame.x)

    def target(at: np.ndarray) -> np.ndarray:
        return targets(frame.x[:, 0], h, at) - _offset(har, proxy, at, floor)[:, None]  # (N, h)

    y_train = target(train_at)
    mean, std = float(y_train.mean()), float(y_train.std()) or 1.0

    def tensors(at: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(windows(xs, config.window, at)).float().to(device)
        y = torch.from_numpy((target(at) - mean) / std).float().to(device)
        return x, y

    model = build_model(config, frame.x.shape[1]).to(device)
    if har is not None:  # the hybrid starts from HAR itself: the head's output is zero
        head = getattr(model, "head", None)
        if isinstance(head, torch.nn.Linear):
            torch.nn.init.zeros_(head.weight)
            torch.nn.init.zeros_(head.bias)
    outcome = fit(model, tensors(train_at), tensors(val_at), config, gen, lr=None, target_scale=(0.0, std))
    vf = VolFit(config, scaler, mean, std, outcome.state, 1.0, har, outcome, floor)
    realised = forward_mean(proxy, h, train_at)
    vf.scale = float(np.mean(realised / vf.raw(frame, proxy, train_at)))
    return vf
