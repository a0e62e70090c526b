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
import torch

from lstmcast.backtest.audit import noised
from lstmcast.backtest.walkforward import fit_split, plan_folds
from lstmcast.config import BacktestConfig, TrainConfig
from lstmcast.data.series import Series
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.intervals import ewma_sigma
from lstmcast.prep.dataset import Frame
from lstmcast.training.inputs import frame_for
from lstmcast.training.vol_predict import origins_in
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
    quantiles: dict[float, float]
    at_cutoff: dict[str, np.ndarray]


def _fits(cfg: TrainConfig, bt: BacktestConfig, frame: Frame, lo: int, cutoff: int) -> _Fits:
    proxy, returns = np.exp(frame.x[:, 0]), frame.x[:, 1]
    train_end = lo + fit_split(cfg, cutoff - lo)[0]
    train_at = origins_in(cfg, lo, lo, train_end)
    val_at = origins_in(cfg, lo, train_end, cutoff)
    origin = np.array([cutoff - 1])  # the forecast made at the close of the cutoff's eve
    fits = fold_forecasts(cfg, bt, frame, proxy, returns, lo, train_end, train_at, val_at, origin)
    sigma = ewma_sigma(returns[lo:train_end], shrink=0.0)
    hars = list(fits.hars.values())
    return _Fits(
        proxy[:cutoff],
        fits.nets[0],
        [m.coef for m in hars] + [np.array([m.scale for m in hars])],
        V.var_quantiles(returns[lo:train_end], sigma),
        fits.forecasts,
    )


def _same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def audit_volatility(cfg: TrainConfig, bt: BacktestConfig, series: Series) -> VolAuditReport:
    cfg.validate()
    bt.validate()
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
        identical = {
            "proxy": bool(np.array_equal(a.proxy, b.proxy)),
            "scaler": bool(
                np.array_equal(a.net.scaler.mean, b.net.scaler.mean)
                and np.array_equal(a.net.scaler.std, b.net.scaler.std)
            ),
            "weights": _same_state(a.net.state, b.net.state),
            "back-transform": a.net.head.to_dict() == b.net.head.to_dict(),
            "HAR coefficients": all(np.array_equal(x, y) for x, y in zip(a.hars, b.hars, strict=True)),
            "VaR quantiles": a.quantiles == b.quantiles,
            "forecasts at the cutoff": all(
                np.array_equal(a.at_cutoff[k], b.at_cutoff[k]) for k in a.at_cutoff
            ),
        }
        report.folds.append(VolFoldAudit(fold.index, str(cutoff_date.date()), identical))
    return report
