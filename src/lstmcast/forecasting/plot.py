"""`forecast --plot`: a fan chart of the recent path and the forecast with its intervals, or
for a volatility forecast, its level and interval over the realised volatility before it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.forecasting.result import ForecastResult
from lstmcast.forecasting.variance import VarianceForecast
from lstmcast.paths import save_png
from lstmcast.prep.volatility import variance_proxy
from lstmcast.settings import VOL_LABELS

RECENT = 120  # trading days of history before a long forecast


def recent_days(horizon: int) -> int:
    """History shown before a forecast of `horizon` days: enough to judge it, not so much that
    a short fan is a sliver at the right edge (12 days of history per day forecast, 30 to 120)."""
    return max(30, min(RECENT, 12 * horizon))


def fan_chart(history: pd.Series, result: ForecastResult, path: Path) -> Path:
    """The last RECENT adjusted closes, then the forecast path with each interval level as a
    band (the widest palest), in the format `path` names (.png, .svg, .pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = result.forecasts
    past = history.iloc[-recent_days(len(steps)) :]
    dates = pd.to_datetime([past.index[-1], *[f.date for f in steps]])
    path_prices = np.array([result.last_price, *[f.price for f in steps]])
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(past.index, past.to_numpy(), color="black", lw=1.1, label="adjusted close")
    labels = sorted({k for f in steps for k in f.intervals}, key=float, reverse=True)
    shades = np.linspace(0.15, 0.35, max(len(labels), 1))
    for label, alpha in zip(labels, shades, strict=False):
        lo = np.array([result.last_price, *[_finite(f.intervals[label][0], 0.0) for f in steps]])
        hi = np.array([result.last_price, *[_finite(f.intervals[label][1], np.nan) for f in steps]])
        ax.fill_between(dates, lo, hi, color="tab:blue", alpha=alpha, lw=0, label=f"{label}% interval")
    ax.plot(dates, path_prices, color="tab:blue", lw=1.4, marker="o", ms=3, label=f"{result.model} forecast")
    ax.axvline(past.index[-1], color="grey", lw=0.7, ls=":")
    ax.set_title(
        f"{result.ticker}: {len(steps)}-step forecast from {result.as_of}"
        f" ({result.interval_method} intervals, model {result.model_id})",
        fontsize=9,
    )
    ax.set_ylabel("adjusted close")
    ax.legend(loc="best", fontsize=8, framealpha=0.8)  # where it covers the least of the lines
    fig.autofmt_xdate()
    return save_png(fig, path)


def _finite(value: float | None, fallback: float) -> float:
    """An interval side, or `fallback` where too few errors bound it (drawn open)."""
    return fallback if value is None or not np.isfinite(value) else float(value)


def volatility_chart(bars: pd.DataFrame, result: VarianceForecast, path: Path) -> Path:
    """The realised h-day volatility (the model's own proxy, annualised) over the last year,
    then the forecast for the next h sessions as a level with its interval bands, beside
    HAR's forecast of the same days and the year's median."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lstmcast.evaluation.volatility import annualised, trailing_mean

    proxy, _ = variance_proxy(bars, result.proxy)
    realised = pd.Series(annualised(trailing_mean(proxy, result.horizon)), index=bars.index).iloc[-252:]
    start, end = realised.index[-1], pd.Timestamp(result.target_date)
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(realised.index, realised.to_numpy(), color="black", lw=1.0,
            label=f"realised {result.horizon}-day volatility ({result.proxy} proxy)")  # fmt: skip
    span = [start, end]
    labels = sorted(result.intervals, key=float, reverse=True)
    for label, alpha in zip(labels, np.linspace(0.15, 0.35, max(len(labels), 1)), strict=False):
        lo, hi = result.intervals[label]
        top = hi if np.isfinite(hi) else max(result.volatility * 2, float(realised.max()))
        ax.fill_between(
            span, [lo, lo], [top, top], color="tab:red", alpha=alpha, lw=0, label=f"{label}% interval"
        )
    ax.plot(span, [result.volatility] * 2, color="tab:red", lw=2, label=f"{result.model} forecast")
    har = VOL_LABELS.get(result.benchmark, "HAR")
    ax.plot(span, [result.har] * 2, color="tab:gray", lw=1.5, ls="--", label=f"{har}'s forecast")
    if result.year_median is not None:
        ax.axhline(result.year_median, color="grey", lw=0.6, ls=":", label="last year's median")
    ax.axvline(start, color="grey", lw=0.7, ls=":")
    ax.set_title(
        f"{result.ticker}: {result.horizon}-day volatility from {result.as_of} to {result.target_date}"
        f" (model {result.model_id})",
        fontsize=9,
    )
    ax.set_ylabel("annualised volatility, %")
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    fig.autofmt_xdate()
    return save_png(fig, path)
