"""The target series and causal per-bar features: row t uses bars t and t-1, never later ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.errors import DataError
from lstmcast.prep.sessions import close_times
from lstmcast.prep.volatility import has_range, stale_opens, variance_proxy


def _log_ratio(a: pd.Series, b: pd.Series) -> np.ndarray:
    return np.log(a.to_numpy(dtype="float64") / b.to_numpy(dtype="float64"))


def exog_returns(
    bars: pd.DataFrame, other: pd.DataFrame, calendars: tuple[str, str] | None = None
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
    if calendars is not None and calendars[0] != calendars[1]:
        return _by_close_time(bars, other, *calendars)
    own = other["adj_close"]
    union = own.reindex(own.index.union(bars.index)).ffill()  # past values only: ffill, never bfill
    aligned = union.reindex(bars.index)
    started = bars.index >= own.index[0]
    missing = int((~bars.index.isin(own.index) & started).sum())
    values = aligned.to_numpy(dtype="float64")
    return np.log(values / np.concatenate([[np.nan], values[:-1]])), missing


def _by_close_time(bars: pd.DataFrame, other: pd.DataFrame, mine: str, theirs: str) -> tuple[np.ndarray, int]:

    known_at = close_times(mine, pd.DatetimeIndex(bars.index))
    closed = close_times(theirs, pd.DatetimeIndex(other.index))
    last = np.searchsorted(closed, known_at, side="right") - 1  # its newest bar closed by then
    adj = other["adj_close"].to_numpy(dtype="float64")
    values = np.where(last >= 0, adj[np.maximum(last, 0)], np.nan)
    started = last >= 0
    missing = int(np.sum(started[1:] & (last[1:] == last[:-1])))
    return np.log(values / np.concatenate([[np.nan], values[:-1]])), missing


def feature_frame(
    bars: pd.DataFrame,
    target: str,
    features: tuple[str, ...],
    exog: dict[str, pd.DataFrame] | None = None,
    calendars: dict[str, str] | None = None,
    vol_proxy: str = "gk",
) -> pd.DataFrame:
    """Column 0 is the target's own history; then the requested extras. The first bar is
    dropped because a return needs the bar before it. `calendars` names the exchange
    calendar of the target ("") and of each exog series: exog bars are then aligned by the
    time their sessions closed (`exog_returns`).

    - log_return: log(adj_t / adj_{t-1})      - price: adj_t
    - log_volume_change: log1p(vol_t) - log1p(vol_{t-1})
    - hl_range: log(high_t / low_t)           - oc_return: log(close_t / open_t)
    - volatility: log of the daily variance proxy `vol_proxy` (prep/volatility.py), then
      log_return
    """
    adj = bars["adj_close"]
    cols: dict[str, np.ndarray] = {}
    proxy_used = ""
    frame_attrs: dict[str, dict[str, float]] = {}
    if target == "log_return":
        cols["log_return"] = _log_ratio(adj, adj.shift(1))
    elif target == "volatility":
        # The target's own history is the log of the daily variance proxy; returns ride along.
        if vol_proxy == "gk" and has_range(bars):  # found once, read by the proxy and the report
            frame_attrs["stale_opens"] = stale_opens(bars)
        proxy, proxy_used = variance_proxy(bars, vol_proxy, frame_attrs.get("stale_opens"))
        cols["log_variance"] = np.log(proxy)
        cols["log_return"] = _log_ratio(adj, adj.shift(1))
    else:
        cols["price"] = adj.to_numpy(dtype="float64")
    for name in features:
        needed = {
            "log_volume_change": ["volume"],
            "hl_range": ["high", "low"],
            "oc_return": ["open", "close"],
        }[name]
        lacking = [c for c in needed if bars[c].isna().any()]
        if lacking:
            raise DataError(f"feature {name} needs the {'/'.join(lacking)} column(s), which this data lacks")
        if name == "log_volume_change":
            v = np.log1p(bars["volume"].to_numpy(dtype="float64"))
            cols[name] = v - np.concatenate([[np.nan], v[:-1]])
        elif name == "hl_range":
            cols[name] = _log_ratio(bars["high"], bars["low"])
        else:
            cols[name] = _log_ratio(bars["close"], bars["open"])
    frame = pd.DataFrame(cols, index=bars.index)
    missing: dict[str, int] = {}
    for name, other in (exog or {}).items():
        pair = (calendars[""], calendars[name]) if calendars and name in calendars else None
        frame[f"exog:{name}"], missing[name] = exog_returns(bars, other, pair)
    frame.attrs["exog_missing"] = missing
    frame.attrs["vol_proxy"] = proxy_used
    frame.attrs["stale_opens"] = frame_attrs.get("stale_opens", {})
    return frame.iloc[1:]
