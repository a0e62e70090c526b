"""The leakage audit: what was known at each cutoff must not change when the future does.

For every fold, the walk-forward fit is run on the real bars and again on bars whose values
from the cutoff date on are replaced by noise. Scaler statistics, fitted weights and the
forecast made at the cutoff must come out identical; any difference names a leak.

On a GPU the fits run in deterministic mode, and each fold is also fitted a second time on
the same real bars: what differs between those two fits is the device's own noise (CUDA
kernels are not all bit-reproducible), and only a change larger than NOISE_MARGIN times that
floor counts as a leak. Where the repeat is identical, the floor is 0 and the test is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from lstmcast.backtest.walkforward import FitFn, fit_fold, plan_folds, validation_origins
from lstmcast.bars import Bars
from lstmcast.config import INTERVAL_LEVELS, TrainConfig
from lstmcast.data.series import Series
from lstmcast.evaluation.intervals import online_intervals
from lstmcast.evaluation.scoring import har_sigma, origin_sigma, path_errors
from lstmcast.prep.dataset import Frame
from lstmcast.prep.inputs import frame_for
from lstmcast.prep.sessions import close_times
from lstmcast.runconfig import BacktestConfig
from lstmcast.tickers import exchange_of
from lstmcast.training.fitted import Fitted
from lstmcast.training.runtime import deterministic, pick_device

# A change counts as a leak when it exceeds the noise floor this many times. Noise from the
# future moves weights by orders of magnitude more than kernel nondeterminism does.
NOISE_MARGIN = 10.0


@dataclass
class FoldAudit:
    fold: int
    cutoff: str  # first date whose value was replaced by noise
    scaler_identical: bool
    weights_identical: bool
    forecast_identical: bool
    interval_identical: bool = True  # the interval made at the cutoff (volatility, errors, ACI)
    # Largest weight difference between two fits on the same bars (None: not measured, on CPU).
    noise_floor: float | None = None

    @property
    def clean(self) -> bool:
        return (
            self.scaler_identical
            and self.weights_identical
            and self.forecast_identical
            and self.interval_identical
        )


@dataclass
class AuditReport:
    ticker: str
    folds: list[FoldAudit] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(f.clean for f in self.folds)

    @property
    def leaks(self) -> list[str]:
        out = []
        for f in self.folds:
            what = [
                name
                for name, ok in (
                    ("scaler statistics", f.scaler_identical),
                    ("fitted weights", f.weights_identical),
                    ("the forecast made at the cutoff", f.forecast_identical),
                    ("the interval made at the cutoff", f.interval_identical),
                )
                if not ok
            ]
            if what:
                out.append(
                    f"fold {f.fold}: {', '.join(what)} changed when data from {f.cutoff} on"
                    " was replaced by noise"
                )
        return out


def noised(
    bars: Bars | pd.DataFrame, cutoff: pd.Timestamp, seed: int, future: np.ndarray | None = None
) -> pd.DataFrame:
    """Bars with every value dated on or after `cutoff` (or where `future` is True) replaced by
    a random walk."""
    out = (bars.frame() if isinstance(bars, Bars) else bars).copy()
    future = out.index >= cutoff if future is None else future
    n = int(future.sum())
    if n == 0 or n == len(out):
        return out
    rng = np.random.default_rng(seed)
    walk = out["adj_close"].to_numpy()[~future][-1] * np.exp(np.cumsum(rng.normal(0, 0.05, n)))
    for col in ("open", "high", "low", "close", "adj_close"):
        out.loc[future, col] = walk * rng.uniform(0.97, 1.03, n)
    out.loc[future, "volume"] = rng.uniform(1e5, 1e8, n)
    return out


def _state_gap(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Largest absolute difference between two fits' weights (inf if their shapes differ)."""
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        return float("inf")
    return max((float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].numel()), default=0.0)


