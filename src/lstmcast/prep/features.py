"""The target series and causal per-bar features: row t uses bars t and t-1, never later ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.errors import DataError


def _log_ratio(a: pd.Series, b: pd.Series) -> np.ndarray:
    return np.log(a.to_numpy(dtype="float64") / b.to_numpy(dtype="float64"))


def exog_returns(bars: pd.DataFrame, other: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Daily log returns of `other` on `bars`' dates, using only its closes up to each date.

    A target date on which `other` has no bar takes its last earlier close (return 0 that
    day; the move shows up on its next bar). Returns the values and how many target dates
    had no bar of their own; dates before `other` starts are NaN.
    """
    own = other["adj_close"]
    union = own.reindex(own.index.union(bars.index)).ffill()  # past values only: ffill, never bfill
    aligned = union.reindex(bars.index)
    started = bars.index >= own.index[0]
    missing = int((~bars.index.isin(own.index) & started).sum())
    values = aligned.to_numpy(dtype="float64")
    return np.log(values / np.concatenate([[np.nan], values[:-1]])), missing


def feature_frame(
    bars: pd.DataFrame,
    target: str,
    features: tuple[str, ...],
    exog: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Column 0 is the target's own history; then the requested extras. The first bar is
    dropped because a return needs the bar before it.

    - log_return: log(adj_t / adj_{t-1})      - price: adj_t
    - log_volume_change: log1p(vol_t) - log1p(vol_{t-1})
    - hl_range: log(high_t / low_t)           - oc_return: log(close_t / open_t)
    """
    adj = bars["adj_close"]
    cols: dict[str, np.ndarray] = {}
    if target == "log_return":
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
        frame[f"exog:{name}"], missing[name] = exog_returns(bars, other)
    frame.attrs["exog_missing"] = missing
    return frame.iloc[1:]
