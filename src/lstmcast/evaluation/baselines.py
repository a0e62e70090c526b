"""The baselines: naive (random walk), drift, and a linear autoregression on the same window."""

from __future__ import annotations

import numpy as np

from lstmcast.prep.dataset import Frame, sample_arrays
from lstmcast.prep.scaling import Scaler, apply, invert_target
from lstmcast.prep.windows import windows

RIDGE = 1e-3  # a whisper of ridge keeps the AR solve stable when features are collinear


def naive(frame: Frame, at: np.ndarray, horizon: int) -> np.ndarray:
    """Tomorrow is today: zero return, or today's price. (N, H) in target units."""
    if not frame.in_prices:
        return np.zeros((len(at), horizon))
    return np.repeat(frame.price[at][:, None], horizon, axis=1)


def drift_rate(frame: Frame, train_end: int) -> float:
    """Mean daily log return of the training rows (rows < train_end only)."""
    p = frame.price[:train_end]
    return float(np.mean(np.diff(np.log(p)))) if len(p) > 1 else 0.0


def drift(frame: Frame, at: np.ndarray, horizon: int, mu: float) -> np.ndarray:
    if not frame.in_prices:
        return np.full((len(at), horizon), mu)
    steps = np.arange(1, horizon + 1)
    return frame.price[at][:, None] * np.exp(mu * steps)[None, :]


def fit_linear(frame: Frame, scaler: Scaler, train_at: np.ndarray, window: int, horizon: int) -> np.ndarray:
    """Least-squares AR on the flattened, scaled window (with intercept); training origins only."""
    xs = apply(scaler, frame.x[: int(train_at.max()) + horizon + 1])
    x, y = sample_arrays(xs, window, horizon, train_at)
    a = np.hstack([x.reshape(len(x), -1), np.ones((len(x), 1))])
    gram = a.T @ a + RIDGE * len(a) * np.eye(a.shape[1])
    return np.linalg.solve(gram, a.T @ y)  # (window*F + 1, H)


def linear(frame: Frame, scaler: Scaler, coef: np.ndarray, at: np.ndarray, window: int) -> np.ndarray:

    x = windows(apply(scaler, frame.x), window, at)
    a = np.hstack([x.reshape(len(x), -1), np.ones((len(x), 1))])
    return invert_target(scaler, a @ coef)
