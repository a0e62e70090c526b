"""Judging forecasts across a panel, date by date: IC, portfolios after costs, pooled tests.

The field's way (Fischer & Krauss 2018; Gu, Kelly & Xiu 2020; qlib): at each date, how well
do the scores order the tickers (the information coefficient, Pearson, and the rank IC,
Spearman), and what would a long-short portfolio on them have earned after costs. A single
series of daily values is then tested with a Newey-West t, so a panel's many tickers give
the power that one ticker cannot. The pooled Diebold-Mariano test takes the cross-sectional
average loss differential at each date (Gu, Kelly & Xiu); the per-ticker tests are shown as a
distribution, adjusted with Benjamini-Hochberg.

Every input is a (T, N) array (dates x tickers) with NaN where a ticker is not listed or its
outcome is unknown; the score at t may use only what is known at t's close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.evaluation.multiple import benjamini_hochberg, deflated_sharpe, per_period_sharpe
from lstmcast.evaluation.stats import (
    clark_west_differential,
    clark_west_test,
    hac_dm,
    model_confidence_set,
    newey_west_t,
)
from lstmcast.universe.panel import MIN_NAMES, ranks

TRADING_DAYS = 252


def row_mean(x: np.ndarray) -> np.ndarray:
    """(T,) each row's mean over its finite values; NaN for a row without one (no warning)."""
    finite = np.isfinite(x)
    n = finite.sum(axis=1)
    return np.divide(np.where(finite, x, 0.0).sum(axis=1), n, out=np.full(len(x), np.nan), where=n > 0)


def _row_corr(a: np.ndarray, b: np.ndarray, min_names: int) -> np.ndarray:
    both = np.isfinite(a) & np.isfinite(b)
    n = both.sum(axis=1)
    a0, b0 = np.where(both, a, 0.0), np.where(both, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma, mb = a0.sum(axis=1) / n, b0.sum(axis=1) / n
        da, db = np.where(both, a - ma[:, None], 0.0), np.where(both, b - mb[:, None], 0.0)
        corr = (da * db).sum(axis=1) / np.sqrt((da**2).sum(axis=1) * (db**2).sum(axis=1))
    return np.where(n >= min_names, corr, np.nan)


def daily_ic(
    score: np.ndarray, realised: np.ndarray, min_names: int = MIN_NAMES
) -> tuple[np.ndarray, np.ndarray]:
    """(T,) the IC (Pearson) and the rank IC (Spearman) of each date's scores against what
    happened, over the tickers with both; NaN on a date with fewer than `min_names`."""
    both = np.isfinite(score) & np.isfinite(realised)
    s, r = np.where(both, score, np.nan), np.where(both, realised, np.nan)
    return _row_corr(s, r, min_names), _row_corr(ranks(s), ranks(r), min_names)


@dataclass(frozen=True)
class YearIC:
    year: int
    days: int
    rank_ic_mean: float | None
    rank_ic_t: float | None


@dataclass(frozen=True)
class ICSummary:
    """A score's daily IC and rank IC, their means and Newey-West t, and by year."""

    days: int
    ic_mean: float | None
    ic_t: float | None
    rank_ic_mean: float | None
    rank_ic_t: float | None
    by_year: list[YearIC] = field(default_factory=list)


def ranking_strength(t: float | None) -> str:
    """What a rank IC's Newey-West t says, for every verdict on a ranking: "noise" (|t| < 2,
    or no t), "backwards" (significantly negative) or "ranks"."""
    if t is None or abs(t) < 2:
        return "noise"
    return "backwards" if t < 0 else "ranks"


def _f(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def ic_summary(
    score: np.ndarray, realised: np.ndarray, dates: pd.DatetimeIndex, horizon: int = 1
) -> ICSummary:
    """Mean IC and rank IC with Newey-West t (lags at least horizon-1: h-day outcomes overlap)."""
    ic, ric = daily_ic(score, realised)
    lags = (
        None if horizon <= 1 else max(horizon - 1, math.floor(4 * (np.isfinite(ric).sum() / 100) ** (2 / 9)))
    )
    years = []
    for year in sorted(set(dates.year)):
        rows = np.asarray(dates.year == year)
        x = ric[rows]
        days = int(np.isfinite(x).sum())
        if days:
            years.append(
                YearIC(int(year), days, _f(float(np.mean(x[np.isfinite(x)]))), _f(newey_west_t(x, lags)[0]))
            )
    return ICSummary(
        days=int(np.isfinite(ric).sum()),
        ic_mean=_f(float(np.mean(ic[np.isfinite(ic)]))) if np.isfinite(ic).any() else None,
        ic_t=_f(newey_west_t(ic, lags)[0]),
        rank_ic_mean=_f(float(np.mean(ric[np.isfinite(ric)]))) if np.isfinite(ric).any() else None,
        rank_ic_t=_f(newey_west_t(ric, lags)[0]),
        by_year=years,
    )


# --- Portfolios --------------------------------------------------------------------------


@dataclass(frozen=True)
class Portfolio:
    """A daily-rebalanced portfolio on the scores, before and after costs."""

    rule: str  # long_short (top k long, bottom k short), long_flat (long top k), topk_dropout
    k: int
    cost_bps: float  # per half-turn: each unit of value traded costs this
    days: int
    gross_return_ann: float | None
    net_return_ann: float | None
    net_sharpe: float | None  # annualised, on daily net returns
    net_sharpe_t: float | None  # Newey-West t of the mean daily net return
    turnover: float | None  # mean daily value traded, per unit of gross exposure
    max_drawdown: float | None  # of the net value path, a fraction (0.25 = fell 25%)
    excess_over_equal_weight_ann: float | None  # net, less the equal-weight universe
    years_for_t3: float | None  # at this Sharpe, the years of data a t of 3 would need
    gross: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # (T,) daily
    net: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    traded: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))


