"""The target series and causal per-bar features: row t uses bars t and t-1, never later ones.

Computed on numpy columns (`lstmcast.bars.Bars`): a forecast builds its frame without pandas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.bars import Bars
from lstmcast.errors import DataError
from lstmcast.prep.volatility import has_range, stale_opens, variance_proxy

if TYPE_CHECKING:
    import pandas as pd


def _log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.log(a / b)


def _previous(x: np.ndarray) -> np.ndarray:
    """x shifted one bar later: NaN on the first."""
    return np.concatenate([[np.nan], x[:-1]])


def exog_returns(
    bars: Bars | pd.DataFrame, other: Bars | pd.DataFrame, calendars: tuple[str, str] | None = None
) -> tuple[np.ndarray, int]:
    """Daily log returns of `other` on `bars`' dates, using only its closes known at each of
    `bars`' closes.

    On one calendar, that is its close of the same date or earlier. With `calendars` (the
    target's, the other's) that differ, each bar is placed at the moment its session closed:
    the target's row t uses the last `other` bar whose session had closed by the target's
    close on t. Oslo (15:20 UTC) then sees the S&P 500 of the day before, while New York
    (21:00 UTC) sees Oslo's same day. A target date on which no new `other` bar arrived
    carries the last one (return 0 that day; the move shows up on its next bar). Returns the
    values and how many target dates had no new bar; dates before `other` starts are NaN.
    """
    bars, other = Bars.of(bars), Bars.of(other)
    if calendars is not None and calendars[0] != calendars[1]:
        return _by_close_time(bars, other, *calendars)
    adj = other["adj_close"]
    known = np.isfinite(adj)  # a missing close carries the last one known, never a later one
    dates, values = other.dates[known], adj[known]
    last = np.searchsorted(dates, bars.dates, side="right") - 1  # its newest bar on or before
    aligned = np.where(last >= 0, values[np.maximum(last, 0)], np.nan)
    started = bars.dates >= other.dates[0]
    missing = int((~np.isin(bars.dates, other.dates) & started).sum())
    return np.log(aligned / _previous(aligned)), missing


def _by_close_time(bars: Bars, other: Bars, mine: str, theirs: str) -> tuple[np.ndarray, int]:
    from lstmcast.prep.sessions import close_times  # exchange calendars: only across exchanges

    known_at = close_times(mine, bars.dates)
    closed = close_times(theirs, other.dates)
    last = np.searchsorted(closed, known_at, side="right") - 1  # its newest bar closed by then
    adj = other["adj_close"]
    values = np.where(last >= 0, adj[np.maximum(last, 0)], np.nan)
    started = last >= 0
    missing = int(np.sum(started[1:] & (last[1:] == last[:-1])))
    return np.log(values / _previous(values)), missing


@dataclass(frozen=True)
class Features:
    """The columns of a feature frame, one row per bar (the first bar's row is NaN where a
    return needs the bar before), and what was found making them."""

    columns: dict[str, np.ndarray]
    exog_missing: dict[str, int] = field(default_factory=dict)  # target dates with no new exog bar
    vol_proxy: str = ""  # a volatility target's proxy after any fallback; else ""
    stale_opens: dict[str, float] = field(default_factory=dict)

    def values(self) -> np.ndarray:
        """(T - 1, F): every row but the first, the columns in order (row-major: a window is a
        view of consecutive rows)."""
        return np.column_stack([np.asarray(c[1:], dtype="float64") for c in self.columns.values()])


def _return_columns(bars: Bars, vol_proxy: str) -> Features:
    adj = bars["adj_close"]
    return Features({"log_return": _log_ratio(adj, _previous(adj))})


def _price_columns(bars: Bars, vol_proxy: str) -> Features:
    return Features({"price": bars["adj_close"].copy()})


def _variance_columns(bars: Bars, vol_proxy: str) -> Features:
    """The target's own history is the log of the daily variance proxy; returns ride along."""
    found = stale_opens(bars) if vol_proxy == "gk" and has_range(bars) else None  # read by both
    proxy, used = variance_proxy(bars, vol_proxy, found)
    adj = bars["adj_close"]
    columns = {"log_variance": np.log(proxy), "log_return": _log_ratio(adj, _previous(adj))}
    return Features(columns, vol_proxy=used, stale_opens=found or {})


# Each target's own columns, first in its frame: what it forecasts and what rides along.
_OWN_COLUMNS: dict[str, Callable[[Bars, str], Features]] = {
    "log_return": _return_columns,
    "price": _price_columns,
    "volatility": _variance_columns,
}


def feature_frame(
    bars: Bars | pd.DataFrame,
    target: str,
    features: tuple[str, ...],
    exog: dict[str, Bars | pd.DataFrame] | None = None,
    calendars: dict[str, str] | None = None,
    vol_proxy: str = "gk",
) -> Features:
    """Column 0 is the target's own history; then the requested extras. `calendars` names the
    exchange calendar of the target ("") and of each exog series: exog bars are then aligned
    by the time their sessions closed (`exog_returns`).

    - log_return: log(adj_t / adj_{t-1})      - price: adj_t
    - log_volume_change: log1p(vol_t) - log1p(vol_{t-1})
    - hl_range: log(high_t / low_t)           - oc_return: log(close_t / open_t)
    - volatility: log of the daily variance proxy `vol_proxy` (prep/volatility.py), then
      log_return
    """
    bars = Bars.of(bars)
    own = _OWN_COLUMNS[target](bars, vol_proxy)
    cols = dict(own.columns)
    for name in features:
        needed = {
            "log_volume_change": ["volume"],
            "hl_range": ["high", "low"],
            "oc_return": ["open", "close"],
        }[name]
        lacking = [c for c in needed if not bars.has(c)]
        if lacking:
            raise DataError(f"feature {name} needs the {'/'.join(lacking)} column(s), which this data lacks")
        if name == "log_volume_change":
            v = np.log1p(bars["volume"])
            cols[name] = v - _previous(v)
        elif name == "hl_range":
            cols[name] = _log_ratio(bars["high"], bars["low"])
        else:
            cols[name] = _log_ratio(bars["close"], bars["open"])
    missing: dict[str, int] = {}
    for name, other in (exog or {}).items():
        pair = (calendars[""], calendars[name]) if calendars and name in calendars else None
        cols[f"exog:{name}"], missing[name] = exog_returns(bars, other, pair)
    return Features(cols, missing, own.vol_proxy, own.stale_opens)
