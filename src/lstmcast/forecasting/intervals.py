"""Forecast intervals from a model's own out-of-sample errors, step by step."""

from __future__ import annotations

import statistics

import numpy as np

from lstmcast.config import INTERVAL_LEVELS
from lstmcast.errors import ConfigError
from lstmcast.evaluation.intervals import ADAPTIVE, ewma_sigma, quantile_pair
from lstmcast.registry.checkpoint import Steps


def interval_quantiles(
    residuals: Steps, steps: int, levels: tuple[float, ...] = INTERVAL_LEVELS, model_id: str = ""
) -> np.ndarray:
    """(steps, 2 * len(levels)) conformal quantiles of log(actual/forecast): lower, upper for each
    level, +-inf where the errors are too few to bound that side (`quantile_pair`).

    Only steps the model was evaluated at out of sample have errors to draw on; a longer
    horizon is refused rather than guessed.
    """
    if steps > len(residuals):
        raise ConfigError(
            f"model {model_id} was evaluated out of sample up to {len(residuals)} step(s) ahead;"
            f" ask for at most --horizon {len(residuals)}, or train a model with --horizon {steps}"
        )
    out = np.empty((steps, 2 * len(levels)))
    for k, r in enumerate(residuals[:steps]):
        pool = np.asarray(r, dtype="float64")
        for i, level in enumerate(levels):  # conformal (n+1) ranks: infinite when too few errors
            out[k, 2 * i], out[k, 2 * i + 1] = quantile_pair(pool, 1 - level)
    return out


def volatility_now(returns: np.ndarray) -> tuple[float, float | None]:
    """The EWMA volatility at the last bar, and its ratio to its median over the last year
    (None with less than a year of data): why today's band is wide or narrow."""
    sigma = ewma_sigma(returns)
    year = sigma[-252:]
    # statistics.median: the same value as np.median, which would import numpy.ma (20 ms)
    ratio = float(sigma[-1] / statistics.median(year.tolist())) if len(sigma) >= 252 else None
    return float(sigma[-1]), ratio


def interval_bounds(
    method: str,
    residuals: Steps,
    scaled: Steps | None,
    steps: int,
    levels: tuple[float, ...],
    sigma: float,
    alphas: dict[tuple[float, int], float] | None = None,
    model_id: str = "",
) -> np.ndarray:
    """(steps, 2 * len(levels)) log offsets of the bounds around the forecast, by `method`:
    empirical quantiles of past errors; or quantiles of errors over the volatility at their
    origin, times today's volatility (`scaled`), at the miss rate ACI has learned (`aci`).
    The bands never narrow with the step (`widening`)."""
    if method == "empirical" or scaled is None:
        return widening(interval_quantiles(residuals, steps, levels, model_id))
    if steps > len(scaled):
        interval_quantiles(residuals, steps, levels, model_id)  # raises the same refusal
    out = np.empty((steps, 2 * len(levels)))
    for k in range(steps):
        pool = np.asarray(scaled[k], dtype="float64")
        for i, level in enumerate(levels):
            alpha = (
                (alphas or {}).get((round(level, 4), k + 1), 1 - level) if method in ADAPTIVE else 1 - level
            )
            lo, hi = quantile_pair(pool, alpha)
            out[k, 2 * i], out[k, 2 * i + 1] = lo * sigma, hi * sigma
    return widening(out)


def widening(bounds: np.ndarray) -> np.ndarray:
    """(steps, 2 * levels) log offsets made to widen with the step: each lower bound at most
    the one before it, each upper at least. The error k+1 days out holds the k-day one plus a
    day, so its spread does not shrink; each step's quantiles are estimated on their own, and
    their noise made the bands jagged (a 95% band that narrowed and widened again). A band is
    only ever widened, never narrowed, and the first step is left as it is."""
    out = bounds.copy()
    out[:, 0::2] = np.minimum.accumulate(out[:, 0::2], axis=0)
    out[:, 1::2] = np.maximum.accumulate(out[:, 1::2], axis=0)
    return out
