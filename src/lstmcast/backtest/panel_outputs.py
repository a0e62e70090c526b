"""What `backtest --universe --out DIR` writes and what `--plot` draws."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.backtest.panel import PanelBacktest
from lstmcast.evaluation.panel import daily_ic
from lstmcast.paths import atomic_write_text, save_png


def scores_frame(result: PanelBacktest) -> pd.DataFrame:
    """One row per (date, member) scored: every score beside what was realised."""
    dates = pd.DatetimeIndex(result.dates_tested)
    t, n = np.nonzero(np.isfinite(result.scores["network"]))
    frame = pd.DataFrame({"date": dates[t].strftime("%Y-%m-%d"), "ticker": np.asarray(result.tickers)[n]})
    for name, s in result.scores.items():
        frame[name] = s[t, n]
    frame["realised"] = result.realised[t, n]
    return frame


def portfolio_frame(result: PanelBacktest) -> pd.DataFrame:
    """Each test date's portfolio returns (gross, net, traded) and every baseline's net."""
    pf = result.portfolio
    frame = pd.DataFrame(
        {"date": pd.DatetimeIndex(result.dates_tested).strftime("%Y-%m-%d"), "gross": pf.gross, "net": pf.net,
         "traded": pf.traded}
    )  # fmt: skip
    for name, book in result.baseline_portfolios.items():
        frame[f"{name}_net"] = book.net
    return frame


def write_panel_outputs(result: PanelBacktest, out: Path) -> list[Path]:
    """scores.csv, portfolio.csv and metrics.json (the --json document) under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("scores.csv", scores_frame(result)), ("portfolio.csv", portfolio_frame(result))):
        path = out / name
        atomic_write_text(path, frame.to_csv(index=False, float_format="%.8g"))
        written.append(path)
    metrics = out / "metrics.json"
    atomic_write_text(metrics, json.dumps(result.to_json(), indent=2) + "\n")
    return [*written, metrics]


def plot_panel(result: PanelBacktest, path: Path) -> Path:
    """Three panels: cumulative net returns of the network's portfolio beside each
    baseline's, the network's rank IC by year against the best baseline's, and turnover."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dates = pd.DatetimeIndex(result.dates_tested)
    fig, (cum_ax, ic_ax, turn_ax) = plt.subplots(
        3, 1, figsize=(11, 10), gridspec_kw={"height_ratios": [3, 2, 1]}
    )
    pf = result.portfolio
    cum_ax.plot(dates, np.cumprod(1 + pf.net) - 1, color="tab:blue", lw=1.3, label=f"{result.model} (net)")
    for i, (name, book) in enumerate(result.baseline_portfolios.items()):
        cum_ax.plot(dates, np.cumprod(1 + book.net) - 1, lw=0.8, ls="--", color=f"C{i + 1}", label=name)
    cum_ax.axhline(0, color="black", lw=0.5)
    cum_ax.set_title(
        f"{result.universe}: {pf.rule}, k {pf.k}, {pf.cost_bps:g} bp per half-turn; cumulative net return"
    )
    cum_ax.legend(loc="upper left", fontsize=8)
    years = sorted(set(dates.year))
    width = 0.4
    for offset, (label, name) in enumerate(
        (("network", "network"), (result.best_baseline, result.best_baseline))
    ):
        ric = daily_ic(result.scores[name], result.realised)[1]
        means = [float(np.nanmean(ric[dates.year == y])) if np.isfinite(ric[dates.year == y]).any() else 0.0
                 for y in years]  # fmt: skip
        ic_ax.bar(np.arange(len(years)) + (offset - 0.5) * width, means, width, label=label)
    ic_ax.set_xticks(np.arange(len(years)), [str(y) for y in years], rotation=45, fontsize=8)
    ic_ax.axhline(0, color="black", lw=0.5)
    ic_ax.set_ylabel("mean rank IC")
    ic_ax.legend(fontsize=8)
    turn_ax.plot(dates, pf.traded, color="tab:gray", lw=0.6)
    turn_ax.set_ylabel("traded / day")
    return save_png(fig, path)
