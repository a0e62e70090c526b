"""`fetch --universe`: every member from Yahoo Finance, throttled, resumable, and a report.

A universe of hundreds of tickers meets Yahoo's rate limit. Downloads are paced (`pause`
seconds apart, one second by default) and each 429 is retried with backoff (in
`sources.yahoo`). Each member is its own write, so an interrupted fetch keeps what it got,
and running it again skips members fetched in the last `RESUME_HOURS` (unless `refresh`).
It ends with the universe's survivorship line and the members Yahoo has no prices for:
possibly delisted, and missing from any backtest of the past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from lstmcast.data.ingest import FetchOutcome, fetch
from lstmcast.errors import LstmcastError, NotFoundError
from lstmcast.store.db import Store
from lstmcast.store.prices import fetched_since
from lstmcast.universe.members import Survivorship, show_universe

RESUME_HOURS = 12  # a member fetched this recently is skipped when the fetch runs again
DEFAULT_PAUSE = 1.0  # seconds between two downloads: well inside what Yahoo tolerates


@dataclass
class UniverseFetch:
    universe: str
    outcomes: list[FetchOutcome]  # the members downloaded this time
    skipped: list[str]  # fetched within RESUME_HOURS: not asked again
    possibly_delisted: list[str]  # Yahoo has no prices for them (now, or when last asked)
    survivorship: Survivorship

    @property
    def errors(self) -> list[LstmcastError]:
        """Failures that count: a member Yahoo does not know is reported, not failed."""
        return [
            o.error for o in self.outcomes if o.error is not None and not isinstance(o.error, NotFoundError)
        ]


def fetch_universe(
    store: Store,
    name: str,
    start: date | None = None,
    end: date | None = None,
    session: object = None,
    pause: float = DEFAULT_PAUSE,
    refresh: bool = False,
) -> UniverseFetch:
    """Download every member of universe `name` not fetched in the last RESUME_HOURS."""
    universe = show_universe(store, name)
    since = (datetime.now(timezone.utc) - timedelta(hours=RESUME_HOURS)).replace(microsecond=0).isoformat()
    recent = {} if refresh else fetched_since(store.conn, since)
    todo = [t for t in universe.tickers if t not in recent]
    report = fetch(store, todo, start, end, session, pause) if todo else None
    outcomes = report.outcomes if report else []
    missing = {o.ticker for o in outcomes if isinstance(o.error, NotFoundError)}
    missing |= {t for t, how in recent.items() if how == "not found" and t in universe.tickers}
    after = show_universe(store, universe.name)
    return UniverseFetch(
        universe.name,
        outcomes,
        sorted(t for t in universe.tickers if t in recent),
        sorted(missing),
        after.survivorship,
    )
