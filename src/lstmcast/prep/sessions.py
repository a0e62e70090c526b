"""When each bar's session closed, in UTC: what decides whether one market's close was known
at another's.

Two markets' bars dated the same day are not known at the same moment: the S&P 500's close
on day t comes after Oslo's close on day t. exchange_calendars knows each session's close
(early closes included); a bar on a date the calendar has no session for (a data vendor's
extra day) is taken to close at the exchange's regular time.
"""

from __future__ import annotations

import functools
import warnings
from datetime import time

import numpy as np
import pandas as pd


@functools.lru_cache(maxsize=32)
def _closes(calendar: str, start: str, end: str) -> tuple[pd.Series, str, time]:
    import exchange_calendars as xcals

    with warnings.catch_warnings():  # its pandas deprecation warnings are not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            cal = xcals.get_calendar(calendar, start=start, end=end)
        except (ValueError, xcals.errors.CalendarError):  # a range outside the calendar's bounds
            cal = xcals.get_calendar(calendar)
        return cal.closes, str(cal.tz), cal.close_times[-1][1]


def close_times(calendar: str, dates: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """(T,) int64 UTC nanoseconds at which the session dated `dates[i]` closed on `calendar`."""
    if not len(dates):
        return np.zeros(0, dtype="int64")
    days = pd.DatetimeIndex(dates).normalize()
    closes, tz, regular = _closes(calendar, str(days[0].date()), str(days[-1].date()))
    known = closes.reindex(days)
    usual = (days + pd.Timedelta(hours=regular.hour, minutes=regular.minute)).tz_localize(
        tz, nonexistent="shift_forward", ambiguous=False
    )
    at = known.where(known.notna(), pd.Series(usual.tz_convert("UTC"), index=days))
    return pd.DatetimeIndex(at).asi8
