"""A universe as one panel: dates x tickers, built by index and never by copying windows.

The panel holds each member's adjusted closes on a common calendar (the union of the
members' dates) and a mask of the days a ticker is listed *and* a member. A model's inputs
are a dense (dates, tickers, features) float32 array; a training sample is a pair of
indices (date, ticker), and its window is gathered from the array only when a batch needs
it (`gather`). 500 tickers x 25 years with 20 features x 60-day windows is 15 GB as copied
windows and 0.25 GB this way (UNIVERSE-NOTES).

Cutoffs are dates, common to every ticker. Each ticker's scaler is fitted on its own rows up
to the cutoff only (`standardise`), and cross-sectional z-scores use one date's values only,
so nothing after a cutoff reaches an input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcast.errors import ConfigError, DataError
from lstmcast.store.db import Store
from lstmcast.store.prices import load_prices
from lstmcast.universe.members import Universe

MIN_NAMES = 5  # a date with fewer members listed has no cross-section to rank


@dataclass(frozen=True)
class Panel:
    dates: pd.DatetimeIndex  # (T,) the union of the members' trading days
    tickers: tuple[str, ...]  # (N,) sorted
    close: np.ndarray  # (T, N) float64 adjusted closes; NaN where the ticker has no bar
    member: np.ndarray  # (T, N) bool: a member on that date (point-in-time membership)

    @property
    def listed(self) -> np.ndarray:
        """(T, N) bool: a bar that day, and a member."""
        return self.member & np.isfinite(self.close)

    def returns(self) -> np.ndarray:
        """(T, N) daily log returns, r[t] = log(c[t] / c[t-1]); NaN where either bar is missing
        or the ticker is not a member at t. Row 0 is NaN."""
        out = np.full(self.close.shape, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[1:] = np.log(self.close[1:] / self.close[:-1])
        out[~self.listed] = np.nan
        return out

    def forward(self, horizon: int) -> np.ndarray:
        """(T, N) the log return over the `horizon` days after t (NaN where not all known and
        listed): the value a forecast made at t's close is judged by."""
        r = self.returns()
        out = np.full(r.shape, np.nan)
        if horizon < len(r):
            csum = np.nancumsum(np.where(np.isfinite(r), r, 0.0), axis=0)
            known = np.cumsum(np.isfinite(r), axis=0)
            span = csum[horizon:] - csum[:-horizon]
            whole = (known[horizon:] - known[:-horizon]) == horizon
            out[:-horizon] = np.where(whole, span, np.nan)
        return out

    def before(self, row: int) -> Panel:
        """The panel's rows before `row` only: what existed before that date."""
        return Panel(self.dates[:row], self.tickers, self.close[:row], self.member[:row])

    def index_of(self, day: str) -> int:
        """The last row on or before `day` (ISO): a cutoff as a date common to every ticker."""
        at = int(self.dates.searchsorted(pd.Timestamp(day), side="right")) - 1
        if at < 0:
            raise ConfigError(f"{day} is before the panel's first date {self.dates[0].date()}")
        return at


def build_panel(store: Store, universe: Universe) -> Panel:
    """The universe's members with stored prices, on the union of their dates; a member row is
    True only inside its membership spans."""
    tickers = tuple(t for t in universe.tickers if any(m.ticker == t and m.bars for m in universe.members))
    if len(tickers) < 2:
        raise DataError(
            f"universe {universe.name} has {len(tickers)} member(s) with prices: a panel needs two or"
            f" more (`lstmcast fetch --universe {universe.name}` or `lstmcast import FOLDER`)"
        )
    frames = {t: load_prices(store.conn, t)["adj_close"] for t in tickers}
    close = pd.DataFrame(frames).sort_index()
    dates = pd.DatetimeIndex(close.index)
    day = dates.strftime("%Y-%m-%d").to_numpy()
    member = np.zeros(close.shape, dtype=bool)
    for m in universe.members:
        if m.ticker in tickers:
            col = tickers.index(m.ticker)
            member[:, col] |= (day >= (m.start or "")) & (day <= (m.end or "9999"))
    return Panel(dates, tickers, close.to_numpy(dtype="float64"), member)


