"""Daily variance proxies from open/high/low/close bars: what `--target volatility` forecasts.

Row t uses bars t and t-1 only (natural logs; O, H, L, C of bar t, C_1 the previous close):

- `squared`: (ln C/C_1)^2. Unbiased for close-to-close variance, but a single noisy draw.
- `parkinson` (1980): (ln H/L)^2 / (4 ln 2), the high/low range; about 5x more efficient
  than the squared return for a driftless diffusion. It misses the overnight gap.
- `gk`: Garman-Klass (1980), 0.5 (ln H/L)^2 - (2 ln 2 - 1)(ln C/O)^2, plus the overnight
  term (ln O/C_1)^2, so that it measures close-to-close variance (about 7x as efficient).

Range proxies read prices at discrete trades and so sit below the true variance; forecasts
of close-to-close variance are compared on the proxy's own scale (evaluation/volatility.py).

Stale opens: in long index files the open is often the previous close itself (95-98% of
S&P 500 days in 1999-2005), and Garman-Klass's open and overnight terms then measure
nothing; its ratio to squared returns drifted from 0.61 to 0.82-0.92 across one such file.
Where any year has more than STALE_SHARE of its opens equal to the previous close, `gk`
falls back to `parkinson` (the range, no open) for the whole series, so that the proxy means
one thing throughout, and says so (`stale_opens`).

A bar with no range (high = low: a halt, thin data) has a range proxy of 0, and a log
model cannot take log(0): such a bar takes its squared close-to-close return instead, and
every value is floored at FLOOR times the median of the positive values so far (causal).
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.bars import Bars

if TYPE_CHECKING:
    import pandas as pd

FLOOR = 0.01  # of the running median of the positive proxies: the log stays finite
STALE_SHARE = 0.5  # a year with more of its opens equal to the previous close has stale opens
STALE_MIN_BARS = 20  # a year with fewer bars is not judged
GK_CO = 2 * math.log(2) - 1


def has_range(bars: Bars | pd.DataFrame) -> bool:
    """Open, high and low on every bar: what the range proxies need."""
    bars = Bars.of(bars)
    return all(bars.has(c) for c in ("open", "high", "low"))


def stale_opens(bars: Bars | pd.DataFrame) -> dict[str, float]:
    """{year: share of its bars whose (unadjusted) open equals the previous close}, for every
    year of `bars` with at least STALE_MIN_BARS open prices."""
    bars = Bars.of(bars)
    o, c = bars["open"], bars["close"]
    same = np.isclose(o[1:], c[:-1], rtol=1e-7, atol=0.0)
    known = np.isfinite(o[1:]) & np.isfinite(c[:-1])
    years, which = np.unique(
        bars.dates[1:].astype("datetime64[Y]").astype("int64") + 1970, return_inverse=True
    )
    n_same = np.bincount(which, weights=same & known, minlength=len(years))
    n_known = np.bincount(which, weights=known, minlength=len(years))
    return {
        str(y): float(s / k) for y, s, k in zip(years, n_same, n_known, strict=True) if k >= STALE_MIN_BARS
    }


def stale_years(shares: dict[str, float]) -> list[str]:
    """The years whose share of stale opens is above STALE_SHARE."""
    return [y for y, s in shares.items() if s > STALE_SHARE]


def variance_proxy(
    bars: Bars | pd.DataFrame, kind: str, stale: dict[str, float] | None = None
) -> tuple[np.ndarray, str]:
    """(T,) daily variance proxy of `bars` (NaN on the first bar) and the proxy used: a
    series without open/high/low falls back to `squared`, a `gk` with stale opens in any
    year (`stale_years` of `stale`, the bars' `stale_opens` when not given) to `parkinson`."""
    bars = Bars.of(bars)
    adj, close = bars["adj_close"], bars["close"]
    ret = np.log(adj[1:] / adj[:-1])
    squared = np.concatenate([[np.nan], ret**2])
    if kind == "squared" or not has_range(bars):
        return _floored(squared), "squared"
    o, h, lo = bars["open"], bars["high"], bars["low"]
    hl = np.log(h / lo) ** 2
    if kind == "gk" and stale_years(stale_opens(bars) if stale is None else stale):
        kind = "parkinson"
    if kind == "parkinson":
        proxy = hl / (4 * math.log(2))
    else:
        # The overnight gap on adjusted prices: a split or dividend between two bars shows in
        # the unadjusted open over the previous close, and is not a price move.
        open_adj = o * adj / close
        overnight = np.concatenate([[np.nan], np.log(open_adj[1:] / adj[:-1]) ** 2])
        proxy = 0.5 * hl - GK_CO * np.log(close / o) ** 2 + overnight
    flat = (h <= lo) | ~np.isfinite(proxy) | (proxy <= 0)
    proxy = np.where(flat, squared, proxy)
    proxy[0] = np.nan
    return _floored(proxy), kind


def _floored(proxy: np.ndarray) -> np.ndarray:
    """Each value floored at FLOOR x the median of the positive values up to it (row t's floor
    uses rows <= t only). The first bar stays NaN."""
    floor = FLOOR * _running_median(np.where(proxy > 0, proxy, np.nan), fill=1e-8)
    out = np.maximum(proxy, floor)
    out[0] = np.nan
    return out


def _running_median(x: np.ndarray, fill: float) -> np.ndarray:
    """(T,) the median of the non-NaN values of x[:t+1] (of an even count, the mean of the
    middle two), `fill` before the first. Two heaps, O(T log T): the one loop over bars here,
    about 2 ms per 1,000 bars, where pandas' expanding median would cost its import (0.3 s)."""
    out = np.full(len(x), fill, dtype="float64")
    low: list[float] = []  # max-heap (negated) of the smaller half, one longer when odd
    high: list[float] = []  # min-heap of the larger half
    median = fill
    for t, v in enumerate(x.tolist()):
        if v == v:  # not NaN
            if low and v > -low[0]:
                heapq.heappush(high, v)
            else:
                heapq.heappush(low, -v)
            if len(low) > len(high) + 1:
                heapq.heappush(high, -heapq.heappop(low))
            elif len(high) > len(low):
                heapq.heappush(low, -heapq.heappop(high))
            median = -low[0] if len(low) > len(high) else (-low[0] + high[0]) / 2
        out[t] = median
    return out
