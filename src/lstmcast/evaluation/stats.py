"""Forecast comparison tests: Diebold-Mariano (equal-weighted cosine HAC, Student t), Clark-West (nested
models), Pesaran-Timmermann, and the Model Confidence Set (from `arch`).

scipy.special provides the distribution functions (scipy.stats would add 50 MB to every
run); the statistics themselves are written out here, each with the reference it follows.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np


def diebold_mariano(e_model: np.ndarray, e_base: np.ndarray, horizon: int = 1) -> tuple[float, float]:
    """DM test of equal squared-error loss (the EWC long-run variance of `hac_dm`).

    `e_model` and `e_base` are (N,) errors, or (N, H) errors of H-step paths: the loss
    differential is then averaged over the H steps first, so one test judges the whole path
    (the overlap of H-step forecasts is in the long-run variance, lags up to H-1).
    Returns (statistic, two-sided p-value from Student's t with the EWC's degrees of
    freedom); a negative statistic means the model's loss is lower.
    """
    em, eb = (np.asarray(e, dtype="float64") for e in (e_model, e_base))
    d = em**2 - eb**2
    if d.ndim == 2:
        horizon = max(horizon, d.shape[1])
        d = d.mean(axis=1)
    return hac_dm(d, horizon)


def hac_dm(d: np.ndarray, horizon: int = 1) -> tuple[float, float]:
    """Diebold-Mariano on a loss differential d (model minus baseline, any loss), with the
    equal-weighted cosine (EWC) long-run variance of Lazarus, Lewis, Stock & Watson (2018) and
    its fixed-b Student t (`ewc_long_run_variance`): two-sided (statistic, p).

    The usual truncated kernel (lags up to h-1, HLN-corrected) over-rejects where losses are
    persistent, which overlapping h-day variance targets are: 7.7% at 5% for h = 22 with no
    persistence beyond the overlap, 12% at AR(1) 0.95 (`tests/test_volatility.py` simulates
    it). EWC's variance cannot be negative, so there is no fallback."""
    d = np.asarray(d, dtype="float64")
    n = len(d)
    if n < 3:
        return math.nan, math.nan
    lrv, dof = ewc_long_run_variance(d, horizon)
    if not lrv > 0:
        return math.nan, math.nan
    stat = float(d.mean() / math.sqrt(lrv / n))
    from scipy.special import stdtr  # 0.2 s to import: only where a test is run

    return stat, float(2 * stdtr(dof, -abs(stat)))  # Student t with the EWC's dof, two-sided