def member_scalers(values: np.ndarray, cutoff: int) -> tuple[np.ndarray, np.ndarray]:
    """(N,) each ticker's mean and standard deviation over rows 0..cutoff only: a per-ticker
    scaler that never sees a row after the cutoff. A ticker with fewer than two finite
    training rows (or none that vary) gets NaN."""
    train = values[: cutoff + 1]
    finite = np.isfinite(train)
    n = finite.sum(axis=0)
    safe = np.where(finite, train, 0.0)
    mean = np.divide(safe.sum(axis=0), n, out=np.full(n.shape, np.nan), where=n > 0)
    var = np.divide(
        (np.where(finite, train - mean, 0.0) ** 2).sum(axis=0),
        n - 1,
        out=np.full(n.shape, np.nan),
        where=n > 1,
    )
    sd = np.sqrt(var)
    return mean, np.where(sd > 0, sd, np.nan)


Scalers = dict[str, tuple[np.ndarray, np.ndarray]]  # input column -> each member's (mean, sd)


def scale_with(
    values: np.ndarray, cutoff: int, saved: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(T, N) values standardised per member, and the (mean, sd) used: a member's `saved`
    scaler where it has one (NaN where not), else its own rows up to `cutoff` only (a member a
    saved network never saw is scaled on its own history to date: nothing later exists)."""
    mean, sd = member_scalers(values, cutoff)
    if saved is not None:
        mean = np.where(np.isfinite(saved[0]), saved[0], mean)
        sd = np.where(np.isfinite(saved[1]), saved[1], sd)
    return (values - mean) / sd, (mean, sd)


def standardise(values: np.ndarray, cutoff: int) -> np.ndarray:
    """(T, N) values less each ticker's mean and over its standard deviation, both over rows
    0..cutoff only (`member_scalers`). A ticker without a scaler keeps NaN."""
    mean, sd = member_scalers(values, cutoff)
    return (values - mean) / sd


def cross_sectional_z(values: np.ndarray) -> np.ndarray:
    """(T, N) each date's values as z-scores across the tickers listed that date (one date's
    values only: no look-ahead). A date with fewer than two values gives NaN."""
    finite = np.isfinite(values)
    n = finite.sum(axis=1, keepdims=True)
    safe = np.where(finite, values, 0.0)
    mean = np.divide(safe.sum(axis=1, keepdims=True), n, out=np.full(n.shape, np.nan), where=n > 0)
    var = np.divide(
        (np.where(finite, values - mean, 0.0) ** 2).sum(axis=1, keepdims=True),
        n - 1,
        out=np.full(n.shape, np.nan),
        where=n > 1,
    )
    sd = np.sqrt(var)
    return np.where(finite & (sd > 0), (values - mean) / np.where(sd > 0, sd, 1.0), np.nan)


def ranks(x: np.ndarray) -> np.ndarray:
    """Each row's values as ranks (average ranks for ties); NaN stays NaN."""
    frame = pd.DataFrame(x)
    return np.asarray(frame.rank(axis=1, method="average").to_numpy(dtype="float64"))


def centred_ranks(x: np.ndarray) -> np.ndarray:
    """(T, N) each date's values as ranks scaled to [-0.5, 0.5] (ties averaged); NaN stays, and
    a date with one value has none."""
    r = ranks(x)
    n = np.isfinite(x).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, (r - 1) / (n - 1) - 0.5, np.nan)


