"""A price path: `horizon` dated forecasts from the newest bar, with calibrated intervals.

The forecast a return or price model makes, from a saved model (torch or its ONNX export),
with no store: `forecasting.one.PathKind` runs it for `forecast` and `daily`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.config import INTERVAL_LEVELS
from lstmcast.data.series import Series
from lstmcast.errors import ConfigError, DataError
from lstmcast.evaluation.scoring import daily_returns, har_sigma
from lstmcast.forecasting.calendar import next_sessions
from lstmcast.forecasting.intervals import interval_bounds, volatility_now
from lstmcast.forecasting.result import Forecast, PathForecast, level_label
from lstmcast.inference.predictor import OnnxFitted, reaches_further, run_out_to
from lstmcast.prep.inputs import frame_for
from lstmcast.registry.saved import LoadedModel
from lstmcast.runconfig import DEFAULT_INTERVALS
from lstmcast.target import target_of

if TYPE_CHECKING:
    from lstmcast.training.fitted import Fitted


def _for_horizon(loaded: LoadedModel, horizon: int) -> Fitted | OnnxFitted:
    f = loaded.fitted
    if horizon <= f.config.horizon:
        return f
    if not reaches_further(f.config):
        raise ConfigError(
            f"model {loaded.id} forecasts {f.config.horizon} steps; ask for at most that,"
            " or retrain with --horizon"
        )
    return run_out_to(f, horizon)


def predict_path(
    loaded: LoadedModel,
    series: Series,
    horizon: int,
    calendar: str,
    levels: tuple[float, ...] = INTERVAL_LEVELS,
    method: str = DEFAULT_INTERVALS,
    alphas: dict[tuple[float, int], float] | None = None,
    sessions_cache: Path | None = None,
) -> PathForecast:
    """Forecast `horizon` trading days after the newest bar, with the 80/95% intervals the
    ledger keeps and any other `levels` asked for, made by `method` (ACI: at `alphas`)."""
    fitted = _for_horizon(loaded, horizon)
    frame = frame_for(fitted.config, series.bars, series.exog, series.ticker)
    if frame.n < fitted.config.window:
        raise DataError(
            f"{series.ticker}: {frame.n} bars stored, the model needs a window of {fitted.config.window}"
        )
    at = np.array([frame.n - 1])
    y = fitted.predict(frame, at)[0, :horizon]  # (H,) target units
    last = float(frame.price[-1])
    # Cumulative log return from the last close to each step.
    cum = np.log(y / last) if target_of(fitted.config.target).in_prices else np.cumsum(y)
    as_of = frame.day(-1)
    days = next_sessions(as_of, horizon, calendar, sessions_cache)
    every = tuple(dict.fromkeys((*INTERVAL_LEVELS, *levels)))  # the ledger's two first, no repeats
    sigma, ratio = volatility_now(daily_returns(frame))
    scaled = loaded.scaled_residuals()
    used = method
    if method == "vol":
        by_har = loaded.vol_scaled_residuals()
        if by_har is not None:
            # HAR's volatility for tomorrow: the HAR the stored errors were divided by.
            scaled, sigma = by_har, float(har_sigma(frame, at, frame.n, loaded.vol_har())[0])
        else:
            used = "aci"  # a model saved before `vol` kept no errors over HAR's volatility
    if scaled is None:
        used = "empirical"  # a model saved before 0.2 kept no scaled errors
    q = interval_bounds(used, loaded.residuals(), scaled, horizon, every, sigma, alphas, loaded.id)
    # Adjusted prices sit below quoted ones by the dividends and splits since; show both.
    quoted = float(series.bars["close"][-1])
    to_quoted = quoted / float(series.bars["adj_close"][-1]) if np.isfinite(quoted) else None
    out = []
    for k in range(horizon):
        centre = last * float(np.exp(cum[k]))
        bands = {
            level_label(lv): [_bound(centre, q[k, 2 * i]), _bound(centre, q[k, 2 * i + 1])]
            for i, lv in enumerate(every)
        }
        (lo80, hi80), (lo95, hi95) = bands["80"], bands["95"]
        chosen = {level_label(lv): bands[level_label(lv)] for lv in levels}
        open_ended = [label for label, pair in chosen.items() if any(np.isnan(pair))]
        out.append(
            Forecast(
                date=days[k].isoformat(),
                step=k + 1,
                price=centre,
                log_return=float(cum[k]),
                lower_80=lo80,
                upper_80=hi80,
                lower_95=lo95,
                upper_95=hi95,
                intervals=chosen,
                close=None if to_quoted is None else centre * to_quoted,
                unbounded=open_ended,
            )
        )
    return PathForecast(as_of.isoformat(), last, out, used, sigma, ratio)


def _bound(centre: float, offset: float) -> float:
    """A price bound from a log offset; NaN for an unbounded side (an infinite offset)."""
    return centre * float(np.exp(offset)) if np.isfinite(offset) else math.nan
