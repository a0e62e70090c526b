"""The leakage audit: what was known at each cutoff must not change when the future does.

For every fold, the target's fits are run on the real bars and again on bars whose values
from the cutoff date on are replaced by noise. What the target says its fits decide (its
`Check`s: scaler statistics, fitted weights, the forecast and interval made at the cutoff;
for a variance also the proxy, the HARs, the back-transform and the VaR quantiles) must come
out identical; any difference names a leak. One driver (`audit`) runs every target of one
series; a target's part (`Audited`) says how it fits a fold and what it compares.

On a GPU the fits run in deterministic mode, and each fold is also fitted a second time on
the same real bars: what differs between those two fits is the device's own noise (CUDA
kernels are not all bit-reproducible), and only a change larger than NOISE_MARGIN times that
floor counts as a leak. Where the repeat is identical, the floor is 0 and the test is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from lstmcast.backtest.walkforward import FitFn, fit_fold, fit_split, plan_folds, validation_origins
from lstmcast.bars import Bars
from lstmcast.config import INTERVAL_LEVELS, TrainConfig
from lstmcast.data.series import Series
from lstmcast.evaluation.intervals import online_intervals
from lstmcast.evaluation.scoring import har_sigma, origin_sigma, path_errors
from lstmcast.inference.volatility import origins_in
from lstmcast.jsonable import to_jsonable
from lstmcast.prep.dataset import Frame
from lstmcast.prep.inputs import frame_for
from lstmcast.prep.sessions import close_times
from lstmcast.runconfig import BacktestConfig
from lstmcast.target import target_of
from lstmcast.tickers import exchange_of
from lstmcast.training.fitted import Fitted
from lstmcast.training.runtime import deterministic, pick_device
from lstmcast.training.volatility import check_volatility, fold_forecasts

# A change counts as a leak when it exceeds the noise floor this many times. Noise from the
# future moves weights by orders of magnitude more than kernel nondeterminism does.
NOISE_MARGIN = 10.0


@dataclass(frozen=True)
class Check:
    """One thing a fold's fit decides that the future must not change."""

    heading: str  # its column in the table
    words: str  # what changed, in a leak's line
    key: str  # its key in a fold's JSON
    noisy: bool  # compared within the device's noise floor (else exactly)


@dataclass(frozen=True)
class Fingerprint:
    """What one fit decided, one array per check; `probes` (by default the values) are what
    two fits on the same bars are compared on to measure the device's noise, made only when
    the fit is asked for them (a repeat fit will measure that noise)."""

    values: dict[str, np.ndarray]
    probes: dict[str, np.ndarray] = field(default_factory=dict)

    def probe(self, key: str) -> np.ndarray:
        return self.probes.get(key, self.values[key])


class Audited(Protocol):
    """A target's part of the audit: what its fits decide, and how it fits one fold."""

    @property
    def title(self) -> str: ...  # the table's title after the ticker

    @property
    def checks(self) -> tuple[Check, ...]: ...

    def fit(
        self, cfg: TrainConfig, bt: BacktestConfig, frame: Frame, lo: int, cutoff: int, probes: bool
    ) -> Fingerprint: ...


@dataclass
class FoldAudit:
    fold: int
    cutoff: str  # first date whose value was replaced by noise
    identical: dict[str, bool]  # check key -> nothing changed
    # Largest weight difference between two fits on the same bars (None: not measured, on CPU).
    noise_floor: float | None = None

    @property
    def clean(self) -> bool:
        return all(self.identical.values())


@dataclass
class AuditReport:
    ticker: str
    target: str
    title: str
    checks: tuple[Check, ...]
    folds: list[FoldAudit] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(f.clean for f in self.folds)

    @property
    def leaks(self) -> list[str]:
        out = []
        for f in self.folds:
            what = [c.words for c in self.checks if not f.identical[c.key]]
            if what:
                out.append(
                    f"fold {f.fold}: {', '.join(what)} changed when data from {f.cutoff} on"
                    " was replaced by noise"
                )
        return out

    def to_json(self) -> dict[str, object]:
        folds = [
            {"fold": f.fold, "cutoff": f.cutoff, **f.identical, "noise_floor": f.noise_floor}
            for f in self.folds
        ]
        doc = {"ticker": self.ticker, "target": self.target, "clean": self.clean, "folds": folds}
        return {**to_jsonable(doc), "leaks": self.leaks}


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
    """Run the audit for the config's target; `fit` is a return model's fold-fitting function
    under test (lstmcast's own by default). `repeat` fits each fold twice on the real bars to
    measure the noise floor: by default on a GPU only (a CPU fit repeats bit for bit)."""
    cfg.validate()
    bt.validate()
    audited = _AUDITED[target_of(cfg.target).family](fit or fit_fold)
    device = pick_device(cfg.device)
    if repeat is None:
        repeat = device.type != "cpu"
    with deterministic(device):
        return _audit(cfg, bt, series, audited, repeat, on_fold)