def panel_target(name: str, forward: np.ndarray, listed: np.ndarray, scale_rows: slice) -> np.ndarray:
    """What the network learns at each (date, ticker): the centred cross-sectional rank of
    the forward return (`rank`), or the forward return less that date's members' mean,
    divided by its spread on `scale_rows` (`excess`)."""
    fwd = np.where(listed, forward, np.nan)
    enough = (np.isfinite(fwd).sum(axis=1) >= MIN_NAMES)[:, None]
    fwd = np.where(enough, fwd, np.nan)
    if name == "rank":
        return centred_ranks(fwd)
    finite = np.isfinite(fwd)
    n = finite.sum(axis=1, keepdims=True)
    mean = np.divide(
        np.where(finite, fwd, 0.0).sum(axis=1, keepdims=True), n, out=np.full(n.shape, np.nan), where=n > 0
    )
    excess = fwd - mean
    spread = np.nanstd(excess[scale_rows]) if np.isfinite(excess[scale_rows]).any() else 1.0
    return excess / (spread if spread > 0 else 1.0)


def inputs(panel: Panel, cutoff: int, cross_sectional: bool = False) -> tuple[np.ndarray, tuple[str, ...]]:
    """The model's (T, N, F) float32 inputs: each ticker's standardised daily return (its
    scaler fitted up to `cutoff`) and, with `cross_sectional`, that date's z-score of it."""
    r = panel.returns()
    columns = [standardise(r, cutoff)]
    names = ["return"]
    if cross_sectional:
        columns.append(cross_sectional_z(r))
        names.append("return_cs_z")
    return np.stack(columns, axis=-1).astype("float32"), tuple(names)


def sample_index(
    valid: np.ndarray, target: np.ndarray, window: int, rows: slice
) -> tuple[np.ndarray, np.ndarray]:
    """The (date, ticker) pairs whose whole window ending at that date is `valid` (T, N) and
    whose `target` is known, with the date in `rows`: the samples, as two int arrays. No
    window is copied."""
    if window < 1:
        raise ConfigError(f"--window {window} must be at least 1")
    ok = np.concatenate([np.zeros((1, valid.shape[1]), dtype=np.int64), np.cumsum(valid, axis=0)])
    full = np.zeros(valid.shape, dtype=bool)
    full[window - 1 :] = (ok[window:] - ok[:-window]) == window
    full &= np.isfinite(target)
    keep = np.zeros(valid.shape[0], dtype=bool)
    keep[rows] = True
    t, n = np.nonzero(full & keep[:, None])
    return t.astype(np.int64), n.astype(np.int64)


def gather(values: np.ndarray, t: np.ndarray, n: np.ndarray, window: int) -> np.ndarray:
    """(B, window, F) the windows of the samples (t, n) from the (T, N, F) panel: made for one
    batch, from the index maps, when it is needed."""
    offsets = np.arange(-window + 1, 1)
    return values[t[:, None] + offsets[None, :], n[:, None]]


@dataclass(frozen=True)
class PanelSize:
    """What a panel costs in memory, against what copying its windows would cost."""

    dates: int
    tickers: int
    features: int
    window: int
    panel_bytes: int  # the dense float32 inputs, the closes and the masks
    copied_bytes: int  # every sample's window as its own array, as a copying loader makes them

    def words(self) -> str:
        copied = f"{_gb(self.copied_bytes)} as copied {self.window}-day windows"
        return (
            f"panel: {self.tickers} tickers x {self.dates} dates x {self.features} feature(s):"
            f" {_gb(self.panel_bytes)} in memory ({copied})"
        )


def panel_size(dates: int, tickers: int, features: int, window: int) -> PanelSize:
    cells = dates * tickers
    return PanelSize(
        dates,
        tickers,
        features,
        window,
        panel_bytes=cells * (features * 4 + 8 + 1 + 8 + 8),  # inputs, closes, mask, returns, target
        copied_bytes=cells * window * features * 4,
    )


def available_bytes() -> int | None:
    """Memory this machine can give now (MemAvailable), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(size: PanelSize, available: int | None = None) -> None:
    """Refuse, in one line, a panel that would not fit in memory (with room for the rest)."""
    free = available if available is not None else available_bytes()
    if free is not None and size.panel_bytes > 0.8 * free:
        raise ConfigError(
            f"{size.words()}, more than this machine has free ({_gb(free)}): use fewer tickers or a"
            " later --start"
        )


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"
