"""The pooled volatility contest's baselines: HAR fitted per member, in levels and in logs,
a pooled log-HAR (slopes common to every member, each its own level) and a leverage log-HAR
(Corsi & Reno 2012: the mean negative return over 1, 5 and 22 days beside the HAR terms).

Each is fitted on a block's training dates and calibrated per member on its validation
dates by the rule the pooled network's forecasts get (`universe.targets.calibration`), so
the backtest and `train --universe` judge the network against the same forecasters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.evaluation.panel import row_mean
from lstmcast.evaluation.volatility import HAR_LAGS, qlike
from lstmcast.universe.panel import Panel
from lstmcast.universe.targets import VARIANCE_FLOOR, calibration, squared_returns

POOLED_BASELINES = ("har", "log_har", "pooled_log_har", "leverage_har")
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


def panel_regressors(panel: Panel) -> dict[str, list[np.ndarray]]:
    """Every baseline's (T, N) regressors on `panel`'s listed days (`har_regressors`)."""
    sq = np.where(panel.listed, squared_returns(panel), np.nan)
    r = np.where(panel.listed, panel.returns(), np.nan)
    return har_regressors(sq, r)


def block_baselines(
    columns: dict[str, list[np.ndarray]],
    y: np.ndarray,
    fit: np.ndarray,
    cal: slice,
    block: slice,
    names: tuple[str, ...] = POOLED_BASELINES,
) -> dict[str, np.ndarray]:
    """The `names` baselines' (T, N) forecasts on the `block` rows (NaN elsewhere): fitted on
    the `fit` rows' known outcomes `y`, then calibrated per member on the `cal` rows (after the
    fit rows, before the block), by the rule the network's forecasts get (`calibration`)."""
    both = slice(cal.start, block.stop)  # calibration dates, then the block
    fitters = {
        "har": lambda: per_member_har(columns["har"], y, fit, both, log=False),
        "log_har": lambda: per_member_har(columns["log_har"], y, fit, both, log=True),
        "pooled_log_har": lambda: pooled_log_har(columns["pooled_log_har"], y, fit, both),
        "leverage_har": lambda: per_member_har(columns["leverage_har"], y, fit, both, log=True),
    }
    made = {name: fitters[name]() for name in names}
    out = {}
    for name, f in made.items():
        t, n = np.nonzero(np.isfinite(f[cal]))
        t = t + cal.start
        ratio = calibration(y[t, n], f[t, n], n, y.shape[1])
        out[name] = np.full(y.shape, np.nan)
        out[name][block] = f[block] * ratio[None, :]
    return out


def qlike_losses(
    forecasts: dict[str, np.ndarray], realised: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each forecaster's (T, N) QLIKE on the cells every one of them has (and a positive
    realised variance), NaN elsewhere; and those common cells."""
    common = (realised > 0) & np.all([np.isfinite(f) for f in forecasts.values()], axis=0)
    truth = np.where(common, realised, 1.0)
    return {
        k: np.where(common, qlike(np.maximum(np.where(common, f, 1.0), VARIANCE_FLOOR), truth), np.nan)
        for k, f in forecasts.items()
    }, common


def pooled_mean(loss: np.ndarray) -> float | None:
    """The mean of each date's mean loss across members: the pooled loss."""
    daily = row_mean(loss)
    daily = daily[np.isfinite(daily)]
    return float(daily.mean()) if len(daily) else None


def skill(model: float | None, base: float | None) -> float | None:
    """1 - the model's loss / the baseline's (None without both)."""
    return None if model is None or not base else 1 - model / base