def ewc_terms(n: int, horizon: int = 1) -> int:
    """How many cosine terms the EWC variance averages: LLSW's 0.4 n^(2/3), but no more than
    n / (4 h), so that each term spans at least four horizons of an h-step forecast's overlap
    (their rule alone rejects 9% at 5% for h = 22); at least 2."""
    return max(2, min(round(0.4 * n ** (2 / 3)), n // (4 * max(horizon, 1))))


def ewc_long_run_variance(d: np.ndarray, horizon: int = 1) -> tuple[float, int]:
    """(long-run variance, degrees of freedom) of d by equal-weighted cosines: the mean of the
    squared projections of the demeaned series on the first B cosines cos(pi j (t - 1/2) / n),
    j = 1..B, each scaled by sqrt(2 / n); the t statistic is then Student t with B degrees of
    freedom (LLSW 2018, eq. 9). The projections are a type-II DCT."""
    from scipy.fft import dct

    n = len(d)
    b = min(ewc_terms(n, horizon), n - 1)
    lam = dct(d - d.mean(), type=2)[1 : b + 1] * math.sqrt(2 / n) / 2
    return float(np.mean(lam**2)), b


def _long_run_variance(d: np.ndarray, horizon: int, bartlett: bool = False) -> float:
    """Long-run variance of d with autocovariances up to lag horizon-1 (forecasts h steps ahead
    overlap, so their losses are (h-1)-dependent): equal weights, or Newey-West's Bartlett
    weights 1 - lag/horizon."""
    n = len(d)
    dc = d - d.mean()
    lrv = float(dc @ dc) / n
    for lag in range(1, min(horizon, n)):
        weight = 1 - lag / horizon if bartlett else 1.0
        lrv += 2 * weight * float(dc[lag:] @ dc[:-lag]) / n
    return lrv


def newey_west_t(x: np.ndarray, lags: int | None = None) -> tuple[float, float]:
    """The mean of a series over its Newey-West standard error: (t, two-sided normal p).

    Bartlett weights up to `lags` (default the usual floor(4 (n/100)^(2/9))); overlapping
    h-day targets need lags of at least h-1. NaN entries are left out. Used for a panel's
    daily IC and a portfolio's daily returns (a t of 3 is the bar Harvey, Liu & Zhu set)."""
    x = np.asarray(x, dtype="float64")
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 3:
        return math.nan, math.nan
    if lags is None:
        lags = math.floor(4 * (n / 100) ** (2 / 9))
    lrv = _long_run_variance(x, lags + 1, bartlett=True)
    if lrv <= 0:
        return math.nan, math.nan
    t = float(x.mean() / math.sqrt(lrv / n))
    from scipy.special import ndtr

    return t, float(2 * ndtr(-abs(t)))


def clark_west(e_model: np.ndarray, e_base: np.ndarray, horizon: int = 1) -> tuple[float, float]:
    """Clark & West (2007) test of equal predictive accuracy when the model nests the baseline.

    The adjusted differential f = e_base^2 - (e_model^2 - (yhat_base - yhat_model)^2), where
    yhat_base - yhat_model = e_base - e_model, removes the noise a nesting model's extra
    parameters add under the null, which makes Diebold-Mariano undersized there. (N, H) errors
    are averaged over the H steps, as in `diebold_mariano`; the variance is the long-run one
    with lags up to H-1. Returns (statistic, one-sided p-value from the standard normal): a
    small p means the model is better.
    """
    em, eb = (np.asarray(e, dtype="float64") for e in (e_model, e_base))
    f = clark_west_differential(em, eb)
    if f.ndim == 2:
        horizon = max(horizon, f.shape[1])
        f = f.mean(axis=1)
    return clark_west_test(f, horizon)


def clark_west_differential(e_model: np.ndarray, e_base: np.ndarray) -> np.ndarray:
    """Clark-West's adjusted loss differential, element by element: e_base^2 - (e_model^2 -
    (e_base - e_model)^2); its mean is positive when the nesting model is better."""
    return np.asarray(e_base**2 - (e_model**2 - (e_base - e_model) ** 2))


def clark_west_test(f: np.ndarray, horizon: int = 1) -> tuple[float, float]:
    """The one-sided Clark-West test on one series of adjusted differentials (long-run
    variance with lags up to horizon-1): (statistic, p); a small p means the model is better.
    An equal-weight variance that comes out negative falls back to Newey-West's Bartlett
    weights, which cannot, as the DM test does: a p-value, not a blank."""
    f = np.asarray(f, dtype="float64")
    f = f[np.isfinite(f)]
    n = len(f)
    if n < 3:
        return math.nan, math.nan
    lrv = _long_run_variance(f, horizon)
    if lrv <= 0:
        lrv = _long_run_variance(f, horizon, bartlett=True)
    if lrv <= 0:
        return math.nan, math.nan
    stat = float(f.mean() / math.sqrt(lrv / n))
    return stat, 0.5 * math.erfc(stat / math.sqrt(2))  # the normal's upper tail


def pesaran_timmermann(forecast: np.ndarray, actual: np.ndarray) -> float | None:
    """One-sided p-value of the Pesaran-Timmermann (1992) test of directional predictability.

    Under the null the sign of the forecast is independent of the sign of the outcome, so a
    forecaster that is always long in a rising market gets no credit for its hit rate (unlike
    a binomial test against 50%). Points where either is zero are left out. None when the
    test is undefined: too few points, or forecasts (or outcomes) that never change sign.
    """
    f, y = np.asarray(forecast, dtype="float64"), np.asarray(actual, dtype="float64")
    keep = (f != 0) & (y != 0)
    f, y = f[keep] > 0, y[keep] > 0
    n = len(f)
    if n < 10:
        return None
    p_hat = float(np.mean(f == y))
    py, pf = float(y.mean()), float(f.mean())
    p_star = py * pf + (1 - py) * (1 - pf)
    var_p = p_star * (1 - p_star) / n
    var_star = (
        (2 * py - 1) ** 2 * pf * (1 - pf) / n
        + (2 * pf - 1) ** 2 * py * (1 - py) / n
        + 4 * py * pf * (1 - py) * (1 - pf) / n**2
    )
    denom = var_p - var_star
    if denom <= 1e-15:
        return None
    return 0.5 * math.erfc((p_hat - p_star) / math.sqrt(2 * denom))  # the normal's upper tail


MCS_SIZE = 0.10  # the 90% Model Confidence Set
MCS_REPS = 1000


def model_confidence_set(losses: dict[str, np.ndarray], horizon: int, seed: int = 0) -> list[str]:
    """Hansen, Lunde & Nason's (2011) 90% Model Confidence Set from arch.bootstrap.MCS on each
    forecaster's loss series (one value per date, the same dates for all: QLIKE for variances,
    a panel's cross-sectional mean loss), with a block bootstrap whose blocks are at least the
    horizon long. The names of the forecasters it keeps."""
    from arch.bootstrap import MCS

    names = list(losses)
    matrix = np.column_stack([losses[n] for n in names])
    block = max(horizon, round(len(matrix) ** (1 / 3)))
    mcs = MCS(matrix, size=MCS_SIZE, reps=MCS_REPS, block_size=block, method="R", seed=seed)
    mcs.compute()
    return [names[i] for i in sorted(np.asarray(mcs.included, dtype=int).tolist())]


def mcs_pvalues(losses: dict[str, np.ndarray], horizon: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """Each forecaster's MCS p-value under both of Hansen, Lunde & Nason's statistics, the
    range ("range") and the max ("max"), with one fixed seed: the set can depend on which is
    used, so both are reported and a forecaster is "alone" only where both agree."""
    from arch.bootstrap import MCS

    names = list(losses)
    matrix = np.column_stack([losses[n] for n in names])
    block = max(horizon, round(len(matrix) ** (1 / 3)))
    out: dict[str, dict[str, float]] = {n: {} for n in names}
    methods: tuple[tuple[str, Literal["R", "max"]], ...] = (("range", "R"), ("max", "max"))
    for label, method in methods:
        mcs = MCS(matrix, size=MCS_SIZE, reps=MCS_REPS, block_size=block, method=method, seed=seed)
        mcs.compute()
        for index, p in zip(mcs.pvalues.index, mcs.pvalues["Pvalue"], strict=True):
            out[names[int(str(index))]][label] = float(p)
    return out
