"""From bars to a feature frame and leak-free time segments.

Row r of a frame is dated dates[r] and uses bars up to that date only. A sample's origin t
is the last row of its window; its targets are rows t+1..t+horizon. A segment owns the
samples whose targets all fall inside it, so no target crosses into the next segment and
the horizon-1 origins that would straddle a boundary are left out (the gap).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.bars import Bars, day_of
from lstmcast.errors import DataError
from lstmcast.prep import windows as W
from lstmcast.prep.features import feature_frame
from lstmcast.prep.volatility import STALE_SHARE, stale_years, variance_proxy
from lstmcast.settings import MIN_EVAL_SAMPLES, MIN_TRAIN_SAMPLES
from lstmcast.target import target_of

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class StaleReport:
    """Stale opens in a volatility result: their share over every year, the years above
    STALE_SHARE, each year's share, and the proxy actually used."""

    share: float | None
    years: list[str]
    by_year: dict[str, float]
    proxy: str


@dataclass(frozen=True)
class Frame:
    days: np.ndarray  # (T,) datetime64[us]: each row's date (`dates` is the same as pandas')
    x: np.ndarray  # (T, F) unscaled features; column 0 is the target's own history
    price: np.ndarray  # (T,) adjusted close on each row's date
    columns: tuple[str, ...]
    target: str
    notes: tuple[str, ...] = ()  # how the data was aligned (exogenous series), for the report
    # (T,) the daily variance proxy of each row's bar (Garman-Klass plus the overnight gap,
    # squared returns without open/high/low): what `--intervals vol` scales errors by.
    variance: np.ndarray | None = None
    vol_proxy: str = ""  # a volatility target's proxy in column 0 (after any fallback); else ""
    # With the gk proxy asked for: {year: share of opens equal to the previous close}
    stale_opens: dict[str, float] = field(default_factory=dict)

    def stale_report(self) -> StaleReport:
        """What a volatility result says of stale opens: the share over every year, the years
        above STALE_SHARE, and the proxy actually used."""
        shares = self.stale_opens
        share = float(np.mean(list(shares.values()))) if shares else None
        return StaleReport(share, stale_years(shares), shares, self.vol_proxy)

    @cached_property
    def dates(self) -> pd.DatetimeIndex:
        """The rows' dates as a DatetimeIndex, for code that works in pandas (made on first use:
        a forecast never imports pandas)."""
        import pandas as pd

        return pd.DatetimeIndex(self.days)

    def day(self, row: int) -> date:
        """The calendar date of row `row` (negative counts from the end)."""
        return day_of(self.days[row])

    @property
    def n(self) -> int:
        return len(self.days)

    def slice(self, start: int, stop: int) -> Frame:
        return Frame(
            self.days[start:stop],
            self.x[start:stop],
            self.price[start:stop],
            self.columns,
            self.target,
            self.notes,
            None if self.variance is None else self.variance[start:stop],
            self.vol_proxy,
            self.stale_opens,
        )

    @property
    def in_prices(self) -> bool:
        """Its target's values are price levels, not changes (`Target.in_prices`)."""
        return target_of(self.target).in_prices

    def fingerprint(self) -> str:
        """Identifies the exact data a model saw (dates and values)."""
        h = hashlib.sha256()
        h.update(self.days.view("int64").tobytes())
        h.update(np.ascontiguousarray(self.x).tobytes())
        return h.hexdigest()[:16]