def value_gap(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf")
    both = ~np.isnan(a)
    return float(np.max(np.abs(a[both] - b[both]), initial=0.0))


def within_noise(gap: float, floor: float) -> bool:
    """Identical, or (on a device that is not bit-reproducible) within its noise floor."""
    return gap == 0.0 or gap <= NOISE_MARGIN * floor


def audit(
    cfg: TrainConfig,
    bt: BacktestConfig,
    series: Series,
    fit: FitFn | None = None,
    repeat: bool | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Run the audit; `fit` is the fold-fitting function under test (lstmcast's own by default).
    `repeat` fits each fold twice on the real bars to measure the noise floor: by default on a
    GPU only (a CPU fit repeats bit for bit)."""
    cfg.validate().returns_only("audit")
    bt.validate()
    fit = fit or fit_fold
    device = pick_device(cfg.device)
    if repeat is None:
        repeat = device.type != "cpu"
    with deterministic(device):
        return _audit(cfg, bt, series, fit, repeat, on_fold)


def _audit(
    cfg: TrainConfig,
    bt: BacktestConfig,
    series: Series,
    fit: FitFn,
    repeat: bool,
    on_fold: Callable[[int, int], None] | None,
) -> AuditReport:
    frame = frame_for(cfg, series.bars, series.exog, series.ticker)
    report = AuditReport(series.ticker)
    mine = exchange_of(series.ticker)[0]
    folds = plan_folds(frame, cfg, bt)
    for fold in folds:
        cutoff_date = frame.dates[fold.cutoff]  # frame row r is dated by bar r+1
        # The fit may know what had closed by the target's close on the cutoff's eve: an exog
        # bar whose session closed later (the S&P's same-day close, for an Oslo target) is
        # future, whatever its date says. Noise by time, so a date-only alignment shows up.
        known_until = close_times(mine, frame.dates[fold.cutoff - 1 : fold.cutoff])[0] if series.exog else 0
        exog = {
            t: noised(
                b,
                cutoff_date,
                seed=fold.index + i + 1,
                future=close_times(exchange_of(t)[0], b.dates) > known_until,
            )
            for i, (t, b) in enumerate(series.exog.items())
        }
        other = frame_for(cfg, noised(series.bars, cutoff_date, seed=fold.index), exog, series.ticker)
        lo = fold.lo
        a = fit(cfg, frame, lo, fold.cutoff, None)
        b = fit(cfg, other, lo, fold.cutoff, None)
        again = fit(cfg, frame, lo, fold.cutoff, None) if repeat else a  # same bars: the device's noise
        at = np.array([fold.cutoff - 1])  # the forecast made at the close of the cutoff's eve
        forecast = a.predict(frame, at)
        interval = _cutoff_interval(cfg, bt, frame, a, lo, fold.cutoff)
        # The forecast's floor over the last origins before the cutoff: one number alone is a
        # poor estimate of the device's noise (two noisy fits can agree there by chance).
        recent = np.arange(max(lo + cfg.window, fold.cutoff - 64), fold.cutoff)
        floors = (  # without a repeat (a CPU fit repeats bit for bit) the floor is 0: exact
            (
                _state_gap(a.state, again.state),
                value_gap(a.predict(frame, recent), again.predict(frame, recent)),
                value_gap(interval, _cutoff_interval(cfg, bt, frame, again, lo, fold.cutoff)),
            )
            if repeat
            else (0.0, 0.0, 0.0)
        )
        report.folds.append(
            FoldAudit(
                fold.index,
                str(cutoff_date.date()),
                bool(
                    np.array_equal(a.scaler.mean, b.scaler.mean)
                    and np.array_equal(a.scaler.std, b.scaler.std)
                ),
                within_noise(_state_gap(a.state, b.state), floors[0]),
                within_noise(value_gap(forecast, b.predict(other, at)), floors[1]),
                within_noise(
                    value_gap(interval, _cutoff_interval(cfg, bt, other, b, lo, fold.cutoff)), floors[2]
                ),
                noise_floor=floors[0] if repeat else None,
            )
        )
        if on_fold:
            on_fold(len(report.folds), len(folds))
    return report


def _cutoff_interval(
    cfg: TrainConfig, bt: BacktestConfig, frame: Frame, fitted: Fitted, lo: int, cutoff: int
) -> np.ndarray:
    """The interval bounds the walk-forward would give at the cutoff's first origin: from the
    fit's validation errors and the volatility known then (nothing after the cutoff)."""
    calib_at = validation_origins(cfg, lo, cutoff)
    origin = np.array([cutoff - 1])
    scale, seed_scale = origin_sigma(frame, origin), origin_sigma(frame, calib_at)
    if bt.intervals == "vol":  # HAR's volatility, fitted on rows before the cutoff (and the seeds)
        scale, seed_scale = (
            har_sigma(frame, origin, cutoff),
            har_sigma(frame, calib_at, int(calib_at.min()) + 1),
        )
    online = online_intervals(
        origin,
        np.full((1, cfg.horizon), np.nan),  # its outcome is in the future
        scale,
        path_errors(frame, calib_at, fitted.predict(frame, calib_at)),
        seed_scale,
        bt.intervals,
        INTERVAL_LEVELS,
    )
    return np.stack([np.stack([online.lower[lv], online.upper[lv]]) for lv in INTERVAL_LEVELS])
