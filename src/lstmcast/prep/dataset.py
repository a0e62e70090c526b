"""From bars to a feature frame and leak-free time segments.

Row r of a frame is dated dates[r] and uses bars up to that date only. A sample's origin t
is the last row of its window; its targets are rows t+1..t+horizon. A segment owns the
samples whose targets all fall inside it, so no target crosses into the next segment and
the horizon-1 origins that would straddle a boundary are left out (the gap).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcast.config import MIN_EVAL_SAMPLES, MIN_TRAIN_SAMPLES, TrainConfig
from lstmcast.errors import DataError
from lstmcast.prep import windows as W
from lstmcast.prep.features import feature_frame


@dataclass(frozen=True)
class Frame:
    dates: pd.DatetimeIndex  # (T,)
    x: np.ndarray  # (T, F) unscaled features; column 0 is the target's own history
    price: np.ndarray  # (T,) adjusted close on each row's date
    columns: tuple[str, ...]
    target: str
    notes: tuple[str, ...] = ()  # how the data was aligned (exogenous series), for the report

    @property
    def n(self) -> int:
        return len(self.dates)

    def head(self, stop: int) -> Frame:
        """Rows [0, stop): what was known before row `stop` (numpy views, no copy)."""
        return self.slice(0, stop)

    def slice(self, start: int, stop: int) -> Frame:
        return Frame(
            self.dates[start:stop],
            self.x[start:stop],
            self.price[start:stop],
            self.columns,
            self.target,
            self.notes,
        )

    def fingerprint(self) -> str:
        """Identifies the exact data a model saw (dates and values)."""
        h = hashlib.sha256()
        h.update(self.dates.asi8.tobytes())
        h.update(np.ascontiguousarray(self.x).tobytes())
        return h.hexdigest()[:16]


def build_frame(
    bars: pd.DataFrame, config: TrainConfig, exog: dict[str, pd.DataFrame] | None = None
) -> Frame:
    if config.exog:
        absent = [t for t in config.exog if not exog or t not in exog]
        if absent:
            raise DataError(f"exogenous series {', '.join(absent)} not given; store them first")
        exog = {t: exog[t] for t in config.exog}  # type: ignore[index]
    else:
        exog = None
    frame = feature_frame(bars, config.target, config.features, exog)
    notes = []
    for name, n in frame.attrs.get("exog_missing", {}).items():
        if n:
            notes.append(
                f"exog {name}: no bar on {n} of the target's dates; its last close was carried forward"
            )
    if exog:
        ok = np.isfinite(frame.to_numpy(dtype="float64")).all(axis=1)
        first = int(np.argmax(ok)) if ok.any() else len(frame)
        if first:
            notes.append(f"exog: {first} early rows dropped, before every exogenous series had started")
            frame = frame.iloc[first:]
            bars = bars.iloc[first:]
    values = frame.to_numpy(dtype="float64")
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise DataError(f"non-finite feature value on {frame.index[row].date()}; check the prices there")
    price = bars["adj_close"].to_numpy(dtype="float64")[1:]
    return Frame(
        pd.DatetimeIndex(frame.index), values, price, tuple(frame.columns), config.target, tuple(notes)
    )


@dataclass(frozen=True)
class Segments:
    """Row boundaries: train rows [0, train_end), validation [train_end, val_end), test after."""

    train_end: int
    val_end: int
    n: int

    def origins(self, window: int, horizon: int) -> dict[str, np.ndarray]:
        at = W.origins(self.n, window, horizon)
        last_target = at + horizon  # the latest row each sample's targets reach
        first_target = at + 1
        return {
            "train": at[last_target < self.train_end],
            "val": at[(first_target >= self.train_end) & (last_target < self.val_end)],
            "test": at[first_target >= self.val_end],
        }


def split_rows(n: int, val_frac: float, test_frac: float) -> Segments:
    n_test = round(n * test_frac)
    n_val = round(n * val_frac)
    return Segments(n - n_val - n_test, n - n_test, n)


def _fits(n: int, config: TrainConfig) -> bool:
    seg = split_rows(n, config.val_frac, config.test_frac)
    o = seg.origins(config.window, config.horizon)
    return (
        len(o["train"]) >= MIN_TRAIN_SAMPLES
        and len(o["val"]) >= MIN_EVAL_SAMPLES
        and len(o["test"]) >= MIN_EVAL_SAMPLES
    )


def min_bars(config: TrainConfig) -> int:
    """The fewest bars that give enough samples in every segment (one bar is used up by returns)."""
    n = config.window + config.horizon
    while not _fits(n, config):
        n += max(1, n // 50)
    while n > 2 and _fits(n - 1, config):
        n -= 1
    return n + 1


def check_length(frame: Frame, config: TrainConfig, ticker: str) -> Segments:
    if not _fits(frame.n, config):
        need = min_bars(config)
        raise DataError(
            f"{ticker}: {frame.n + 1} bars are too few for window {config.window}, horizon"
            f" {config.horizon} and a {1 - config.val_frac - config.test_frac:.0%}/"
            f"{config.val_frac:.0%}/{config.test_frac:.0%} split; at least {need} bars are needed"
        )
    return split_rows(frame.n, config.val_frac, config.test_frac)


def sample_arrays(xs: np.ndarray, window: int, horizon: int, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scaled inputs (N, window, F) and scaled targets (N, horizon) for origins `at`."""
    return W.windows(xs, window, at), W.targets(xs[:, 0], horizon, at)
