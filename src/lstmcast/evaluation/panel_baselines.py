"""What a panel model must beat: the cross-sectional rules the literature reports.

Each baseline is a (T, N) score made from returns known at t's close only: short-term
reversal over 1 and 5 days (Lehmann 1990; half of Fischer & Krauss's LSTM edge), 12-1
momentum (Jegadeesh & Titman 1993), and a cross-sectional ridge on lagged returns fitted on
training rows whose outcome was known by the cutoff. A panel verdict is against the best of
them, never against noise.
"""

from __future__ import annotations

import numpy as np

from lstmcast.evaluation.panel import row_mean

RIDGE_LAGS = 5
RIDGE_PENALTY = 1.0  # on standardised, cross-sectionally demeaned lags: a light shrinkage


def _trailing_sum(r: np.ndarray, start: int, stop: int) -> np.ndarray:
    """(T, N) the sum of r[t-stop+1 .. t-start] (lags start..stop-1), NaN unless all are known."""
    finite = np.isfinite(r)
    c = np.concatenate([np.zeros((1, r.shape[1])), np.cumsum(np.where(finite, r, 0.0), axis=0)])
    k = np.concatenate([np.zeros((1, r.shape[1])), np.cumsum(finite, axis=0)])
    out = np.full(r.shape, np.nan)
    t = np.arange(r.shape[0])
    ok = t - stop + 1 >= 0
    hi, lo = t[ok] - start + 1, t[ok] - stop + 1
    span = c[hi] - c[lo]
    whole = (k[hi] - k[lo]) == stop - start
    out[ok] = np.where(whole, span, np.nan)
    return out


def reversal(r: np.ndarray, days: int) -> np.ndarray:
    """Minus the last `days` days' return: yesterday's losers are today's picks."""
    return -_trailing_sum(r, 0, days)


def momentum(r: np.ndarray) -> np.ndarray:
    """12-1 momentum: the return over the year to a month ago (days t-251 .. t-21)."""
    return _trailing_sum(r, 21, 252)


def _demean(x: np.ndarray) -> np.ndarray:
    """Each date's values less that date's cross-sectional mean."""
    return x - row_mean(x)[:, None]


def ridge(r: np.ndarray, target: np.ndarray, fit_rows: slice, lags: int = RIDGE_LAGS) -> np.ndarray:
    """A pooled ridge of the cross-sectionally demeaned `target` on the demeaned last `lags`
    daily returns, fitted on `fit_rows` (whose targets the caller knows were realised by the
    cutoff), scoring every date."""
    with np.errstate(invalid="ignore"):
        x = np.stack([_demean(np.roll(r, lag, axis=0)) for lag in range(lags)], axis=-1)
    x[:lags] = np.nan
    y = _demean(target)
    xs, ys = x[fit_rows].reshape(-1, lags), y[fit_rows].reshape(-1)
    ok = np.isfinite(xs).all(axis=1) & np.isfinite(ys)
    if ok.sum() <= lags:
        return np.full(r.shape, np.nan)
    a, b = xs[ok], ys[ok]
    scale = a.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    az = a / scale
    beta = np.linalg.solve(az.T @ az + RIDGE_PENALTY * len(az) * 1e-4 * np.eye(lags), az.T @ b) / scale
    return np.asarray(x @ beta)


def baseline_scores(r: np.ndarray, target: np.ndarray, fit_rows: slice) -> dict[str, np.ndarray]:
    """Every panel baseline's (T, N) scores, the ridge fitted on `fit_rows`: short-term
    reversal over 1 and 5 days, 12-1 momentum and a cross-sectional ridge on lagged returns."""
    return {
        "reversal": reversal(r, 1),
        "reversal_5d": reversal(r, 5),
        "momentum": momentum(r),
        "ridge": ridge(r, target, fit_rows),
    }
