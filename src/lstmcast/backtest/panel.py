"""`backtest --universe`: one network across a universe, walked forward by date, judged date by date.

The test span (the last `--test-size` of the panel's dates) is cut into `--folds` blocks.
For each, the network is fitted on samples whose outcome was known before the block (the
last `--val` share of those dates for early stopping only), with each ticker's scaler fitted
on the rows before the validation dates. Cutoffs are dates, common to every ticker; a member
enters and leaves the panel with its membership. The blocks' scores, the seeds averaged, are
judged as the literature does: daily IC and rank IC with Newey-West t and by year, a
portfolio after costs, the pooled DM against the best baseline (reversal, momentum, ridge),
and the per-ticker DM distribution adjusted with Benjamini-Hochberg. Every run prints its
universe's survivorship line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.backtest.panel_volatility import PooledVolatility, judge_variance
from lstmcast.backtest.panel_walk import PanelRun, WalkSummary, walk_panel
from lstmcast.config import TrainConfig
from lstmcast.evaluation.multiple import SharpeMoments
from lstmcast.evaluation.panel import (
    Deflated,
    ICSummary,
    PerTickerDM,
    PooledCW,
    PooledDM,
    Portfolio,
    YearReturn,
    deflate,
    ic_summary,
    per_ticker_dm,
    pooled_clark_west,
    pooled_dm,
    pooled_mcs,
    portfolio,
    ranking_strength,
    returns_by_year,
    versus,
)
from lstmcast.evaluation.panel_baselines import momentum, reversal, ridge
from lstmcast.execution.engine import Parallel
from lstmcast.jsonable import to_jsonable
from lstmcast.runconfig import BacktestConfig
from lstmcast.store.db import Store
from lstmcast.universe.members import Survivorship
from lstmcast.universe.panel import Panel, centred_ranks

BASELINES = ("reversal", "reversal_5d", "momentum", "ridge")


@dataclass(frozen=True)
class BaselineScores:
    ic_mean: float | None
    ic_t: float | None
    rank_ic_mean: float | None
    rank_ic_t: float | None
    net_sharpe: float | None
    net_return_ann: float | None


@dataclass
class PanelBacktest:
    universe: str
    target: str
    model: str
    horizon: int
    window: int
    members: int  # with prices, in the panel
    dates: int
    period: tuple[str, str]  # the test span
    folds: list[dict[str, object]]  # each block's dates and counts, with the network's rank IC there
    seeds: list[int]
    model_scores: ICSummary
    rank_ic_by_seed: list[float | None]
    baselines: dict[str, BaselineScores]
    best_baseline: str
    pooled_dm: PooledDM  # against the best baseline, on squared rank errors
    per_ticker_dm: PerTickerDM
    portfolio: Portfolio
    clark_west: PooledCW  # against the no-information score: does the network nest-beat zero
    mcs: list[str]  # the 90% MCS on the pooled squared rank errors
    by_year: list[YearReturn]  # the portfolio's net return, year by year
    deflated: Deflated  # its Sharpe, deflated for the portfolios the run compared
    survivorship: Survivorship
    size: str  # the panel's memory, in words
    notes: list[str] = field(default_factory=list)
    # For the files and the figure: the test dates and members, every score on them (the
    # network's and each baseline's), what was realised, and each baseline's portfolio.
    dates_tested: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]), repr=False)
    tickers: tuple[str, ...] = field(default=(), repr=False)
    scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    realised: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    baseline_portfolios: dict[str, Portfolio] = field(default_factory=dict, repr=False)

    def verdict(self) -> str:
        """The finding in plain words, as strong as its tests and no stronger."""
        m, b = self.model_scores, self.baselines[self.best_baseline]
        t = m.rank_ic_t
        ic = f"rank IC {_num(m.rank_ic_mean, 4)}, t {_num(t)}"
        head = {
            "noise": f"no skill: the network's ranking cannot be told from noise (rank IC t {_num(t)})",
            "backwards": f"the network ranks backwards ({ic})",
            "ranks": f"the network ranks the members ({ic})",
        }[ranking_strength(t)]
        p, best = self.pooled_dm.pvalue, self.best_baseline
        side = versus(p, self.pooled_dm.statistic)
        if side == "untested":
            against = f"no test against {best} (too few days)"
        elif side == "better":
            against = f"and beats the best baseline, {best} (pooled DM p {p:.3f})"
        elif side == "worse":
            against = f"but the best baseline, {best}, ranks better (pooled DM p {p:.3f})"
        else:
            against = (
                f"and is not better than the best baseline, {best} (rank IC {_num(b.rank_ic_mean, 4)};"
                f" pooled DM p {p:.3f})"
            )
        return f"{head}, {against}"

    def summary(self) -> WalkSummary:
        pf = self.portfolio
        active = (np.abs(pf.gross) + pf.traded) > 0
        return WalkSummary(
            metric="rank IC",
            value=self.model_scores.rank_ic_mean,
            t=self.model_scores.rank_ic_t,
            best_baseline=self.best_baseline,
            dm_statistic=self.pooled_dm.statistic,
            dm_pvalue=self.pooled_dm.pvalue,
            net_sharpe=pf.net_sharpe,
            sharpe=SharpeMoments.of(pf.net[active]),
            span=f"{self.period[0]}..{self.period[1]}",
            verdict=self.verdict(),
        )

    def to_json(self) -> dict[str, object]:
        pf = self.portfolio
        return {
            "universe": self.universe,
            "target": self.target,
            "model": self.model,
            "horizon": self.horizon,
            "window": self.window,
            "members": self.members,
            "dates": self.dates,
            "period": list(self.period),
            "seeds": self.seeds,
            "panel": {
                "ic_mean": self.model_scores.ic_mean,
                "ic_t": self.model_scores.ic_t,
                "rank_ic_mean": self.model_scores.rank_ic_mean,
                "rank_ic_t": self.model_scores.rank_ic_t,
                "rank_ic_by_seed": self.rank_ic_by_seed,
                "days": self.model_scores.days,
                "pooled_dm": {
                    "against": self.best_baseline,
                    "statistic": self.pooled_dm.statistic,
                    "pvalue": self.pooled_dm.pvalue,
                    "days": self.pooled_dm.days,
                },
                "per_ticker_dm": to_jsonable(self.per_ticker_dm),
                "by_year": to_jsonable(self.model_scores.by_year),
                "clark_west": to_jsonable(self.clark_west),
                "mcs": self.mcs,
                "rank_ic_seeds": _spread(self.rank_ic_by_seed),
            },
            "baselines": to_jsonable(self.baselines),
            "best_baseline": self.best_baseline,
            "portfolio": {
                "rule": pf.rule,
                "k": pf.k,
                "cost_bps": pf.cost_bps,
                "days": pf.days,
                "gross_return_ann": pf.gross_return_ann,
                "net_return_ann": pf.net_return_ann,
                "net_sharpe": pf.net_sharpe,
                "net_sharpe_t": pf.net_sharpe_t,
                "turnover": pf.turnover,
                "max_drawdown": pf.max_drawdown,
                "excess_over_equal_weight_ann": pf.excess_over_equal_weight_ann,
                "years_for_t3": pf.years_for_t3,
                "years_tested": pf.days / 252,
                "deflated_sharpe": to_jsonable(self.deflated),
                "by_year": to_jsonable(self.by_year),
            },
            "survivorship": to_jsonable(self.survivorship),
            "folds": to_jsonable(self.folds),
            "verdict": self.verdict(),
            "size": self.size,
            "notes": self.notes,
        }


def _spread(values: list[float | None]) -> dict[str, float | None]:
    """The seeds' mean and standard deviation (None with fewer than two)."""
    x = [v for v in values if v is not None]
    return {
        "mean": float(np.mean(x)) if x else None,
        "std": float(np.std(x, ddof=1)) if len(x) > 1 else None,
    }


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def panel_backtest(
    store: Store,
    name: str,
    train: TrainConfig,
    config: BacktestConfig,
    on_fold: Callable[[int, int], None] | None = None,
    parallel: Parallel = Parallel(),
) -> PanelBacktest | PooledVolatility:
    """Walk a universe forward by date (backtest/panel_walk.py) and judge it by its target's
    judge; the (block, seed) fits run where `parallel` says."""
    return judge(walk_panel(store, name, train, config, on_fold, parallel))


