"""`backtest --target volatility`: walk-forward variance forecasts against HAR and the others.

Each fold fits the network on rows before its cutoff only: the inputs' scaler, the network
(early stopping and its back-transform on the fold's validation origins) and the value-at-
risk quantiles. The baselines (HAR in levels, in logs and with leverage terms, EWMA and
GARCH, the last two rescaled to the proxy's scale by the proxy-to-squared-return ratio) are
re-estimated inside the test block every `--refit-every` origins on all data known by then,
as a practitioner runs them. The pooled test forecasts are then scored: QLIKE, MSE and
Mincer-Zarnowitz R^2 per forecaster, skill against each HAR and naive, Diebold-Mariano on
the QLIKE differential against each HAR (the pre-specified benchmark is log-HAR), the 90%
Model Confidence Set, the hits of the 1-day 95% and 99% value-at-risk, and the same skill
and DM with every forecaster under one rolling recalibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcast.backtest.result import Backtest, Outcome
from lstmcast.backtest.walkforward import Fold, FoldSummary, block_origins, fit_split, summarise_fold
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.errors import ConfigError, DataError
from lstmcast.evaluation import volatility as V
from lstmcast.inference.volatility import origins_in
from lstmcast.jsonable import to_jsonable
from lstmcast.prep.dataset import Frame
from lstmcast.prep.inputs import frame_for
from lstmcast.runconfig import BacktestConfig
from lstmcast.training.volatility import check_volatility, fold_forecasts

NAMES = ("model", *V.VOL_BASELINES)


@dataclass(frozen=True)
class VolFoldScores:
    """A volatility fold's QLIKE, every forecaster's."""

    qlike: dict[str, float]


@dataclass
class VolatilityOutcome:
    """The volatility target's part of a backtest: every forecaster's variance forecasts (the
    model's the seeds' average), what was realised, the VaR hits and the scores, once."""

    at: np.ndarray  # (N,) origins
    realised: np.ndarray  # (N,) the proxy's mean over the next h rows
    forecasts: dict[str, np.ndarray]  # name -> (N,) variance forecasts
    hits: dict[str, dict[float, np.ndarray]]  # name -> VaR level -> (N,) next-day hit or not
    scored: V.VolScores  # the pooled scores and tests, computed once

    def n_predictions(self) -> int:
        return len(self.at)

    def period(self, frame: Frame, horizon: int) -> list[str]:
        d = frame.dates
        return [str(d[self.at[0] + 1].date()), str(d[min(self.at[-1] + horizon, len(d) - 1)].date())]

    def annualised(self) -> dict[str, float]:
        """Each forecaster's mean forecast as annualised volatility, in percent."""
        return {n: float(V.annualised(np.mean(self.forecasts[n]))) for n in NAMES}

    def block(self, result: Backtest[Outcome]) -> dict[str, object]:
        """The "volatility" block of the --json document: the proxy, each forecaster's mean
        forecast as annualised volatility, and the scores and tests, as JSON values."""
        return {
            "proxy": result.frame.vol_proxy,  # a close-only series falls back to squared returns
            "horizon": result.config.horizon,
            "annualised": self.annualised(),
            **to_jsonable(self.scored),
            "refit_every": result.bt.refit_every,
            "stale_opens": result.frame.stale_report(),
        }

    def to_json(self, result: Backtest[Outcome]) -> dict[str, object]:
        cfg = result.config
        return {
            "loss": cfg.loss,
            "residual_on": cfg.residual_on,
            "notes": result.notes,
            "volatility": self.block(result),
        }


VolatilityBacktest = Backtest[VolatilityOutcome]


@dataclass
class VolFoldRun:
    """One seed's fold: its origins, every forecaster's forecasts and the value-at-risk hits;
    plain arrays, no model."""

    fold: Fold
    at: np.ndarray
    forecasts: dict[str, np.ndarray]
    hits: dict[str, dict[float, np.ndarray]]
    # The network's 1-day forecasts (test and training origins) and the next day's returns at
    # the training origins: the seeds' average takes its VaR quantiles from its own residuals.
    model_one_day: np.ndarray
    model_one_day_train: np.ndarray
    train_next: np.ndarray


@dataclass(frozen=True)
class VolData:
    """What every fold of a volatility walk-forward reads: the frame, its daily variance proxy
    and its daily log returns. Sent to each worker once."""

    frame: Frame
    proxy: np.ndarray
    returns: np.ndarray


