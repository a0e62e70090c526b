"""Forecast metrics in target and price units, always relative to the naive forecast."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lstmcast.evaluation.stats import pesaran_timmermann


@dataclass(frozen=True)
class Metrics:
    """Errors of one forecaster, always beside the naive (random-walk) forecast.

    - `mase`: Hyndman & Koehler's mean absolute scaled error: each error over the in-sample
      MAE of the one-step naive forecast on the data the forecaster was fitted on.
    - `rel_mae`: MAE over the naive forecast's MAE on the same out-of-sample points (1.0 for
      naive itself); what lstmcast called MASE before 0.2.
    - `skill_vs_naive`: 1 - MSE / MSE of naive (0 for naive, > 0 beats it).
    - `directional_accuracy`, `directional_pvalue`: of the first step only. Pesaran-Timmermann,
      one-sided: do the forecast's signs carry information about the outcome's, beyond what
      their base rates give by chance? The test assumes independent calls; the H steps of one
      origin share their outcomes with the next origins' (r_{t+2} is step 2 here and step 1
      there), so pooling them rejected a no-skill forecast 25% of the time at H = 5 instead of 5%.
    """

    n: int
    mae: float
    rmse: float
    mape: float | None
    mase: float | None
    rel_mae: float
    directional_accuracy: float | None
    directional_pvalue: float | None
    skill_vs_naive: float


def mean_defined(values: Iterable[float | bool | None]) -> float | None:
    """The mean of the values that are defined (None left out); None when none is."""
    v = [float(x) for x in values if x is not None]
    return float(np.mean(v)) if v else None


def directional(pred_change: np.ndarray, true_change: np.ndarray) -> tuple[float | None, float | None]:
    """Share of calls whose sign matches the actual move, and its Pesaran-Timmermann p-value;
    zero calls and zero moves are skipped. A forecast that never calls a direction (the random
    walk) has no directional accuracy."""
    mask = (pred_change != 0) & (true_change != 0)
    n = int(mask.sum())
    if n == 0:
        return None, None
    hits = int((np.sign(pred_change[mask]) == np.sign(true_change[mask])).sum())
    return hits / n, pesaran_timmermann(pred_change, true_change)


def score(
    pred: np.ndarray,
    actual: np.ndarray,
    naive: np.ndarray,
    last: np.ndarray | None = None,
    price_units: bool = False,
    scale: np.ndarray | float | None = None,
) -> Metrics:
    """Metrics of `pred` against `actual`, with `naive` on the same points as the yardstick.

    All arrays are (N, H) or (N,); `last` is the value at each origin (N,), used for the
    direction of each forecast move. MAPE is only reported in price units. `scale` is the
    in-sample one-step naive MAE behind each origin (scalar or (N,)); without it, no MASE.
    """
    pred, actual, naive = (np.asarray(a, dtype="float64").reshape(len(a), -1) for a in (pred, actual, naive))
    err = pred - actual
    mse = float(np.mean(err**2))
    mae = float(np.mean(np.abs(err)))
    naive_err = naive - actual
    naive_mse = float(np.mean(naive_err**2))
    naive_mae = float(np.mean(np.abs(naive_err)))
    mape = float(np.mean(np.abs(err / actual))) if price_units else None
    # Direction of step 1 only: one call per origin, so PT's independence holds (see Metrics).
    if last is None:  # target units of returns: the move is the value itself
        da, p = directional(pred[:, 0], actual[:, 0])
    else:
        base = np.asarray(last, dtype="float64")
        da, p = directional(pred[:, 0] - base, actual[:, 0] - base)
    return Metrics(
        n=int(err.size),
        mae=mae,
        rmse=math.sqrt(mse),
        mape=mape,
        mase=_mase(err, scale),
        rel_mae=mae / naive_mae if naive_mae > 0 else math.nan,
        directional_accuracy=da,
        directional_pvalue=p,
        skill_vs_naive=1.0 - mse / naive_mse if naive_mse > 0 else math.nan,
    )


def _mase(err: np.ndarray, scale: np.ndarray | float | None) -> float | None:
    if scale is None:
        return None
    s = np.broadcast_to(np.asarray(scale, dtype="float64").reshape(-1, 1), err.shape)
    if not (s > 0).all():
        return None
    return float(np.mean(np.abs(err) / s))
