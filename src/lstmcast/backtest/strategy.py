"""Turning forecasts into positions and positions into an equity curve, with costs.

The position held over bar t -> t+1 is decided from the forecast made at the close of t;
it never uses the return it earns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmcast.runconfig import TRADING_DAYS


@dataclass(frozen=True)
class StrategyStats:
    total_return: float
    cagr: float
    volatility: float  # annualised
    sharpe: float  # annualised, zero risk-free rate
    max_drawdown: float  # negative fraction
    turnover: float  # sum of |position change|, entries and exits both count
    trades: int  # number of position changes
    hit_rate: float | None  # share of bars in the market that earned money (before costs)
    exposure: float  # share of bars with a position


@dataclass(frozen=True)
class Simulation:
    positions: np.ndarray  # (N,) held over t -> t+1
    returns: np.ndarray  # (N,) net simple returns
    equity: np.ndarray  # (N,) value after each bar, starting from 1
    stats: StrategyStats


def positions_from(forecast: np.ndarray, rule: str, threshold: float) -> np.ndarray:
    """forecast[t]: the log return expected over t -> t+1, known at the close of t."""
    long = (forecast > threshold).astype("float64")
    if rule == "long_short":
        return long - (forecast < -threshold).astype("float64")
    return long


def simulate(positions: np.ndarray, log_returns: np.ndarray, cost_bps: float) -> Simulation:
    """positions[t] earns log_returns[t] (the move t -> t+1); costs are paid on each change,
    including entering from flat at the start."""
    simple = np.expm1(log_returns)
    changes = np.abs(np.diff(np.concatenate([[0.0], positions])))
    net = positions * simple - changes * cost_bps / 1e4
    equity = np.cumprod(1.0 + net)
    return Simulation(positions, net, equity, stats(positions, simple, net, equity, changes))


def stats(
    positions: np.ndarray, simple: np.ndarray, net: np.ndarray, equity: np.ndarray, changes: np.ndarray
) -> StrategyStats:
    n = len(net)
    total = float(equity[-1] - 1.0) if n else 0.0
    years = n / TRADING_DAYS
    cagr = float(equity[-1] ** (1 / years) - 1.0) if n and equity[-1] > 0 else -1.0
    sd = float(np.std(net, ddof=1)) if n > 1 else 0.0
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))
    drawdown = np.concatenate([[1.0], equity]) / peak - 1.0
    in_market = positions != 0
    gross = positions * simple
    return StrategyStats(
        total_return=total,
        cagr=cagr,
        volatility=sd * np.sqrt(TRADING_DAYS),
        sharpe=float(np.mean(net) / sd * np.sqrt(TRADING_DAYS)) if sd > 0 else 0.0,
        max_drawdown=float(drawdown.min()),
        turnover=float(changes.sum()),
        trades=int((changes > 0).sum()),
        hit_rate=float((gross[in_market] > 0).mean()) if in_market.any() else None,
        exposure=float(in_market.mean()) if n else 0.0,
    )


def drawdown_curve(equity: np.ndarray) -> np.ndarray:
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    return equity / peak - 1.0
