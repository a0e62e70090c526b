"""The target series and causal per-bar features: row t uses bars t and t-1, never later ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.errors import DataError


def _log_ratio(a: pd.Series, b: pd.Series) -> np.ndarray:
    return np.log(a.to_numpy(dtype="float64") / b.to_numpy(dtype="float64"))


def feature_frame(bars: pd.DataFrame, target: str, features: tuple[str, ...]) -> pd.DataFrame:
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
        missing = [c for c in needed if bars[c].isna().any()]
        if missing:
            raise DataError(f"feature {name} needs the {'/'.join(missing)} column(s), which this data lacks")
        if name == "log_volume_change":
            v = np.log1p(bars["volume"].to_numpy(dtype="float64"))
            cols[name] = v - np.concatenate([[np.nan], v[:-1]])
        elif name == "hl_range":
            cols[name] = _log_ratio(bars["high"], bars["low"])
        else:
            cols[name] = _log_ratio(bars["close"], bars["open"])
    frame = pd.DataFrame(cols, index=bars.index).iloc[1:]
    return frame
