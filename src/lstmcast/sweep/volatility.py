"""Sweeps of the volatility target: each cell a volatility backtest, each ticker x model row
judged against log-HAR (and the other HARs) on the seeds' average forecast, p-values adjusted across
the sweep, and membership of each ticker's 90% Model Confidence Set."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcast.backtest.run import run_walk
from lstmcast.backtest.volatility import NAMES, VolatilityWalk
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.multiple import benjamini_hochberg, holm
from lstmcast.evaluation.stats import model_confidence_set
from lstmcast.runconfig import BacktestConfig
from lstmcast.sweep.cells import Cell, VolCell

SIGNIFICANCE = 0.05


def run_vol_cell(bars: dict[str, pd.DataFrame], ticker: str, cfg: TrainConfig, bt: BacktestConfig) -> VolCell:
    """One volatility backtest with one seed: every forecaster's forecasts and what happened."""
    result = run_walk(VolatilityWalk(), cfg, bt, Series(ticker, bars[ticker], "sweep"))
    scores = V.score_variance(result.outcome.forecasts["model"], result.outcome.realised)
    benchmark = V.score_variance(result.outcome.forecasts[V.BENCHMARK], result.outcome.realised)
    return VolCell(
        cfg.horizon,
        1 - scores.qlike / benchmark.qlike,  # this seed's own forecast
        {n: result.outcome.forecasts[n] for n in NAMES},
        result.outcome.realised,
    )


@dataclass
class VolRow:
    """One ticker x model of a volatility sweep: the seeds' average forecast against log-HAR."""

    ticker: str
    model: str
    seeds: int
    forecast: str
    benchmark: str
    qlike: float
    skill_vs_har: float
    skill_vs_har_lev: float
    skill_vs_naive: float
    skill_seed_std: float
    dm_pvalue: float | None
    dm_pvalue_adjusted: float | None = None  # for every row of the sweep
    in_mcs: bool = False  # in its ticker's 90% MCS
    beats_har: bool = False


def vol_leaderboard(cells: list[tuple[Cell, VolCell]], adjust: str = "bh") -> tuple[list[VolRow], int]:
    """One row per ticker x model, about one forecast: the seeds' average. QLIKE skill against
    log-HAR (the pre-specified benchmark), the leverage HAR and naive, Diebold-Mariano against
    log-HAR (HAC), that p adjusted
    for every row of the sweep, and whether the row is in its ticker's 90% MCS (the models
    of that ticker and its baselines)."""
    groups: dict[tuple[str, str], list[VolCell]] = {}
    for c, result in cells:
        groups.setdefault((c.ticker, c.model), []).append(result)
    rows: list[VolRow] = []
    by_ticker: dict[str, dict[str, np.ndarray]] = {}
    for (ticker, model), group in groups.items():
        first = group[0]
        realised = first.realised
        average = np.mean([g.forecasts["model"] for g in group], axis=0)
        benchmark = first.forecasts[V.BENCHMARK]
        naive = first.forecasts["naive"]
        q = V.score_variance(average, realised).qlike
        _, p = V.dm_qlike(average, benchmark, realised, first.horizon)
        skills = [g.skill_vs_har for g in group]
        rows.append(
            VolRow(
                ticker=ticker,
                model=model,
                seeds=len(group),
                forecast="one seed" if len(group) == 1 else f"average of {len(group)} seeds",
                benchmark=V.BENCHMARK,
                qlike=q,
                skill_vs_har=1 - q / V.score_variance(benchmark, realised).qlike,
                skill_vs_har_lev=1 - q / V.score_variance(first.forecasts["har_lev"], realised).qlike,
                skill_vs_naive=1 - q / V.score_variance(naive, realised).qlike,
                skill_seed_std=float(np.std(skills, ddof=1)) if len(skills) > 1 else 0.0,
                dm_pvalue=None if not math.isfinite(p) else float(p),
            )
        )
        losses = by_ticker.setdefault(ticker, {})
        losses[model] = V.qlike(average, realised)
        for name in V.VOL_BASELINES:
            losses.setdefault(name, V.qlike(first.forecasts[name], realised))
    horizon = cells[0][1].horizon if cells else 1
    mcs = {t: set(model_confidence_set(losses, horizon)) for t, losses in by_ticker.items()}
    adjusted = (holm if adjust == "holm" else benjamini_hochberg)([r.dm_pvalue for r in rows])
    for r, a in zip(rows, adjusted, strict=True):
        r.dm_pvalue_adjusted = a
        r.in_mcs = r.model in mcs[r.ticker]
        r.beats_har = bool(r.skill_vs_har > 0 and a is not None and a < SIGNIFICANCE)
    rows.sort(key=lambda r: -r.skill_vs_har)
    return rows, sum(r.beats_har for r in rows)
