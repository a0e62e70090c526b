"""`backtest --universe NAME --target volatility`: one network forecasting every member's
variance, judged against per-member and pooled HARs on the same cells.

Where machine learning beats HAR in the literature it is pooled: one model across many
stocks. Each block's network (backtest/panel_walk.py) forecasts each member's mean squared
daily return over the next h days, on that member's own scale, calibrated on the block's
validation dates. Four baselines are fitted on the same training dates and calibrated by
the same rule on the same validation dates: HAR in levels and in logs per member, a pooled
log-HAR (common slopes, each member its own level), and a leverage log-HAR (Corsi & Reno
2012: the mean negative return over 1, 5 and 22 days beside the HAR terms; the network sees
returns, HAR alone does not). They are judged by QLIKE on the cells every forecaster has:
pooled (each date's mean across members), with the pooled DM against each baseline
(Holm-adjusted across the four) and the best, the per-member DM distribution
(Benjamini-Hochberg), the 90% MCS on the pooled losses, and the skill by year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.backtest.panel_walk import PanelRun, WalkSummary
from lstmcast.evaluation.multiple import holm
from lstmcast.evaluation.panel import (
    PerTickerDM,
    PooledDM,
    per_ticker_dm,
    pooled_dm,
    pooled_mcs,
    row_mean,
    versus,
)
from lstmcast.evaluation.pooled_baselines import (
    POOLED_BASELINES,
    block_baselines,
    panel_regressors,
    pooled_mean,
    qlike_losses,
    skill,
)
from lstmcast.jsonable import to_jsonable
from lstmcast.universe.members import Survivorship

PROXY = "the squared close-to-close log return (a panel holds closes)"


def baseline_forecasts(run: PanelRun) -> dict[str, np.ndarray]:
    """Each baseline's (T, N) forecasts on every block: fitted on the block's training dates,
    calibrated on its validation dates, as the network is."""
    h = run.train.horizon
    columns = panel_regressors(run.panel)
    out = {name: np.full(run.outcome.shape, np.nan) for name in POOLED_BASELINES}
    for fold, (start, end) in zip(run.folds, run.spans, strict=True):
        fit = np.arange(run.plan.first, max(fold.val_start - h, run.plan.first))
        made = block_baselines(columns, run.outcome, fit, slice(fold.val_start, start - h), slice(start, end))
        for name, f in made.items():
            out[name][start:end] = f[start:end]
    return out


@dataclass(frozen=True)
class AgainstOne:
    statistic: float | None  # pooled DM on QLIKE: negative, the network's loss is lower
    pvalue: float | None
    pvalue_holm: float | None  # adjusted across the baselines


@dataclass(frozen=True)
class YearSkill:
    year: int
    days: int
    skill_vs_best: float | None  # 1 - the network's pooled QLIKE / the best baseline's, that year


@dataclass
class PooledVolatility:
    universe: str
    target: str
    model: str
    horizon: int
    window: int
    members: int
    dates: int
    period: tuple[str, str]
    seeds: list[int]
    qlike: dict[str, float | None]  # pooled mean QLIKE of the network and each baseline
    skill_vs: dict[str, float | None]  # 1 - the network's QLIKE / the baseline's
    best_baseline: str
    pooled_dm: PooledDM  # against the best baseline (chosen with hindsight: the hardest)
    against_each: dict[str, AgainstOne]
    per_ticker_dm: PerTickerDM  # against the best baseline
    mcs: list[str]
    by_year: list[YearSkill]
    skill_by_seed: list[float | None]
    survivorship: Survivorship
    folds: list[dict[str, object]]
    size: str
    cells: int  # (date, member) cells every forecaster has
    notes: list[str] = field(default_factory=list)
    forecasts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # (test dates, N)
    realised: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    dates_tested: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]), repr=False)
    tickers: tuple[str, ...] = field(default=(), repr=False)

    @property
    def survivors(self) -> int:
        """Baselines the network beats at 5% after Holm's adjustment."""
        return sum(1 for a in self.against_each.values() if versus(a.pvalue_holm, a.statistic) == "better")

    def verdict(self) -> str:
        best = self.best_baseline
        skill = self.skill_vs[best]
        p, stat = self.pooled_dm.pvalue, self.pooled_dm.statistic
        words = "–" if skill is None else f"{skill:+.1%}"
        tail = f"; it beats {self.survivors} of {len(self.against_each)} baselines after Holm's correction"
        side = versus(p, stat)
        if side == "untested":
            return f"no test against {best} (too few days){tail}"
        if side == "better":
            head = f"the pooled network forecasts variance better than the best baseline, {best}"
        elif side == "worse":
            head = f"the best baseline, {best}, forecasts variance better than the pooled network"
        else:
            head = f"the pooled network cannot be told from the best baseline, {best}"
        return f"{head} (QLIKE skill {words}, pooled DM p {p:.3f}){tail}"

    def summary(self) -> WalkSummary:
        return WalkSummary(
            metric="QLIKE skill vs the best baseline",
            value=self.skill_vs[self.best_baseline],
            t=None,
            best_baseline=self.best_baseline,
            dm_statistic=self.pooled_dm.statistic,
            dm_pvalue=self.pooled_dm.pvalue,
            net_sharpe=None,
            sharpe=None,
            span=f"{self.period[0]}..{self.period[1]}",
            verdict=self.verdict(),
        )

    def to_json(self) -> dict[str, object]:
        skip = {"forecasts", "realised", "dates_tested", "tickers"}
        doc: dict[str, object] = to_jsonable(
            {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skip}
        )
        doc["pooled_dm"] = {"against": self.best_baseline, **to_jsonable(self.pooled_dm)}
        doc["proxy"] = PROXY
        doc["survivors_holm"] = self.survivors
        doc["verdict"] = self.verdict()
        return doc


