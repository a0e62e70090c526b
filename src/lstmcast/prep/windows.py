"""Sliding windows built without a Python loop: one strided view over the whole series."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lstmcast.errors import DataError


def origins(n_rows: int, window: int, horizon: int) -> np.ndarray:
    """Row indices t at which a forecast can be made: a full window ends at t and
    targets t+1..t+horizon exist."""
    return np.arange(window - 1, n_rows - horizon, dtype=np.int64)


def windows(x: np.ndarray, window: int, at: np.ndarray) -> np.ndarray:
    """Inputs for origins `at`: rows t-window+1..t of x (T, F) -> (N, window, F)."""
    if len(x) < window:
        raise DataError(f"--window {window} needs {window:,} bars before a forecast; this fit has {len(x):,}")
    view = sliding_window_view(x, window, axis=0)  # (T-window+1, F, window), no copy
    return np.ascontiguousarray(view[at - (window - 1)].transpose(0, 2, 1))


def targets(y: np.ndarray, horizon: int, at: np.ndarray) -> np.ndarray:
    """Targets for origins `at`: y[t+1..t+horizon] -> (N, horizon)."""
    if len(y) < horizon:
        raise DataError(
            f"--horizon {horizon} needs {horizon:,} bars after an origin; this fit has {len(y):,}"
        )
    view = sliding_window_view(y, horizon)  # (T-horizon+1, horizon)
    return np.ascontiguousarray(view[at + 1])
