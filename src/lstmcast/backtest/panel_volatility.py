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
from typing import Any

import numpy as np
import pandas as pd

from lstmcast.backtest.panel_walk import PanelRun
from lstmcast.evaluation.multiple import holm
from lstmcast.evaluation.panel import PerTickerDM, PooledDM, per_ticker_dm, pooled_dm, pooled_mcs, row_mean
from lstmcast.evaluation.volatility import HAR_LAGS, qlike
from lstmcast.jsonable import to_jsonable
from lstmcast.universe.members import Survivorship
from lstmcast.universe.targets import VARIANCE_FLOOR, calibration, squared_returns

VOL_BASELINES = ("har", "log_har", "pooled_log_har", "leverage_har")
PROXY = "the squared close-to-close log return (a panel holds closes)"
MIN_FIT = 50  # a member with fewer training rows gets no per-member HAR


def _trailing(x: np.ndarray, k: int) -> np.ndarray:
    """(T, N) each column's mean over its last k rows (NaN unless all k are finite)."""
    return np.asarray(pd.DataFrame(x).rolling(k, min_periods=k).mean().to_numpy())


def har_regressors(sq: np.ndarray, r: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Each baseline's (T, N) regressors, each trailing mean computed once: the 1-, 5- and
    22-day mean proxy (HAR), their logs (log-HARs), and the logs beside the mean negative
    return over the same spans (the leverage HAR)."""
    levels = [_trailing(sq, k) for k in HAR_LAGS]
    logs = [np.log(np.maximum(c, VARIANCE_FLOOR)) for c in levels]
    negative = [_trailing(np.minimum(r, 0.0), k) for k in HAR_LAGS]
    return {"har": levels, "log_har": logs, "pooled_log_har": logs, "leverage_har": logs + negative}


def _design(cols: list[np.ndarray], rows: np.ndarray, j: int) -> np.ndarray:
    return np.column_stack([np.ones(len(rows)), *[c[rows, j] for c in cols]])


def per_member_har(
    cols: list[np.ndarray], y: np.ndarray, fit: np.ndarray, predict: slice, log: bool
) -> np.ndarray:
    """(T, N) forecasts on the `predict` rows, one OLS per member on its `fit` rows."""
    out = np.full(y.shape, np.nan)
    rows = np.arange(y.shape[0])[predict]
    for j in range(y.shape[1]):
        x = _design(cols, fit, j)
        target = np.log(np.maximum(y[fit, j], VARIANCE_FLOOR)) if log else y[fit, j]
        ok = np.isfinite(x).all(axis=1) & np.isfinite(target)
        if ok.sum() < MIN_FIT:
            continue
        coef, *_ = np.linalg.lstsq(x[ok], target[ok], rcond=None)
        made = _design(cols, rows, j) @ coef
        out[rows, j] = np.exp(made) if log else np.maximum(made, VARIANCE_FLOOR)
    return out


def pooled_log_har(cols: list[np.ndarray], y: np.ndarray, fit: np.ndarray, predict: slice) -> np.ndarray:
    """(T, N) a log-HAR with slopes common to every member and each member's own level: OLS on
    the fit rows, each member's variables less its own means there."""
    logy = np.log(np.maximum(y, VARIANCE_FLOOR))
    xs = np.stack([c[fit] for c in cols], axis=-1)  # (rows, N, k)
    ys = logy[fit]
    ok = np.isfinite(xs).all(axis=-1) & np.isfinite(ys)
    counts = ok.sum(axis=0)
    xm = np.where(ok[..., None], xs, 0.0).sum(axis=0) / np.maximum(counts, 1)[:, None]
    ym = np.where(ok, ys, 0.0).sum(axis=0) / np.maximum(counts, 1)
    dx = (xs - xm)[ok]
    dy = (ys - ym)[ok]
    out = np.full(y.shape, np.nan)
    if len(dy) < MIN_FIT:
        return out
    slopes, *_ = np.linalg.lstsq(dx, dy, rcond=None)
    rows = np.arange(y.shape[0])[predict]
    now = np.stack([c[rows] for c in cols], axis=-1)
    made = ym + ((now - xm) @ slopes)
    out[rows] = np.where(counts >= MIN_FIT, np.exp(made), np.nan)
    return out


def baseline_forecasts(run: PanelRun) -> dict[str, np.ndarray]:
    """Each baseline's (T, N) forecasts on every block: fitted on the block's training dates,
    calibrated on its validation dates, as the network is."""
    panel, h = run.panel, run.train.horizon
    sq = np.where(panel.listed, squared_returns(panel), np.nan)
    r = np.where(panel.listed, panel.returns(), np.nan)
    y = run.outcome
    columns = har_regressors(sq, r)
    out = {name: np.full(y.shape, np.nan) for name in VOL_BASELINES}
    members = np.arange(y.shape[1])
    for fold, (start, end) in zip(run.folds, run.spans, strict=True):
        fit = np.arange(run.plan.first, max(fold.val_start - h, run.plan.first))
        cal = slice(fold.val_start, start - h)
        both = slice(fold.val_start, end)  # calibration dates, then the block
        made = {
            "har": per_member_har(columns["har"], y, fit, both, log=False),
            "log_har": per_member_har(columns["log_har"], y, fit, both, log=True),
            "pooled_log_har": pooled_log_har(columns["pooled_log_har"], y, fit, both),
            "leverage_har": per_member_har(columns["leverage_har"], y, fit, both, log=True),
        }
        for name, f in made.items():
            t, n = np.nonzero(np.isfinite(f[cal]))
            t = t + cal.start
            ratio = calibration(y[t, n], f[t, n], n, len(members))
            out[name][start:end] = f[start:end] * ratio[None, :]
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
    folds: list[dict[str, Any]]
    size: str
    cells: int  # (date, member) cells every forecaster has
    notes: list[str] = field(default_factory=list)
    forecasts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # (test dates, N)
    realised: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    dates_tested: Any = field(default=None, repr=False)
    tickers: tuple[str, ...] = field(default=(), repr=False)

    @property
    def survivors(self) -> int:
        """Baselines the network beats at 5% after Holm's adjustment."""
        return sum(
            1
            for a in self.against_each.values()
            if a.pvalue_holm is not None and a.pvalue_holm < 0.05 and (a.statistic or 0) < 0
        )

    def verdict(self) -> str:
        best = self.best_baseline
        skill = self.skill_vs[best]
        p, stat = self.pooled_dm.pvalue, self.pooled_dm.statistic
        words = "–" if skill is None else f"{skill:+.1%}"
        tail = f"; it beats {self.survivors} of {len(self.against_each)} baselines after Holm's correction"
        if p is None or stat is None:
            return f"no test against {best} (too few days){tail}"
        if p < 0.05 and stat < 0:
            head = f"the pooled network forecasts variance better than the best baseline, {best}"
        elif p < 0.05:
            head = f"the best baseline, {best}, forecasts variance better than the pooled network"
        else:
            head = f"the pooled network cannot be told from the best baseline, {best}"
        return f"{head} (QLIKE skill {words}, pooled DM p {p:.3f}){tail}"

    def to_json(self) -> dict[str, Any]:
        skip = {"forecasts", "realised", "dates_tested", "tickers"}
        doc: dict[str, Any] = to_jsonable(
            {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skip}
        )
        doc["pooled_dm"] = {"against": self.best_baseline, **doc["pooled_dm"]}
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
    common = np.isfinite(network) & (realised > 0) & np.all([np.isfinite(v) for v in others.values()], axis=0)
    forecasts = {"network": network, **others}

    def loss(f: np.ndarray) -> np.ndarray:
        return np.where(common, qlike(np.maximum(f, VARIANCE_FLOOR), np.where(common, realised, 1.0)), np.nan)

    losses = {k: loss(f) for k, f in forecasts.items()}
    pooled = {k: _mean(v) for k, v in losses.items()}
    skill = {k: _skill(pooled["network"], pooled[k]) for k in VOL_BASELINES}
    best = min(VOL_BASELINES, key=lambda k: math.inf if pooled[k] is None else pooled[k])  # type: ignore[arg-type, return-value]
    tests = {k: pooled_dm(losses["network"], losses[k], h) for k in VOL_BASELINES}
    adjusted = holm([t.pvalue for t in tests.values()])
    dates = panel.dates[rows]
    years = []
    for year in sorted(set(dates.year)):
        at = dates.year == year
        years.append(
            YearSkill(int(year), int(np.isfinite(row_mean(losses["network"][at])).sum()),
                      _skill(_mean(losses["network"][at]), _mean(losses[best][at])))
        )  # fmt: skip
    seed_skill = [_skill(_mean(loss(run.by_seed[s][rows])), pooled[best]) for s in range(len(run.seeds))]
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
        skill_vs=skill,
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


def _mean(x: np.ndarray) -> float | None:
    """The mean of each date's mean loss across members: the pooled loss."""
    daily = row_mean(x)
    daily = daily[np.isfinite(daily)]
    return float(daily.mean()) if len(daily) else None


def _skill(model: float | None, base: float | None) -> float | None:
    return None if model is None or not base else 1 - model / base