def judge_variance(run: PanelRun) -> PooledVolatility:
    """The pooled network's variance forecasts against the baselines, on the same cells."""
    panel, h = run.panel, run.train.horizon
    rows = run.test_rows
    realised = np.where(panel.listed, run.outcome, np.nan)[rows]
    network = run.by_seed.mean(axis=0)[rows]  # the seeds' average model
    others = {k: v[rows] for k, v in baseline_forecasts(run).items()}
    forecasts = {"network": network, **others}
    losses, common = qlike_losses(forecasts, realised)

    def loss(f: np.ndarray) -> np.ndarray:
        return qlike_losses({"f": f, **others}, realised)[0]["f"]

    pooled = {k: pooled_mean(v) for k, v in losses.items()}
    skills = {k: skill(pooled["network"], pooled[k]) for k in POOLED_BASELINES}
    best = min(POOLED_BASELINES, key=lambda k: math.inf if pooled[k] is None else pooled[k])  # type: ignore[arg-type, return-value]
    tests = {k: pooled_dm(losses["network"], losses[k], h) for k in POOLED_BASELINES}
    adjusted = holm([t.pvalue for t in tests.values()])
    dates = panel.dates[rows]
    years = []
    for year in sorted(set(dates.year)):
        at = dates.year == year
        years.append(
            YearSkill(int(year), int(np.isfinite(row_mean(losses["network"][at])).sum()),
                      skill(pooled_mean(losses["network"][at]), pooled_mean(losses[best][at])))
        )  # fmt: skip
    seed_skill = [skill(pooled_mean(loss(run.by_seed[s][rows])), pooled[best]) for s in range(len(run.seeds))]
    notes = [] if run.survivorship.point_in_time else [run.survivorship.warning or ""]
    folds = [to_jsonable(f) for f in run.folds]
    return PooledVolatility(
        universe=run.universe,
        target="volatility",
        model=run.train.model,
        horizon=h,
        window=run.train.window,
        members=len(panel.tickers),
        dates=len(panel.dates),
        period=(str(dates[0].date()), str(dates[-1].date())),
        seeds=run.seeds,
        qlike=pooled,
        skill_vs=skills,
        best_baseline=best,
        pooled_dm=tests[best],
        against_each={
            k: AgainstOne(t.statistic, t.pvalue, a) for (k, t), a in zip(tests.items(), adjusted, strict=True)
        },
        per_ticker_dm=per_ticker_dm(losses["network"], losses[best], h),
        mcs=pooled_mcs(losses, h),
        by_year=years,
        skill_by_seed=seed_skill,
        survivorship=run.survivorship,
        folds=folds,
        size=run.size,
        cells=int(common.sum()),
        notes=notes,
        forecasts=forecasts,
        realised=realised,
        dates_tested=dates,
        tickers=panel.tickers,
    )
