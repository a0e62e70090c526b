"""`audit --target volatility`: nothing after a cutoff may reach what the volatility forecasts
are fitted from.

For every fold, the fits are run on the real bars and on bars whose values from the cutoff
date on are replaced by noise. The proxy before the cutoff, the inputs' scaler, the network's
weights and back-transform, both HARs' coefficients, the GARCH forecast, the value-at-risk
quantiles, and every forecaster's forecast at the cutoff must come out identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstmcast.backtest.audit import noised, value_gap, within_noise
from lstmcast.backtest.walkforward import fit_split, plan_folds
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.inference.volatility import origins_in
from lstmcast.prep.dataset import Frame
from lstmcast.prep.inputs import frame_for
from lstmcast.runconfig import BacktestConfig
from lstmcast.training.runtime import deterministic, pick_device
from lstmcast.training.volatility import VolFit, check_volatility, fold_forecasts

CHECKS = (
    "proxy",
    "scaler",
    "weights",
    "back-transform",
    "HAR coefficients",
    "VaR quantiles",
    "forecasts at the cutoff",
)


@dataclass
class VolFoldAudit:
    fold: int
    cutoff: str
    identical: dict[str, bool]

    @property
    def clean(self) -> bool:
        return all(self.identical.values())


@dataclass
class VolAuditReport:
    ticker: str
    folds: list[VolFoldAudit] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(f.clean for f in self.folds)

    @property
    def leaks(self) -> list[str]:
        return [
            f"fold {f.fold}: {', '.join(k for k, ok in f.identical.items() if not ok)} changed when data"
            f" from {f.cutoff} on was replaced by noise"
            for f in self.folds
            if not f.clean
        ]


@dataclass
class _Fits:
    proxy: np.ndarray
    net: VolFit
    hars: list[np.ndarray]
    quantiles: dict[str, dict[float, float]]
    at_cutoff: dict[str, np.ndarray]


def _fits(cfg: TrainConfig, bt: BacktestConfig, frame: Frame, lo: int, cutoff: int) -> _Fits:
    proxy, returns = np.exp(frame.x[:, 0]), frame.x[:, 1]
    train_end = lo + fit_split(cfg, cutoff - lo)[0]
    train_at = origins_in(cfg, lo, lo, train_end)
    val_at = origins_in(cfg, lo, train_end, cutoff)
    origin = np.array([cutoff - 1])  # the forecast made at the close of the cutoff's eve
    fits = fold_forecasts(cfg, frame, proxy, returns, lo, train_end, train_at, val_at, origin)
    hars = list(fits.hars.values())
    return _Fits(
        proxy[:cutoff],
        fits.net,
        [m.coef for m in hars] + [np.array([m.scale for m in hars])],
        fits.quantiles,
        fits.forecasts,
    )


def _numbers(f: _Fits) -> dict[str, np.ndarray]:
    """What the network's fit decides, as flat arrays: compared within the device's noise."""
    head = f.net.head
    return {
        "weights": np.concatenate([t.detach().double().cpu().numpy().ravel() for t in f.net.state.values()]),
        "back-transform": np.array(
            [
                np.nan if v is None else float(v)
                for v in (head.target_mean, head.target_std, head.floor, head.scale)
            ]
        ),
        "forecasts at the cutoff": np.concatenate([np.ravel(f.at_cutoff[k]) for k in sorted(f.at_cutoff)]),
    }


def audit_volatility(cfg: TrainConfig, bt: BacktestConfig, series: Series) -> VolAuditReport:
    """As `audit`: on a GPU in deterministic mode, with a second fit on the real bars whose
    difference from the first is the device's noise floor."""
    cfg.validate()
    bt.validate()
    device = pick_device(cfg.device)
    with deterministic(device):
        return _audit_volatility(cfg, bt, series, repeat=device.type != "cpu")


def _audit_volatility(cfg: TrainConfig, bt: BacktestConfig, series: Series, repeat: bool) -> VolAuditReport:
    frame = frame_for(cfg, series.bars, series.exog, series.ticker)
    check_volatility(cfg, frame)
    report = VolAuditReport(series.ticker)
    for fold in plan_folds(frame, cfg, bt):
        cutoff_date = frame.dates[fold.cutoff]  # frame row r is dated by bar r+1
        exog = {
            t: noised(b, cutoff_date, seed=fold.index + i + 1) for i, (t, b) in enumerate(series.exog.items())
        }
        other = frame_for(cfg, noised(series.bars, cutoff_date, seed=fold.index), exog, series.ticker)
        a = _fits(cfg, bt, frame, fold.lo, fold.cutoff)
        b = _fits(cfg, bt, other, fold.lo, fold.cutoff)
        na, nb = _numbers(a), _numbers(b)
        # The device's noise: a second fit on the same bars (on a CPU it would repeat exactly).
        nc = _numbers(_fits(cfg, bt, frame, fold.lo, fold.cutoff)) if repeat else na
        net = {k: within_noise(value_gap(na[k], nb[k]), value_gap(na[k], nc[k])) for k in na}
        identical = {
            "proxy": bool(np.array_equal(a.proxy, b.proxy)),
            "scaler": bool(
                np.array_equal(a.net.scaler.mean, b.net.scaler.mean)
                and np.array_equal(a.net.scaler.std, b.net.scaler.std)
            ),
            "weights": net["weights"],
            "back-transform": net["back-transform"]
            and a.net.head.to_dict()["har"] == b.net.head.to_dict()["har"],
            "HAR coefficients": all(np.array_equal(x, y) for x, y in zip(a.hars, b.hars, strict=True)),
            "VaR quantiles": a.quantiles == b.quantiles,
            "forecasts at the cutoff": a.at_cutoff.keys() == b.at_cutoff.keys()
            and net["forecasts at the cutoff"],
        }
        report.folds.append(VolFoldAudit(fold.index, str(cutoff_date.date()), identical))
    return report
