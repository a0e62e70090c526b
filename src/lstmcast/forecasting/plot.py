"""`forecast --plot`: a fan chart of the recent path and the forecast with its intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.forecasting.result import ForecastResult
from lstmcast.paths import save_png

RECENT = 120  # trading days of history before the forecast


def fan_chart(history: pd.Series, result: ForecastResult, path: Path) -> Path:
    """The last RECENT adjusted closes, then the forecast path with each interval level as a
    band (the widest palest), in the format `path` names (.png, .svg, .pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    past = history.iloc[-RECENT:]
    steps = result.forecasts
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
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    return save_png(fig, path)


def _finite(value: float | None, fallback: float) -> float:
    """An interval side, or `fallback` where too few errors bound it (drawn open)."""
    return fallback if value is None or not np.isfinite(value) else float(value)
