"""Forecast intervals from a model's own out-of-sample errors, step by step."""

from __future__ import annotations

import numpy as np

from lstmcast.config import INTERVAL_LEVELS
from lstmcast.errors import ConfigError


def interval_quantiles(
    residuals: list[list[float]], steps: int, levels: tuple[float, ...] = INTERVAL_LEVELS, model_id: str = ""
) -> np.ndarray:
    """(steps, 2 * len(levels)) quantiles of log(actual/forecast): lower, upper for each level.

    Only steps the model was evaluated at out of sample have errors to draw on; a longer
    horizon is refused rather than guessed.
    """
    if steps > len(residuals):
        raise ConfigError(
            f"model {model_id} was evaluated out of sample up to {len(residuals)} step(s) ahead;"
            f" ask for at most --horizon {len(residuals)}, or train a model with --horizon {steps}"
        )
    qs = [q for level in levels for q in ((1 - level) / 2, 1 - (1 - level) / 2)]
    return np.array([np.quantile(np.asarray(r, dtype="float64"), qs) for r in residuals[:steps]])