def _audit(
    cfg: TrainConfig,
    bt: BacktestConfig,
    series: Series,
    audited: Audited,
    repeat: bool,
    on_fold: Callable[[int, int], None] | None,
) -> AuditReport:
    frame = frame_for(cfg, series.bars, series.exog, series.ticker)
    report = AuditReport(series.ticker, cfg.target, audited.title, audited.checks)
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
        a = audited.fit(cfg, bt, frame, fold.lo, fold.cutoff, probes=repeat)
        b = audited.fit(cfg, bt, other, fold.lo, fold.cutoff, probes=False)
        # The device's noise: a second fit on the same bars; without one (a CPU fit repeats
        # bit for bit) the floor is 0 and every comparison exact.
        again = audited.fit(cfg, bt, frame, fold.lo, fold.cutoff, probes=True) if repeat else None
        identical, floors = {}, {}
        for c in audited.checks:
            x, y = a.values[c.key], b.values[c.key]
            if c.noisy:
                floors[c.key] = 0.0 if again is None else value_gap(a.probe(c.key), again.probe(c.key))
                identical[c.key] = within_noise(value_gap(x, y), floors[c.key])
            else:
                identical[c.key] = x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))
        floor = next((floors[c.key] for c in audited.checks if c.noisy), None) if repeat else None
        report.folds.append(FoldAudit(fold.index, str(cutoff_date.date()), identical, floor))
        if on_fold:
            on_fold(len(report.folds), len(folds))
    return report


def weights_of(state: dict[str, torch.Tensor]) -> np.ndarray:
    """A network's weights as one flat array, in the state's order."""
    return np.concatenate(
        [t.detach().double().cpu().numpy().ravel() for t in state.values()] or [np.zeros(0)]
    )


@dataclass(frozen=True)
class ReturnAudit:
    """The return and price targets' part: the fold's fit (`fit_fold`, lstmcast's own unless a
    test plants a leak), its scaler and weights, the forecast and interval made at the cutoff."""

    fit_fold: FitFn
    title: str = "leakage audit"
    checks: tuple[Check, ...] = (
        Check("scaler", "scaler statistics", "scaler_identical", noisy=False),
        Check("weights", "fitted weights", "weights_identical", noisy=True),
        Check("forecast at cutoff", "the forecast made at the cutoff", "forecast_identical", noisy=True),
        Check("interval at cutoff", "the interval made at the cutoff", "interval_identical", noisy=True),
    )

    def fit(
        self, cfg: TrainConfig, bt: BacktestConfig, frame: Frame, lo: int, cutoff: int, probes: bool
    ) -> Fingerprint:
        fitted = self.fit_fold(cfg, frame, lo, cutoff, None)
        at = np.array([cutoff - 1])  # the forecast made at the close of the cutoff's eve
        values = {
            "scaler_identical": np.concatenate([fitted.scaler.mean, fitted.scaler.std]),
            "weights_identical": weights_of(fitted.state),
            "forecast_identical": fitted.predict(frame, at),
            "interval_identical": _cutoff_interval(cfg, bt, frame, fitted, lo, cutoff),
        }
        if not probes:
            return Fingerprint(values)
        # The forecast's floor over the last origins before the cutoff: one number alone is a
        # poor estimate of the device's noise (two noisy fits can agree there by chance).
        recent = np.arange(max(lo + cfg.window, cutoff - 64), cutoff)
        return Fingerprint(values, {"forecast_identical": fitted.predict(frame, recent)})


@dataclass(frozen=True)
class VarianceAudit:
    """The volatility target's part: the proxy before the cutoff, the inputs' scaler, the
    network's weights and back-transform, both HARs' coefficients, the value-at-risk quantiles
    and every forecaster's forecast at the cutoff."""

    title: str = "leakage audit, volatility target"
    checks: tuple[Check, ...] = (
        Check("proxy", "proxy", "proxy", noisy=False),
        Check("scaler", "scaler", "scaler", noisy=False),
        Check("weights", "weights", "weights", noisy=True),
        Check("back-transform", "back-transform", "back-transform", noisy=True),
        Check("HAR coefficients", "HAR coefficients", "HAR coefficients", noisy=False),
        Check("VaR quantiles", "VaR quantiles", "VaR quantiles", noisy=False),
        Check("forecasts at the cutoff", "forecasts at the cutoff", "forecasts at the cutoff", noisy=True),
    )

    def fit(
        self, cfg: TrainConfig, bt: BacktestConfig, frame: Frame, lo: int, cutoff: int, probes: bool
    ) -> Fingerprint:
        check_volatility(cfg, frame)
        proxy, returns = np.exp(frame.x[:, 0]), frame.x[:, 1]
        train_end = lo + fit_split(cfg, cutoff - lo)[0]
        train_at = origins_in(cfg, lo, lo, train_end)
        val_at = origins_in(cfg, lo, train_end, cutoff)
        origin = np.array([cutoff - 1])  # the forecast made at the close of the cutoff's eve
        fits = fold_forecasts(cfg, frame, proxy, returns, lo, train_end, train_at, val_at, origin)
        head, hars = fits.net.head, list(fits.hars.values())
        har = head.har
        numbers = (head.target_mean, head.target_std, head.floor, head.scale,
                   *((None, None) if har is None else (*har.coef.tolist(), har.log, har.scale)))  # fmt: skip
        at_cutoff, var = fits.forecasts, fits.quantiles
        values = {
            "proxy": proxy[:cutoff],
            "scaler": np.concatenate([fits.net.scaler.mean, fits.net.scaler.std]),
            "weights": weights_of(fits.net.state),
            "back-transform": np.array([np.nan if v is None else float(v) for v in numbers]),
            "HAR coefficients": np.concatenate([*(m.coef for m in hars), [m.scale for m in hars]]),
            # In the order of their names and levels, which the config decides
            "VaR quantiles": np.array([q for name in sorted(var) for _, q in sorted(var[name].items())]),
            "forecasts at the cutoff": np.concatenate([np.ravel(at_cutoff[k]) for k in sorted(at_cutoff)]),
        }
        return Fingerprint(values)


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


# Each family of target a one-series model can have, made from the fold fit under test.
_AUDITED: dict[str, Callable[[FitFn], Audited]] = {
    "return": ReturnAudit,
    "volatility": lambda fit: VarianceAudit(),  # its fits are its own: no fold fit to plant
}
