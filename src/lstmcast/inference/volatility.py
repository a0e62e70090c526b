"""A volatility network's forecast from any engine that maps numpy to numpy: the one routine
the fit (torch) and a saved model (ONNX or torch) both run. No torch import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.evaluation.volatility import HAR_LAGS, Har
from lstmcast.inference.predictor import Net  # here (N, L, F) -> (N, h) z-scored log ratios
from lstmcast.jsonable import json_object, number
from lstmcast.prep.dataset import Frame
from lstmcast.prep.scaling import Scaler, apply
from lstmcast.prep.windows import windows

MONTH = max(HAR_LAGS)  # HAR's longest term: an origin needs this many proxies behind it


@dataclass
class VolHead:
    """What turns the network's outputs into a variance: the target's z-score, the hybrid's
    HAR offset, the smallest variance a forecast may take, and the back-transform."""

    target_mean: float
    target_std: float
    har: Har | None  # the hybrid's offset (None: a plain network)
    floor: float
    scale: float = 1.0

    def to_dict(self) -> dict[str, object]:
        har = (
            None
            if self.har is None
            else {"coef": self.har.coef.tolist(), "log": self.har.log, "scale": self.har.scale}
        )
        return {"target_mean": self.target_mean, "target_std": self.target_std, "har": har,
                "floor": self.floor, "scale": self.scale}  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> VolHead:
        h = d.get("har")
        har = None if h is None else Har.from_dict(json_object(h))  # saved without `leverage`: none
        return cls(
            number(d["target_mean"]), number(d["target_std"]), har, number(d["floor"]), number(d["scale"])
        )


def offset(har: Har | None, proxy: np.ndarray, at: np.ndarray, floor: float) -> np.ndarray:
    """(N,) log of HAR's forecast at each origin, or zeros for a plain network."""
    return np.zeros(len(at)) if har is None else np.log(har.predict(proxy, at, floor))


def raw_variance(
    net: Net,
    config: TrainConfig,
    scaler: Scaler,
    head: VolHead,
    frame: Frame,
    proxy: np.ndarray,
    at: np.ndarray,
    first_day: bool = False,
) -> np.ndarray:
    """(N,) variance forecasts for origins `at` before the back-transform: the mean over the h
    days of exp(output), plus the offset; with `first_day`, the first day's alone (what its
    1-day value-at-risk reads). Each uses rows at-window+1..at only."""
    x = windows(apply(scaler, frame.x), config.window, at).astype(np.float32)  # (N, L, F)
    out = np.asarray(net(x), dtype="float64")  # (N, h)
    log_ratio = out * head.target_std + head.target_mean
    days = np.exp(log_ratio[:, :1] if first_day else log_ratio)
    return np.exp(offset(head.har, proxy, at, head.floor)) * np.mean(days, axis=1)


def variance_forecast(
    net: Net,
    config: TrainConfig,
    scaler: Scaler,
    head: VolHead,
    frame: Frame,
    proxy: np.ndarray,
    at: np.ndarray,
    first_day: bool = False,
) -> np.ndarray:
    return raw_variance(net, config, scaler, head, frame, proxy, at, first_day) * head.scale


def origins_in(cfg: TrainConfig, lo: int, first_target: int, last_target: int) -> np.ndarray:
    """Origins t >= lo + 21 (and a full window) whose targets t+1..t+h lie in [first, last)."""
    start = lo + max(cfg.window - 1, MONTH - 1)
    at = np.arange(max(start, first_target - 1), last_target - cfg.horizon)
    return at[at + 1 >= first_target]
