"""Small exact statistics without scipy: the binomial test and the Diebold-Mariano test."""

from __future__ import annotations

import math

import numpy as np


def binomial_two_sided_p(successes: int, trials: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test: the chance of a result at least as unlikely as the one seen."""
    if trials == 0:
        return math.nan
    k = np.arange(trials + 1)
    log_pmf = (
        np.array([math.lgamma(trials + 1) - math.lgamma(i + 1) - math.lgamma(trials - i + 1) for i in k])
        + k * math.log(p)
        + (trials - k) * math.log1p(-p)
    )
    pmf = np.exp(log_pmf)
    observed = pmf[successes]
    return float(min(1.0, pmf[pmf <= observed * (1 + 1e-7)].sum()))


def normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def diebold_mariano(e_model: np.ndarray, e_base: np.ndarray, horizon: int = 1) -> tuple[float, float]:
    """DM test on squared errors with the Harvey-Leybourne-Newbold small-sample correction.

    Returns (statistic, two-sided p-value); a negative statistic means the model's loss is lower.
    """
    d = np.asarray(e_model, dtype="float64") ** 2 - np.asarray(e_base, dtype="float64") ** 2
    n = len(d)
    if n < 3:
        return math.nan, math.nan
    mean = d.mean()
    dc = d - mean
    # Long-run variance with autocovariances up to lag h-1 (forecasts h steps ahead overlap).
    lrv = float(dc @ dc) / n
    for lag in range(1, horizon):
        lrv += 2 * float(dc[lag:] @ dc[:-lag]) / n
    if lrv <= 0:
        return math.nan, math.nan
    stat = mean / math.sqrt(lrv / n)
    stat *= math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    # Student t with n-1 df is close to normal at the sizes we use; normal keeps us scipy-free.
    return float(stat), float(2 * normal_sf(abs(stat)))
