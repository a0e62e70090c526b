"""Trading days from a maintained exchange calendar: no weekends, holidays or special closures.

Building a calendar costs about 0.35 s (importing exchange_calendars and computing its
sessions), more than the rest of a cold forecast. The sessions of the next 400 days are kept
in a small JSON file per calendar, keyed by the exchange_calendars version that computed them
and refreshed after a week, so a nightly forecast reads dates instead of recomputing them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from lstmcast.errors import ConfigError
from lstmcast.paths import atomic_write_text

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar

BEFORE, AHEAD = 30, 400  # days of sessions computed around the last bar
REFRESH_DAYS = 7  # a cached schedule is recomputed after this: exchanges announce closures


@contextmanager
def _quiet() -> Iterator[None]:
    """exchange_calendars trips pandas deprecation warnings that are not ours to fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _calendar(name: str, around: date) -> ExchangeCalendar:
    import exchange_calendars as xcals

    try:
        return xcals.get_calendar(
            name,
            start=(around - timedelta(days=BEFORE)).isoformat(),
            end=(around + timedelta(days=AHEAD)).isoformat(),
        )
    except xcals.errors.InvalidCalendarName as exc:
        raise ConfigError(f"unknown calendar {name!r}; e.g. XNYS (NYSE), XLON, XTKS") from exc


def _version() -> str:
    """exchange_calendars' installed version, read from its dist-info folder's name beside the
    package: what importlib.metadata reads, without the 17 ms its import adds to a cold
    forecast (it loads email, zipfile and csv). importlib.metadata answers where no such
    folder sits there (an egg, a zip)."""
    spec = importlib.util.find_spec("exchange_calendars")
    if spec is not None and spec.origin:
        site = Path(spec.origin).parent.parent
        with suppress(OSError):
            for name in os.listdir(site):
                if name.startswith(_DIST) and name.endswith(".dist-info"):
                    return name[len(_DIST) : -len(".dist-info")]
    from importlib.metadata import version

    return version("exchange_calendars")


_DIST = "exchange_calendars-"


def _cached(cache: Path, calendar: str, last: date, n: int) -> list[date] | None:
    """The n sessions after `last` from the cache, or None when it cannot answer for sure."""
    try:
        kept = json.loads((cache / f"{calendar}.json").read_text())
        start, end = date.fromisoformat(kept["start"]), date.fromisoformat(kept["end"])
        made = date.fromisoformat(kept["made"])
        if kept["version"] != _version() or not start <= last < end:
            return None
        if not 0 <= (date.today() - made).days <= REFRESH_DAYS:
            return None
        after = [d for d in map(date.fromisoformat, kept["sessions"]) if d > last][:n]
    except (OSError, ValueError, KeyError, TypeError):  # absent or damaged: compute afresh
        return None
    return after if len(after) == n else None


# A calendar name becomes a file name in the cache only if it is a plain word: anything else
# (`../../evil`, `24/7`) is computed by exchange_calendars, which knows every valid name.
_CACHEABLE = re.compile(r"[A-Za-z0-9_]{1,32}")


def next_sessions(last: date, n: int, calendar: str, cache: Path | None = None) -> list[date]:
    """The n trading days after `last` on `calendar` (ISO MIC code such as XNYS). With a
    `cache` dir, sessions come from and go to a file there (see the module's note)."""
    if not _CACHEABLE.fullmatch(calendar):
        cache = None  # never a path: the name is checked against exchange_calendars' own list
    if cache is not None:
        hit = _cached(cache, calendar, last, n)
        if hit is not None:
            return hit
    with _quiet():
        cal = _calendar(calendar, last)
        every = [s.date() for s in cal.sessions]
    if cache is not None:
        start, end = last - timedelta(days=BEFORE), last + timedelta(days=AHEAD)
        kept = {
            "calendar": calendar,
            "version": _version(),
            "made": date.today().isoformat(),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "sessions": [d.isoformat() for d in every if start <= d <= end],
        }
        with suppress(OSError, ConfigError):  # a read-only home still forecasts, without the speed-up
            atomic_write_text(cache / f"{calendar}.json", json.dumps(kept))
    sessions = [d for d in every if d > last]
    if len(sessions) < n:
        raise ConfigError(f"calendar {calendar} has only {len(sessions)} sessions after {last}")
    return sessions[:n]
