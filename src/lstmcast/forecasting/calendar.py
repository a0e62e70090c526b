"""Trading days from a maintained exchange calendar: no weekends, holidays or special closures."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from lstmcast.errors import ConfigError


@contextmanager
def _quiet() -> Iterator[None]:
    """exchange_calendars trips pandas deprecation warnings that are not ours to fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _calendar(name: str, around: date) -> Any:
    import exchange_calendars as xcals

    try:
        return xcals.get_calendar(
            name,
            start=(around - timedelta(days=30)).isoformat(),
            end=(around + timedelta(days=400)).isoformat(),
        )
    except xcals.errors.InvalidCalendarName as exc:
        raise ConfigError(f"unknown calendar {name!r}; e.g. XNYS (NYSE), XLON, XTKS") from exc


def next_sessions(last: date, n: int, calendar: str) -> list[date]:
    """The n trading days after `last` on `calendar` (ISO MIC code such as XNYS)."""
    with _quiet():
        cal = _calendar(calendar, last)
        sessions = cal.sessions[cal.sessions > str(last)]
    if len(sessions) < n:
        raise ConfigError(f"calendar {calendar} has only {len(sessions)} sessions after {last}")
    return [s.date() for s in sessions[:n]]
