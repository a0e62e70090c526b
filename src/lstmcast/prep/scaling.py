"""Z-score scaling as plain fit/apply/invert functions; fitting sees the training rows only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scaler:
    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Scaler:
        return cls(np.asarray(d["mean"], dtype="float64"), np.asarray(d["std"], dtype="float64"))


def fit_scaler(train_rows: np.ndarray) -> Scaler:
    """Statistics of the rows given, and nothing else: pass only rows before the cutoff."""
    mean = np.nanmean(train_rows, axis=0)
    std = np.nanstd(train_rows, axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # a constant feature stays constant instead of inf
    return Scaler(mean, std)


def apply(scaler: Scaler, x: np.ndarray) -> np.ndarray:
    return (x - scaler.mean) / scaler.std


def invert_target(scaler: Scaler, y_scaled: np.ndarray) -> np.ndarray:
    """Targets are feature 0 (the target's own history), so they share its statistics."""
    return y_scaled * scaler.std[0] + scaler.mean[0]