class VolatilityWalk:
    """The volatility target's part of the one walk-forward (`backtest.run.backtest`): its
    data, one seed's fold, and the seeds' folds judged together against HAR."""

    def prepare(self, cfg: TrainConfig, series: Series, others: list[Series]) -> tuple[TrainConfig, VolData]:
        if others:
            raise ConfigError("--target volatility backtests one ticker at a time (no global model yet)")
        frame = frame_for(cfg, series.bars, series.exog, series.ticker)
        check_volatility(cfg, frame)
        return cfg, VolData(frame, np.exp(frame.x[:, 0]), frame.x[:, 1])

    def frame_of(self, data: VolData) -> Frame:
        return data.frame

    def run_fold(self, cfg: TrainConfig, data: VolData, bt: BacktestConfig, fold: Fold) -> VolFoldRun:
        """Fit every forecaster (the network with `cfg.seed`) on the rows before the fold's
        cutoff and forecast its block."""
        frame, proxy, returns = data.frame, data.proxy, data.returns
        lo, h = fold.lo, cfg.horizon
        train_rows, _ = fit_split(cfg, fold.cutoff - lo)
        train_end = lo + train_rows
        train_at = origins_in(cfg, lo, lo, train_end)
        val_at = origins_in(cfg, lo, train_end, fold.cutoff)
        test_at = block_origins(fold, frame.n, h)
        if len(train_at) < 100 or len(val_at) < 20 or not len(test_at):
            raise DataError(
                f"fold {fold.index} has {len(train_at)} training and {len(val_at)} validation origins"
                " after HAR's 22-day warm-up: use fewer --folds, a smaller --test-size or more data"
            )
        fits = fold_forecasts(
            cfg, frame, proxy, returns, lo, train_end, train_at, val_at, test_at, refit_every=bt.refit_every
        )
        fc = fits.forecasts
        # Value-at-risk: each forecaster's own 1-day forecast, its quantile from its own
        # standardised residuals on the training origins.
        hits = fits.hits(returns[test_at + 1])
        return VolFoldRun(
            fold,
            test_at,
            {n: fc[n] for n in NAMES},
            hits,
            fits.one_day["model"],
            fits.one_day_train["model"],
            fits.train_next,
        )

    def finish(
        self,
        cfg: TrainConfig,
        bt: BacktestConfig,
        series: Series,
        data: VolData,
        runs: list[list[VolFoldRun]],
    ) -> VolatilityBacktest:
        """Every seed's folds (runs[seed][fold]) as one backtest: the model is the seeds'
        average forecast, as the return verdict's is; the baselines do not depend on the seed."""
        frame, proxy = data.frame, data.proxy
        folds: list[FoldSummary[Any]] = []
        parts = []
        for k, first in enumerate(runs[0]):
            model = np.mean([seed_runs[k].forecasts["model"] for seed_runs in runs], axis=0)
            forecasts = {**first.forecasts, "model": model}
            one_day = np.mean([seed_runs[k].model_one_day for seed_runs in runs], axis=0)
            one_day_train = np.mean([seed_runs[k].model_one_day_train for seed_runs in runs], axis=0)
            quantiles = V.own_var_quantiles({"model": one_day_train}, first.train_next)
            hits = V.var_hits_of({"model": one_day}, data.returns[first.at + 1], quantiles)
            parts.append((first.at, forecasts, {**first.hits, **hits}))
            realised = V.forward_mean(proxy, cfg.horizon, first.at)
            qlike = {n: float(np.mean(V.qlike(forecasts[n], realised))) for n in NAMES}
            folds.append(summarise_fold(frame, first.fold, len(first.at), VolFoldScores(qlike)))
        at = np.concatenate([a for a, _, _ in parts])
        forecasts = {n: np.concatenate([fc[n] for _, fc, _ in parts]) for n in NAMES}
        hits = {
            n: {lv: np.concatenate([h[n][lv] for _, _, h in parts]) for lv in V.VAR_LEVELS} for n in NAMES
        }
        realised = V.forward_mean(proxy, cfg.horizon, at)
        scored = V.score_all(forecasts, realised, at, cfg.horizon, hits, cfg.seed)
        outcome = VolatilityOutcome(at, realised, forecasts, hits, scored)
        return Backtest(series.ticker, cfg, bt, frame, folds, outcome)
