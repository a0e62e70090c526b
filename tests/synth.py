"""Synthetic price series whose best possible forecast error is known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd


def bars_from_log_returns(r: np.ndarray, start: str = "2001-01-01", p0: float = 100.0) -> pd.DataFrame:
    """Daily bars on business days whose adjusted close follows the given log returns."""
    price = p0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    dates = pd.bdate_range(start, periods=len(price))
    frame = pd.DataFrame(
        {
            "open": price,
            "high": price * 1.01,
            "low": price * 0.99,
            "close": price,
            "adj_close": price,
            "volume": 1e6,
        },
        index=dates,
    )
    frame.index.name = "date"
    return frame


def ar1(n: int, phi: float = 0.5, sigma: float = 0.01, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Log returns r_t = phi r_{t-1} + eps_t; the best one-step forecast is phi r_t, error eps."""
    rng = np.random.default_rng(seed)
    eps = rng.normal(0.0, sigma, n)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + eps[t]
    return bars_from_log_returns(r), eps


def random_walk(n: int, sigma: float = 0.01, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return bars_from_log_returns(rng.normal(0.0, sigma, n))


def garch_bars(n: int, seed: int = 0, steps: int = 78) -> tuple[pd.DataFrame, np.ndarray]:
    """Daily bars from GARCH(1,1) with Student-t(6) shocks; each day an overnight gap carrying a
    fifth of the day's variance, then an intraday Brownian bridge of `steps` trades from the
    open, pinned at that day's return (the range proxies then see real highs and lows, read at
    discrete trades, and the open is not the previous close). Returns the bars and the true
    variance of each day's return known the day before."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 2e-6, 0.08, 0.9
    var = np.empty(n)
    r = np.empty(n)
    var[0] = omega / (1 - alpha - beta)
    for t in range(n):
        if t:
            var[t] = omega + alpha * r[t - 1] ** 2 + beta * var[t - 1]
        r[t] = math.sqrt(var[t]) * rng.standard_t(6) / math.sqrt(6 / 4)
    return bars_with_bridges(r, var, rng, seed, steps), var


def reversal_panel(
    days: int, tickers: int, phi: float, seed: int = 0, sigma: float = 0.01
) -> tuple[np.ndarray, float, float]:
    """(T, N) daily log returns with a planted short-term reversal: each ticker's
    idiosyncratic shock partly reverses the next day, r[t,i] = f[t] + e[t,i] - phi e[t-1,i],
    under a common market factor f. Across tickers at a date the market drops out, so the
    IC of yesterday's loser rule (-r[t]) against r[t+1] is phi / (1 + phi^2), and its rank
    IC (6/pi) asin(IC/2), both known exactly. Returns (r, ic, rank_ic)."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0, sigma, size=(days + 1, tickers))
    f = rng.normal(0, sigma, size=(days, 1))
    r = f + e[1:] - phi * e[:-1]
    ic = phi / (1 + phi**2)
    return r, ic, 6 / math.pi * math.asin(ic / 2)


def garch_panel(days: int, tickers: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) daily log returns whose variances share a common factor: each member's GARCH(1,1)
    variance is scaled by exp(g[t]), an AR(1) log-volatility factor common to all, and each
    member has its own level (a 3x range). Returns (returns, true variance known the day before)."""
    rng = np.random.default_rng(seed)
    g = np.zeros(days)
    for t in range(1, days):
        g[t] = 0.98 * g[t - 1] + rng.normal(0, 0.08)
    level = np.exp(rng.uniform(-0.5, 0.6, size=tickers))
    omega, alpha, beta = 2e-6, 0.07, 0.9
    h = np.full(tickers, omega / (1 - alpha - beta))
    r = np.empty((days, tickers))
    var = np.empty((days, tickers))
    for t in range(days):
        var[t] = h * level * math.exp(g[t])
        r[t] = np.sqrt(var[t]) * rng.standard_normal(tickers)
        h = omega + alpha * r[t] ** 2 / (level * math.exp(g[t])) + beta * h
    return r, var


def regime_bars(n: int, seed: int = 0, steps: int = 78) -> tuple[pd.DataFrame, np.ndarray]:
    """Daily bars whose volatility switches between a calm (0.7% a day) and a turbulent (3%)
    regime, a Markov chain that stays put 99.5% of days (spells of about 200 days, as 2008
    came after 2005-07), Student-t(6) shocks and the intraday bridges of `garch_bars`. Returns
    the bars and each day's true variance."""
    rng = np.random.default_rng(seed)
    state = np.zeros(n, dtype=int)
    for t in range(1, n):
        state[t] = state[t - 1] if rng.random() < 0.995 else 1 - state[t - 1]
    var = np.where(state == 1, 0.03, 0.007) ** 2
    r = np.sqrt(var) * rng.standard_t(6, n) / math.sqrt(6 / 4)
    return bars_with_bridges(r, var, rng, seed, steps), var


def bars_with_bridges(
    r: np.ndarray, var: np.ndarray, rng: np.random.Generator, seed: int, steps: int
) -> pd.DataFrame:
    """OHLC bars from daily log returns `r` with variances `var`: an overnight gap carrying a
    fifth of each day's variance, then an intraday Brownian bridge of `steps` trades pinned at
    the day's return."""
    n = len(r)
    walk = np.cumsum(rng.normal(0, 1, (n, steps)) * np.sqrt(var / steps)[:, None], axis=1)
    # The overnight part of r (its own stream, so r is the same draw as ever): variance 0.2 var.
    gap = 0.2 * r + np.random.default_rng(seed + 10_000).normal(0, 1, n) * np.sqrt(0.16 * var)
    frac = np.arange(1, steps + 1) / steps
    path = walk - frac * walk[:, -1:] + frac * (r - gap)[:, None]  # from the open to r: a bridge
    start = np.concatenate([[0.0], np.cumsum(r)[:-1]]) + math.log(100) + gap
    logp = start[:, None] + np.concatenate([np.zeros((n, 1)), path], axis=1)
    bars = pd.DataFrame(
        {
            "open": np.exp(logp[:, 0]),
            "high": np.exp(logp.max(axis=1)),
            "low": np.exp(logp.min(axis=1)),
            "close": np.exp(logp[:, -1]),
            "volume": 1e6,
        },
        index=pd.bdate_range("2000-01-03", periods=n),
    )
    bars["adj_close"] = bars["close"]
    return bars[["open", "high", "low", "close", "adj_close", "volume"]]


def store_panel(home: Path, r: np.ndarray, days: int | None = None) -> list[str]:
    """Each column of `r` stored as ticker T00, T01, ... in the store at `home` (its first
    `days` bars, or all; every column on one calendar); the tickers."""
    from lstmcast.store.db import Store
    from lstmcast.store.prices import upsert_prices

    store = Store(home)
    tickers = [f"T{i:02d}" for i in range(r.shape[1])]
    for i, t in enumerate(tickers):
        upsert_prices(store.conn, t, bars_from_log_returns(r[:, i]).iloc[:days], "synthetic")
    store.close()
    return tickers
