"""A backtest's files, for every target: metrics.json (the result's JSON) and the target's own
tables as CSV (returns: predictions.csv and equity.csv; volatility: forecasts.csv), and its
figure (returns: forecast against actual, error advantage, strategy, drawdown, interval
coverage; volatility: realised against the model and HAR, their cumulative QLIKE difference,
and the value-at-risk hits)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lstmcast.backtest.result import Backtest, Outcome
from lstmcast.backtest.run import ReturnBacktest, ReturnOutcome
from lstmcast.backtest.strategy import drawdown_curve
from lstmcast.backtest.volatility import NAMES, VolatilityBacktest, VolatilityOutcome
from lstmcast.evaluation.scoring import to_price
from lstmcast.evaluation.volatility import BENCHMARK, annualised, qlike
from lstmcast.jsonable import to_jsonable
from lstmcast.paths import atomic_write_text, save_png
from lstmcast.settings import VOL_LABELS as LABELS
from lstmcast.target import target_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def predictions_frame(result: ReturnBacktest) -> pd.DataFrame:
    """One row per forecast (step 1, every seed): target date, actual and each forecast in price,
    and the model's interval at each level in price (`lower_80`, `upper_80`, ...), as made at
    the origin from errors already known then. A side too few errors bound is 0 or inf."""
    rows = []
    f = result.frame
    for run in result.outcome.runs:
        wf = run.wf
        cols = {
            "date": f.dates[wf.at + 1].strftime("%Y-%m-%d"),
            "origin": f.dates[wf.at].strftime("%Y-%m-%d"),
            "actual": f.price[wf.at + 1],
        }
        for name, y in wf.preds.items():
            cols[name] = to_price(f, wf.at, y)[:, 0]
        bands = run.intervals
        for level in bands.levels if bands is not None else ():
            label = f"{level * 100:g}"
            with np.errstate(over="ignore"):  # an unbounded side is exp(inf)
                cols[f"lower_{label}"] = cols["model"] * np.exp(bands.lower[level][:, 0])
                cols[f"upper_{label}"] = cols["model"] * np.exp(bands.upper[level][:, 0])
        cols["fold"] = wf.fold_of
        cols["seed"] = np.full(len(wf.at), wf.seed)
        rows.append(pd.DataFrame(cols))
    return pd.concat(rows, ignore_index=True)


def equity_frame(result: ReturnBacktest) -> pd.DataFrame:
    run = result.outcome.first
    f = result.frame
    return pd.DataFrame(
        {
            "date": f.dates[run.wf.at + 1].strftime("%Y-%m-%d"),
            "position": run.strategy.positions,
            "strategy": run.strategy.equity,
            "buy_and_hold": run.buy_and_hold.equity,
            "drawdown": drawdown_curve(run.strategy.equity),
        }
    )


def _csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue()


def write_outputs(result: Backtest[Outcome], out_dir: Path) -> list[Path]:
    """The target's tables and metrics.json in `out_dir`, each written whole or not at all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = _TABLES[target_of(result.config.target).family](result)
    files = {out_dir / f"{name}.csv": _csv(frame) for name, frame in tables.items()}
    files[out_dir / "metrics.json"] = json.dumps(to_jsonable(result.to_json()), indent=2) + "\n"
    for path, text in files.items():
        atomic_write_text(path, text)
    return list(files)


def plot(result: Backtest[Outcome], path: Path) -> Path:
    """The target's figure of the backtest, as a PNG at `path`."""
    return _FIGURES[target_of(result.config.target).family](result, path)


def _return_tables(result: ReturnBacktest) -> dict[str, pd.DataFrame]:
    return {"predictions": predictions_frame(result), "equity": equity_frame(result)}