def judge(run: PanelRun) -> PanelBacktest | PooledVolatility:
    """A universe walk-forward judged by its target's judge."""
    return JUDGES[run.train.target](run)


def judge_ranking(run: PanelRun) -> PanelBacktest:
    """A ranking (rank or excess) judged date by date against the cross-sectional baselines."""
    panel, h = run.panel, run.train.horizon
    r = panel.returns()
    forward = run.outcome
    ridge_score = np.full(forward.shape, np.nan)
    for start, end in run.spans:  # the ridge is fitted in the driver: a few milliseconds a block
        ridge_score[start:end] = ridge(r, forward, slice(0, start - h))[start:end]
    folds = []
    model_all = run.by_seed.mean(axis=0)
    for fold, (start, end) in zip(run.folds, run.spans, strict=True):
        rows = slice(start, end)
        block = ic_summary(model_all[rows], forward[rows], panel.dates[rows], h)
        folds.append({**to_jsonable(fold), "rank_ic_mean": block.rank_ic_mean})
    return _judge(panel, run.universe, run.survivorship, run.train, run.config, run.plan.test_rows,
                  run.by_seed, ridge_score, forward, r, folds, run.seeds, run.size, run.truth)  # fmt: skip


def _judge(
    panel: Panel,
    name: str,
    survivorship: Survivorship,
    train: TrainConfig,
    config: BacktestConfig,
    test_rows: np.ndarray,
    by_seed: np.ndarray,
    ridge_score: np.ndarray,
    forward: np.ndarray,
    r: np.ndarray,
    folds: list[dict[str, object]],
    seeds: list[int],
    size: str,
    truth: np.ndarray,
) -> PanelBacktest:
    rows = slice(int(test_rows[0]), int(test_rows[-1]) + 1)
    dates = panel.dates[rows]
    h = train.horizon
    realised = np.where(panel.listed, forward, np.nan)[rows]
    model = by_seed.mean(axis=0)[rows]  # the seeds' average model
    scores = {
        "reversal": reversal(r, 1)[rows],
        "reversal_5d": reversal(r, 5)[rows],
        "momentum": momentum(r)[rows],
        "ridge": ridge_score[rows],
    }
    has_model = np.isfinite(model)
    scores = {k: np.where(has_model, v, np.nan) for k, v in scores.items()}  # the same cells as the model
    next_day = panel.forward(1)[rows]
    k = config.holding(len(panel.tickers))
    rule = config.rule
    summaries = {n: ic_summary(s, realised, dates, h) for n, s in scores.items()}
    baselines = {}
    books = {}
    for n, s in scores.items():
        pf = books[n] = portfolio(s, next_day, k, config.cost_bps, rule, config.n_drop)
        summ = summaries[n]
        baselines[n] = BaselineScores(
            summ.ic_mean, summ.ic_t, summ.rank_ic_mean, summ.rank_ic_t, pf.net_sharpe, pf.net_return_ann
        )

    def rank_ic(n: str) -> float:
        value = baselines[n].rank_ic_mean
        return -math.inf if value is None else value

    best = max(baselines, key=rank_ic)  # chosen on the test span: the verdict's hardest comparison
    truth_ranks = centred_ranks(realised)
    loss_model = (centred_ranks(model) - truth_ranks) ** 2
    loss_best = (centred_ranks(scores[best]) - truth_ranks) ** 2
    seed_ics = [ic_summary(by_seed[s][rows], realised, dates, h).rank_ic_mean for s in range(len(seeds))]
    book = portfolio(model, next_day, k, config.cost_bps, rule, config.n_drop)
    active = (np.abs(book.gross) + book.traded) > 0
    losses = {"network": loss_model, **{n: (centred_ranks(v) - truth_ranks) ** 2 for n, v in scores.items()}}
    cw = pooled_clark_west(truth[rows], model, np.zeros_like(model), h, "zero, the no-information score")
    notes = []
    if not survivorship.point_in_time:
        notes.append(survivorship.warning or "")
    return PanelBacktest(
        universe=name,
        target=train.target,
        model=train.model,
        horizon=h,
        window=train.window,
        members=len(panel.tickers),
        dates=len(panel.dates),
        period=(str(dates[0].date()), str(dates[-1].date())),
        folds=folds,
        seeds=seeds,
        model_scores=ic_summary(model, realised, dates, h),
        rank_ic_by_seed=seed_ics,
        baselines=baselines,
        best_baseline=best,
        pooled_dm=pooled_dm(loss_model, loss_best, h),
        per_ticker_dm=per_ticker_dm(loss_model, loss_best, h),
        portfolio=book,
        clark_west=cw,
        mcs=pooled_mcs(losses, h),
        by_year=returns_by_year(book.net, active, dates),
        deflated=deflate(book.net, [b.net for b in books.values()], active),
        survivorship=survivorship,
        size=size,
        notes=notes,
        dates_tested=dates,
        tickers=panel.tickers,
        scores={"network": model, **scores},
        realised=realised,
        baseline_portfolios=books,
    )


# Each panel target's judge: the one place a target's name picks how a universe is judged.
JUDGES: dict[str, Callable[[PanelRun], PanelBacktest | PooledVolatility]] = {
    "rank": judge_ranking,
    "excess": judge_ranking,
    "volatility": judge_variance,
}
