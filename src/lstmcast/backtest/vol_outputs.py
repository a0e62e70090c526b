"""Volatility backtest files: forecasts.csv, metrics.json, and the PNG (realised volatility
against the model and HAR, their cumulative QLIKE difference, and the value-at-risk hits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmcast.backtest.volatility import NAMES, VolatilityBacktest
from lstmcast.evaluation.volatility import BENCHMARK, annualised, qlike
from lstmcast.jsonable import to_jsonable
from lstmcast.paths import atomic_write_text, save_png
from lstmcast.settings import VOL_LABELS as LABELS


def forecasts_frame(result: VolatilityBacktest) -> pd.DataFrame:
    """One row per origin: the realised proxy mean and every forecast, as annualised volatility."""
    d, o = result.frame.dates, result.outcome
    cols: dict[str, Any] = {
        "origin": d[o.at].strftime("%Y-%m-%d"),
        "realised": annualised(o.realised),
    }
    for name in NAMES:
        cols[name] = annualised(o.forecasts[name])
    return pd.DataFrame(cols)


def write_vol_outputs(result: VolatilityBacktest, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, metrics = out_dir / "forecasts.csv", out_dir / "metrics.json"
    atomic_write_text(csv, forecasts_frame(result).to_csv(index=False))
    atomic_write_text(metrics, json.dumps(to_jsonable(result.to_json()), indent=2) + "\n")
    return [csv, metrics]


def plot_volatility(result: VolatilityBacktest, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    o = result.outcome
    har = BENCHMARK
    dates = pd.to_datetime(result.frame.dates[o.at + 1])
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True, height_ratios=[3, 2, 1])
    ax = axes[0]
    ax.plot(dates, annualised(o.realised), color="lightgray", lw=0.8, label="realised (proxy)")
    ax.plot(
        dates,
        annualised(o.forecasts["model"]),
        color="tab:blue",
        lw=1.0,
        label=result.config.model,
    )
    ax.plot(
        dates,
        annualised(o.forecasts[BENCHMARK]),
        color="tab:orange",
        lw=1.0,
        label=LABELS[har],
    )
    ax.set_ylabel(f"{result.config.horizon}-day volatility, % a year")
    ax.set_title(f"{result.ticker}: {result.frame.vol_proxy} proxy, walk-forward against {LABELS[har]}")
    ax.legend(loc="upper left", fontsize=8)
    gain = np.cumsum(qlike(o.forecasts[BENCHMARK], o.realised) - qlike(o.forecasts["model"], o.realised))
    axes[1].plot(dates, gain, color="tab:green")
    axes[1].axhline(0, color="black", lw=0.6)
    axes[1].set_ylabel(f"cumulative QLIKE,\n{LABELS[har]} minus model")
    returns = result.frame.x[o.at + 1, 1]
    axes[2].plot(dates, returns * 100, color="gray", lw=0.5)
    hit = o.hits["model"][0.99]
    axes[2].scatter(dates[hit], returns[hit] * 100, color="tab:red", s=10, label="99% VaR hit")
    axes[2].set_ylabel("next-day\nreturn, %")
    axes[2].set_title(f"model's 1-day 99% VaR: {int(hit.sum())} hits in {len(hit)} days", fontsize=9)
    return save_png(fig, path)