def long_short_weights(score: np.ndarray, k: int) -> np.ndarray:
    """(T, N) +1/k on each date's k best-scored tickers and -1/k on its k worst; a date with
    fewer than 2k scored tickers holds nothing (cash)."""
    w = np.zeros(score.shape)
    finite = np.isfinite(score)
    order = np.argsort(np.where(finite, score, np.inf), axis=1, kind="stable")  # NaN last
    for t in range(score.shape[0]):
        n = int(finite[t].sum())
        if n < 2 * k:
            continue
        w[t, order[t, :k]] = -1.0 / k
        w[t, order[t, n - k : n]] = 1.0 / k
    return w


def long_only_weights(score: np.ndarray, k: int) -> np.ndarray:
    """(T, N) 1/k on each date's k best-scored tickers (none on a date with fewer than k)."""
    w = np.zeros(score.shape)
    finite = np.isfinite(score)
    order = np.argsort(np.where(finite, -score, np.inf), axis=1, kind="stable")
    for t in range(score.shape[0]):
        if finite[t].sum() >= k:
            w[t, order[t, :k]] = 1.0 / k
    return w


def topk_dropout_weights(score: np.ndarray, k: int, n_drop: int) -> np.ndarray:
    """qlib's TopkDropoutStrategy, long only: hold k tickers; each date sell at most `n_drop` of
    the held ones that score worst (and any no longer scored) for the best-scored not held.
    It trades far less than re-picking the top k every day."""
    w = np.zeros(score.shape)
    held: list[int] = []
    for t in range(score.shape[0]):
        s = score[t]
        ok = np.isfinite(s)
        if ok.sum() < k:
            held = []
            continue
        held = [i for i in held if ok[i]]
        ranked = [int(i) for i in np.argsort(-np.where(ok, s, -np.inf), kind="stable") if ok[i]]
        candidates = [i for i in ranked if i not in held]
        drop = sorted(held, key=lambda i: s[i])[: max(0, min(n_drop, len(held) - (k - n_drop)))]
        held = [i for i in held if i not in drop]
        held += candidates[: k - len(held)]
        w[t, held] = 1.0 / k
    return w