def build_frame(
    bars: Bars | pd.DataFrame,
    target: str = "log_return",
    features: tuple[str, ...] = (),
    exog: dict[str, Bars | pd.DataFrame] | None = None,
    calendars: dict[str, str] | None = None,
    vol_proxy: str = "gk",
) -> Frame:
    """The feature frame of `bars`: the target's history, the `features`, and the daily
    returns of each `exog` series as known at each of bars' closes (past values only; with
    `calendars`, by the time each session closed). The first bar is dropped: a return needs
    the bar before it."""
    bars = Bars.of(bars)
    made = feature_frame(bars, target, features, exog or None, calendars, vol_proxy)
    notes = []
    used = made.vol_proxy
    stale = made.stale_opens
    shares = stale or None  # found once by the features, read again by the variance below
    if used == "squared" and used != vol_proxy:
        notes.append(f"no open/high/low in this data: the {vol_proxy} proxy fell back to squared returns")
    elif used and used != vol_proxy:
        years = stale_years(stale)
        span = years[0] if len(years) == 1 else f"{years[0]}-{years[-1]}"
        notes.append(
            f"stale opens: the open equals the previous close on more than {STALE_SHARE:.0%} of the"
            f" bars of {len(years)} year(s) ({span}), so the {vol_proxy} proxy's open terms measure"
            f" nothing there; the whole series uses {used} (the high-low range) instead"
        )
    for name, n in made.exog_missing.items():
        if n:
            notes.append(
                f"exog {name}: no bar on {n} of the target's dates; its last close was carried forward"
            )
    values = made.values()  # rows 1.. of the bars
    days = bars.dates[1:]
    if exog:
        ok = np.isfinite(values).all(axis=1)
        first = int(np.argmax(ok)) if ok.any() else len(values)
        if first:
            notes.append(f"exog: {first} early rows dropped, before every exogenous series had started")
            values, days = values[first:], days[first:]
            bars = bars.rows(first)
            shares = None  # the stale-open shares were found on bars this frame no longer holds
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise DataError(f"non-finite feature value on {day_of(days[row])}; check the prices there")
    price = bars["adj_close"][1:].astype("float64")
    variance = variance_proxy(bars, "gk", shares)[0][1:]
    return Frame(
        days,
        values,
        price,
        tuple(made.columns),
        target,
        tuple(notes),
        variance,
        used or "",
        stale,
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


@dataclass(frozen=True)
class SampleShape:
    """What a split has to hold: windows of `window` rows, `horizon` targets each, and the
    validation and test fractions of the rows."""

    window: int
    horizon: int
    val_frac: float
    test_frac: float


def _fits(n: int, shape: SampleShape) -> bool:
    seg = split_rows(n, shape.val_frac, shape.test_frac)
    o = seg.origins(shape.window, shape.horizon)
    return (
        len(o["train"]) >= MIN_TRAIN_SAMPLES
        and len(o["val"]) >= MIN_EVAL_SAMPLES
        and len(o["test"]) >= MIN_EVAL_SAMPLES
    )


def min_bars(shape: SampleShape) -> int:
    """The fewest bars that give enough samples in every segment (one bar is used up by returns)."""
    n = shape.window + shape.horizon
    while not _fits(n, shape):
        n += max(1, n // 50)
    while n > 2 and _fits(n - 1, shape):
        n -= 1
    return n + 1


def check_length(frame: Frame, shape: SampleShape, ticker: str) -> Segments:
    """The train/validation/test rows of `frame`, or a DataError saying how many bars are needed."""
    if not _fits(frame.n, shape):
        train_share = 1 - shape.val_frac - shape.test_frac
        raise DataError(
            f"{ticker}: {frame.n + 1} bars are too few for window {shape.window}, horizon"
            f" {shape.horizon} and a {train_share:.0%}/{shape.val_frac:.0%}/{shape.test_frac:.0%} split;"
            f" at least {min_bars(shape)} bars are needed"
        )
    return split_rows(frame.n, shape.val_frac, shape.test_frac)


def sample_arrays(xs: np.ndarray, window: int, horizon: int, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scaled inputs (N, window, F) and scaled targets (N, horizon) for origins `at`."""
    return W.windows(xs, window, at), W.targets(xs[:, 0], horizon, at)


def fit_origins(train_end: int, val_end: int, window: int, horizon: int) -> dict[str, np.ndarray]:
    """The training and validation origins of a fit on rows [0, val_end) that validates on
    [train_end, val_end): every fit (single, pooled, walk-forward fold) splits this way."""
    return Segments(train_end, val_end, val_end).origins(window, horizon)


def row_at(dates: pd.DatetimeIndex | np.ndarray, when: object) -> int:
    """The first row dated on or after `when`: the rows before it are what was known before."""
    return int(np.searchsorted(np.asarray(dates, dtype="datetime64[us]"), np.datetime64(when, "us")))  # type: ignore[call-overload]
