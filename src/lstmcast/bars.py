"""A ticker's daily bars as numpy columns: what the store reads, the features are made of, and
a forecast needs.

A cold `forecast` must not pay for pandas (0.3-0.5 s to import, more than the rest of the
forecast): the store reads bars with sqlite3 into these arrays, and every feature, variance
proxy and frame is computed on them. Code that wants a DataFrame (imports, exports, plots,
the universe panel) asks for one with `frame()`; a DataFrame given where bars are taken is
turned into Bars once, by `Bars.of`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.config import PRICE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd


def day_of(moment: np.datetime64) -> date:
    """The calendar date of a numpy datetime64 (any unit)."""
    return date.fromisoformat(str(moment.astype("datetime64[D]")))


@dataclass(frozen=True)
class Bars:
    """(T,) dates (datetime64[us], ascending) and one (T,) float64 array per PRICE_COLUMNS
    name, NaN where the source had no value (a close-only file has no open, high or low)."""

    dates: np.ndarray
    columns: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.dates)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def empty(self) -> bool:
        return len(self.dates) == 0

    def has(self, name: str) -> bool:
        """Whether every bar has a value in column `name`."""
        return bool(np.isfinite(self.columns[name]).all())

    def rows(self, start: int, stop: int | None = None) -> Bars:
        """Bars start..stop (views, no copy)."""
        return Bars(self.dates[start:stop], {k: v[start:stop] for k, v in self.columns.items()})

    def day(self, row: int) -> date:
        """The calendar date of bar `row` (negative counts from the end)."""
        return day_of(self.dates[row])

    def frame(self) -> pd.DataFrame:
        """The same bars as a DataFrame indexed by a DatetimeIndex named `date`."""
        import pandas as pd

        index = pd.DatetimeIndex(self.dates, name="date")
        return pd.DataFrame({c: self.columns[c] for c in PRICE_COLUMNS}, index=index)

    @classmethod
    def of(cls, bars: Bars | pd.DataFrame) -> Bars:
        """`bars` as Bars: itself, or a DataFrame's DatetimeIndex and PRICE_COLUMNS (a column it
        lacks is all NaN)."""
        if isinstance(bars, Bars):
            return bars
        n = len(bars)
        dates = np.asarray(bars.index.to_numpy(), dtype="datetime64[us]")
        columns = {
            c: bars[c].to_numpy(dtype="float64") if c in bars.columns else np.full(n, np.nan)
            for c in PRICE_COLUMNS
        }
        return cls(dates, columns)

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[str | float | None]]) -> Bars:
        """Bars from rows of an ISO date and the PRICE_COLUMNS values (None where missing), as
        the store returns them."""
        if not rows:
            return cls(np.array([], dtype="datetime64[us]"), {c: np.array([]) for c in PRICE_COLUMNS})
        days, *columns = zip(*rows, strict=True)
        table = np.array(columns, dtype="float64")  # (columns, T), None -> NaN
        dates = np.array(days, dtype="datetime64[D]").astype("datetime64[us]")
        return cls(dates, dict(zip(PRICE_COLUMNS, table, strict=True)))
