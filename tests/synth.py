"""Synthetic price series whose best possible forecast error is known."""

from __future__ import annotations

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