def plot_returns(result: ReturnBacktest, path: Path) -> Path:
    """Five panels: actual vs forecast price, cumulative error advantage over naive, rolling
    interval coverage against its nominal level, equity vs buy-and-hold, drawdown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pred = predictions_frame(result)
    pred = pred[pred["seed"] == result.outcome.first.wf.seed]
    eq = equity_frame(result)
    dates = pd.to_datetime(pred["date"])
    fig, axes = plt.subplots(
        5, 1, figsize=(11, 13), sharex=True, gridspec_kw={"height_ratios": [3, 1.5, 1.5, 2, 1]}
    )
    price_ax, gain_ax, cover_ax, eq_ax, dd_ax = axes
    ax = price_ax
    ax.plot(dates, pred["actual"], color="black", lw=1.2, label="actual")
    ax.plot(dates, pred["model"], color="tab:blue", lw=0.9, label=f"{result.config.model} forecast")
    ax.plot(dates, pred["naive"], color="tab:gray", lw=0.8, ls="--", label="naive (yesterday)")
    for fold_start in pred.groupby("fold")["date"].first().iloc[1:]:
        ax.axvline(pd.Timestamp(fold_start), color="tab:red", lw=0.6, alpha=0.5)
    skill = result.outcome.first.scores.target["model"].skill_vs_naive
    cw = result.outcome.verdict.vs_naive.pvalue if result.outcome.verdict else None
    ax.set_title(
        f"{result.ticker} walk-forward, {len(result.outcome.first.wf.folds)} folds (red lines):"
        f" skill vs naive {skill:+.2%}" + ("" if cw is None else f", Clark-West p = {cw:.2f}")
    )
    ax.set_ylabel("price")
    ax.legend(loc="upper left")
    # Where does the model beat the random walk? Rising = better than naive over that stretch.
    # In log-price (return) units, like the skill in the title; dollar errors would weight
    # the later, pricier bars more.
    log_err = {k: np.log(pred[k] / pred["actual"]) for k in ("naive", "model")}
    gain = np.cumsum(log_err["naive"] ** 2 - log_err["model"] ** 2)
    gain_ax.plot(dates, gain, color="tab:blue", lw=1.0)
    gain_ax.axhline(0, color="black", lw=0.6)
    gain_ax.set_ylabel("Σ sq. log error,\nnaive − model")
    gain_ax.set_title(
        "cumulative squared-error advantage over naive in return units (up = model better)", fontsize=9
    )
    _coverage_panel(cover_ax, dates, result)
    eq_ax.plot(dates, eq["buy_and_hold"], color="black", lw=1.0, label="buy and hold")
    eq_ax.plot(
        dates,
        eq["strategy"],
        color="tab:blue",
        lw=1.0,
        ls="--",
        zorder=3,
        label=f"strategy ({result.bt.rule}, {result.bt.cost_bps:g} bp)",
    )
    eq_ax.set_ylabel("equity")
    eq_ax.legend(loc="upper left")
    dd_ax.fill_between(dates, eq["drawdown"] * 100, 0, color="tab:red", alpha=0.4, label="strategy")
    dd_ax.plot(
        dates,
        drawdown_curve(eq["buy_and_hold"].to_numpy()) * 100,
        color="black",
        lw=0.8,
        label="buy and hold",
    )
    dd_ax.set_ylabel("drawdown %")
    dd_ax.legend(loc="lower left")
    return save_png(fig, path)


ROLLING_COVERAGE = 250  # bars: about a trading year


def _coverage_panel(ax: Axes, dates: pd.Series, result: ReturnBacktest) -> None:
    """Rolling coverage of the one-step intervals, each level against its nominal line."""
    run = result.outcome.first
    actual = np.log(
        result.frame.price[run.wf.at + 1] / to_price(result.frame, run.wf.at, run.wf.preds["model"])[:, 0]
    )
    for level, color in zip(run.intervals.levels, ("tab:blue", "tab:purple"), strict=False):
        inside = (actual >= run.intervals.lower[level][:, 0]) & (actual <= run.intervals.upper[level][:, 0])
        rolling = pd.Series(inside.astype(float)).rolling(ROLLING_COVERAGE, min_periods=ROLLING_COVERAGE // 2)
        ax.plot(dates, rolling.mean().to_numpy() * 100, color=color, lw=1.0, label=f"{level:.0%} interval")
        ax.axhline(level * 100, color=color, lw=0.7, ls="--")
    ax.set_ylabel(f"coverage %\n(rolling {ROLLING_COVERAGE})")
    ax.set_title(f"interval coverage ({run.intervals.method}) against nominal (dashed)", fontsize=9)
    ax.legend(loc="lower left", fontsize=8)


def forecasts_frame(result: VolatilityBacktest) -> pd.DataFrame:
    """One row per origin: the realised proxy mean and every forecast, as annualised volatility."""
    d, o = result.frame.dates, result.outcome
    cols: dict[str, object] = {
        "origin": d[o.at].strftime("%Y-%m-%d"),
        "realised": annualised(o.realised),
    }
    for name in NAMES:
        cols[name] = annualised(o.forecasts[name])
    return pd.DataFrame(cols)


def _variance_tables(result: VolatilityBacktest) -> dict[str, pd.DataFrame]:
    return {"forecasts": forecasts_frame(result)}


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


# Each family of target a one-series backtest has: its tables, and its figure.
_TABLES: dict[str, Callable[[Backtest[Outcome]], dict[str, pd.DataFrame]]] = {
    "return": lambda r: _return_tables(r.of(ReturnOutcome)),
    "volatility": lambda r: _variance_tables(r.of(VolatilityOutcome)),
}
_FIGURES: dict[str, Callable[[Backtest[Outcome], Path], Path]] = {
    "return": lambda r, path: plot_returns(r.of(ReturnOutcome), path),
    "volatility": lambda r, path: plot_volatility(r.of(VolatilityOutcome), path),
}