def portfolio(
    score: np.ndarray,
    next_return: np.ndarray,
    k: int,
    cost_bps: float,
    rule: str = "long_short",
    n_drop: int = 1,
) -> Portfolio:
    """Hold the rule's weights from each date's close to the next (`next_return` (T, N), the
    next day's log return), paying `cost_bps` per unit traded. Positions use only scores known
    at the decision; a ticker without a next return contributes nothing that day."""
    if k < 1:
        raise ValueError("k must be at least 1")
    weights = {
        "long_short": lambda: long_short_weights(score, k),
        "long_flat": lambda: long_only_weights(score, k),
        "topk_dropout": lambda: topk_dropout_weights(score, k, n_drop),
    }
    if rule not in weights:
        raise ValueError(f"unknown portfolio rule {rule!r}")
    w = weights[rule]()
    simple = np.where(np.isfinite(next_return), np.expm1(next_return), 0.0)
    gross = (w * simple).sum(axis=1)
    traded = np.abs(np.diff(w, axis=0, prepend=np.zeros((1, w.shape[1])))).sum(axis=1)
    net = gross - traded * cost_bps / 1e4
    active = np.abs(w).sum(axis=1) > 0
    equal = row_mean(np.where(np.isfinite(next_return), simple, np.nan))
    days = int(active.sum())
    if days < 2:
        none = dict.fromkeys(
            ("gross_return_ann", "net_return_ann", "net_sharpe", "net_sharpe_t", "turnover", "max_drawdown",
             "excess_over_equal_weight_ann", "years_for_t3")
        )  # fmt: skip
        return Portfolio(rule, k, cost_bps, days, **none, gross=gross, net=net, traded=traded)
    g, n, eq = gross[active], net[active], equal[active]
    sd = float(n.std(ddof=1))
    sharpe = float(n.mean() / sd * math.sqrt(TRADING_DAYS)) if sd > 0 else math.nan
    value = np.cumprod(1 + n)
    drawdown = float(np.max(1 - value / np.maximum.accumulate(value)))
    exposure = np.abs(w).sum(axis=1)[active]
    return Portfolio(
        rule=rule,
        k=k,
        cost_bps=cost_bps,
        days=days,
        gross_return_ann=_f(float(g.mean() * TRADING_DAYS)),
        net_return_ann=_f(float(n.mean() * TRADING_DAYS)),
        net_sharpe=_f(sharpe),
        net_sharpe_t=_f(newey_west_t(n)[0]),
        turnover=_f(float((traded[active] / exposure).mean())),
        max_drawdown=_f(drawdown),
        excess_over_equal_weight_ann=_f(
            float(np.mean(n - np.where(np.isfinite(eq), eq, 0.0)) * TRADING_DAYS)
        ),
        years_for_t3=_f((3 / sharpe) ** 2) if math.isfinite(sharpe) and sharpe > 0 else None,
        gross=gross,
        net=net,
        traded=traded,
    )


# --- Pooled and per-ticker tests -----------------------------------------------------------


def versus(pvalue: float | None, statistic: float | None, level: float = 0.05) -> str:
    """A model against its comparator by a DM test whose negative statistic means the model's
    loss is lower: "better" or "worse" (significant at `level`), "same" (not), or "untested"
    (too few days for a test)."""
    if pvalue is None or statistic is None:
        return "untested"
    if pvalue >= level:
        return "same"
    return "better" if statistic < 0 else "worse"


@dataclass(frozen=True)
class PooledDM:
    """Gu-Kelly-Xiu: DM on the cross-sectional average loss differential, one series."""

    statistic: float | None  # negative: the model's loss is lower
    pvalue: float | None
    days: int


def pooled_dm(loss_model: np.ndarray, loss_base: np.ndarray, horizon: int = 1) -> PooledDM:
    d = loss_model - loss_base
    counts = np.isfinite(d).sum(axis=1)
    daily = np.divide(np.nansum(d, axis=1), counts, out=np.full(len(d), np.nan), where=counts > 0)
    daily = daily[np.isfinite(daily)]
    stat, p = hac_dm(daily, horizon)
    return PooledDM(_f(stat), _f(p), len(daily))


@dataclass(frozen=True)
class PerTickerDM:
    """Each ticker's own DM test, as a distribution, adjusted for their number."""

    tickers: int
    model_better: int  # negative statistic
    significant_raw: int  # p < 0.05 before adjustment, either way
    significant_bh: int  # after Benjamini-Hochberg across the tickers
    significant_better_bh: int  # ... and the model the better one


