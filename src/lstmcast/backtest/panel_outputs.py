"""What `backtest --universe --out DIR` writes and what `--plot` draws."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.backtest.panel import PanelBacktest
from lstmcast.backtest.panel_volatility import PooledVolatility
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


def forecasts_frame(result: PooledVolatility) -> pd.DataFrame:
    """One row per (date, member) judged: every variance forecast beside the realised one."""
    dates = pd.DatetimeIndex(result.dates_tested)
    t, n = np.nonzero(np.isfinite(result.forecasts["network"]) & np.isfinite(result.realised))
    frame = pd.DataFrame({"date": dates[t].strftime("%Y-%m-%d"), "ticker": np.asarray(result.tickers)[n]})
    for name, f in result.forecasts.items():
        frame[name] = f[t, n]
    frame["realised"] = result.realised[t, n]
    return frame


def tables_of(result: PanelBacktest | PooledVolatility) -> list[tuple[str, pd.DataFrame]]:
    """The CSV files a universe backtest writes: a ranking's scores and portfolio, or a pooled
    variance network's forecasts."""
    if isinstance(result, PooledVolatility):
        return [("forecasts.csv", forecasts_frame(result))]
    return [("scores.csv", scores_frame(result)), ("portfolio.csv", portfolio_frame(result))]


def write_panel_outputs(result: PanelBacktest | PooledVolatility, out: Path) -> list[Path]:
    """The result's CSV files and metrics.json (the --json document) under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables_of(result):
        path = out / name
        atomic_write_text(path, frame.to_csv(index=False, float_format="%.8g"))
        written.append(path)
    metrics = out / "metrics.json"
    atomic_write_text(metrics, json.dumps(result.to_json(), indent=2) + "\n")
    return [*written, metrics]


def plot_panel(result: PanelBacktest | PooledVolatility, path: Path) -> Path:
    """A ranking's three panels (`plot_ranking`), or a pooled variance network's two."""
    if isinstance(result, PooledVolatility):
        return plot_pooled_variance(result, path)
    return plot_ranking(result, path)


def plot_pooled_variance(result: PooledVolatility, path: Path) -> Path:
    """The cumulative pooled QLIKE of the network less each baseline's (below zero: the
    network has lost less so far), and the skill against the best baseline by year."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lstmcast.evaluation.volatility import qlike

    dates = pd.DatetimeIndex(result.dates_tested)
    fig, (cum_ax, year_ax) = plt.subplots(2, 1, figsize=(11, 8), gridspec_kw={"height_ratios": [3, 2]})
    ok = np.isfinite(result.realised) & (result.realised > 0)

    def daily(f: np.ndarray) -> np.ndarray:
        loss = np.where(ok, qlike(np.maximum(f, 1e-12), np.where(ok, result.realised, 1.0)), np.nan)
        return np.nan_to_num(np.nanmean(np.where(np.isfinite(loss), loss, np.nan), axis=1))

    network = daily(result.forecasts["network"])
    for i, name in enumerate(n for n in result.forecasts if n != "network"):
        cum_ax.plot(dates, np.cumsum(network - daily(result.forecasts[name])), lw=1.0, color=f"C{i}",
                    label=f"network less {name}")  # fmt: skip
    cum_ax.axhline(0, color="black", lw=0.5)
    cum_ax.set_title(f"{result.universe}: pooled {result.horizon}-day variance, cumulative QLIKE difference")
    cum_ax.legend(loc="upper left", fontsize=8)
    years = [y for y in result.by_year if y.skill_vs_best is not None]
    year_ax.bar([str(y.year) for y in years], [100 * (y.skill_vs_best or 0.0) for y in years])
    year_ax.axhline(0, color="black", lw=0.5)
    year_ax.set_ylabel(f"skill vs {result.best_baseline} (%)")
    return save_png(fig, path)


def plot_ranking(result: PanelBacktest, path: Path) -> Path:
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