def per_ticker_dm(
    loss_model: np.ndarray, loss_base: np.ndarray, horizon: int = 1, alpha: float = 0.05
) -> PerTickerDM:
    stats, ps = [], []
    for j in range(loss_model.shape[1]):
        d = loss_model[:, j] - loss_base[:, j]
        d = d[np.isfinite(d)]
        if len(d) < 20:
            continue
        s, p = hac_dm(d, horizon)
        if math.isfinite(s) and math.isfinite(p):
            stats.append(s)
            ps.append(p)
    adjusted = benjamini_hochberg(ps)
    sig = [a is not None and a < alpha for a in adjusted]
    return PerTickerDM(
        tickers=len(stats),
        model_better=sum(s < 0 for s in stats),
        significant_raw=sum(p < alpha for p in ps),
        significant_bh=sum(sig),
        significant_better_bh=sum(b and s < 0 for b, s in zip(sig, stats, strict=True)),
    )


@dataclass(frozen=True)
class PooledCW:
    """Clark-West on the cross-sectional average of the adjusted differential, one series:
    whether the model beats a forecast it nests (the no-information one, zero)."""

    against: str
    statistic: float | None  # positive: the model is better
    pvalue: float | None  # one-sided
    days: int


def pooled_clark_west(
    realised: np.ndarray, model: np.ndarray, base: np.ndarray, horizon: int = 1, against: str = "zero"
) -> PooledCW:
    """(T, N) outcomes and both forecasts on the same scale: each date's mean adjusted
    differential, tested once (Clark & West 2007, pooled as Gu, Kelly & Xiu pool DM)."""
    cells = clark_west_differential(realised - model, realised - base)
    daily = row_mean(np.where(np.isfinite(cells), cells, np.nan))
    daily = daily[np.isfinite(daily)]
    stat, p = clark_west_test(daily, horizon)
    return PooledCW(against, _f(stat), _f(p), len(daily))


def pooled_mcs(losses: dict[str, np.ndarray], horizon: int = 1) -> list[str]:
    """The 90% Model Confidence Set on each forecaster's cross-sectional mean loss per date
    (the dates where every one has a loss): the forecasters it cannot tell from the best."""
    daily = {name: row_mean(x) for name, x in losses.items()}
    common = np.all([np.isfinite(d) for d in daily.values()], axis=0)
    if common.sum() < 30:
        return []
    return model_confidence_set({n: d[common] for n, d in daily.items()}, horizon)


@dataclass(frozen=True)
class YearReturn:
    year: int
    days: int
    net_return: float | None  # the year's mean daily net return, times 252
    net_sharpe: float | None


def returns_by_year(net: np.ndarray, active: np.ndarray, dates: pd.DatetimeIndex) -> list[YearReturn]:
    """A portfolio's net return and Sharpe in each calendar year: whether an edge faded."""
    out = []
    for year in sorted(set(dates.year)):
        x = net[(dates.year == year) & active]
        sd = float(x.std(ddof=1)) if len(x) > 2 else 0.0
        out.append(
            YearReturn(
                int(year),
                len(x),
                _f(float(x.mean() * TRADING_DAYS)) if len(x) else None,
                _f(float(x.mean() / sd * math.sqrt(TRADING_DAYS))) if sd > 0 else None,
            )
        )
    return out


@dataclass(frozen=True)
class Deflated:
    """The deflated Sharpe ratio (Bailey & Lopez de Prado) of the model's portfolio, against
    the best of the strategies tried by luck alone."""

    trials: int  # strategies compared: the network and every baseline's portfolio
    probability: float | None  # that its true Sharpe beats the luckiest of them


def deflate(model_net: np.ndarray, others: list[np.ndarray], active: np.ndarray) -> Deflated:
    """The network's daily net returns deflated for every portfolio the run compared."""
    books = [model_net, *others]
    sharpes = [per_period_sharpe(b[active]) for b in books]
    finite = [x for x in sharpes if math.isfinite(x)]
    variance = float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0
    return Deflated(len(books), deflated_sharpe(model_net[active], len(books), variance))
