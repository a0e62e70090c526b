"""Universes: named sets of tickers judged together, with point-in-time membership.

A universe is made from tickers named on the command line (today's members, applied to the
past: the survivorship-biased list free data gives) or from a members file, a CSV of
`ticker[,start,end]` rows that says when each ticker was a member. `show` joins the list
with the stored prices and says what a backtest would face: members without prices
(possibly delisted), members whose prices start late or end early, and how many cover
their whole span. Every universe command reports this `Survivorship` line.
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from lstmcast.errors import ConfigError, DataError, NotFoundError
from lstmcast.store.db import Store
from lstmcast.store.prices import summarize
from lstmcast.store.universes import Span, UniverseRecord, all_universes, delete_universe, load_universe
from lstmcast.store.universes import save_universe as _save
from lstmcast.tickers import validate_ticker

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# A member's prices that begin or end within this many calendar days of its span cover it:
# a span starting on a holiday, or a file one bar short, is not a survivorship problem.
SLACK_DAYS = 7
NOT_POINT_IN_TIME = (
    "the list has no membership dates: today's members applied to the past make any strategy"
    " look better (survivorship bias); give --members FILE with ticker,start,end rows"
)


def universe_name(raw: str) -> str:
    """A universe's name, lower-cased: letters, digits and `_ . -`, at most 64 characters."""
    name = raw.strip().lower()
    if not _NAME.match(name):
        raise ConfigError(
            f"invalid universe name {raw!r}: use letters, digits and _ . - (at most 64, starting"
            " with a letter or digit)"
        )
    return name


def _day(text: str, where: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise DataError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def read_members(path: Path) -> list[Span]:
    """The spans of a members file: `ticker[,start,end]` per row (a header row, blank lines
    and `#` comments are skipped; an empty start or end is open). A bad row is named by its
    line; a ticker's spans may not overlap."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"cannot read the members file {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    spans: list[Span] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in ("ticker", "symbol"):
            continue
        where = f"{path.name} line {number}"
        if len(cells) > 3:
            raise DataError(f"{where}: expected ticker[,start,end], found {len(cells)} columns")
        try:
            ticker = validate_ticker(cells[0])
        except DataError as exc:
            raise DataError(f"{where}: {exc}") from None
        start = _day(cells[1], where) if len(cells) > 1 else None
        end = _day(cells[2], where) if len(cells) > 2 else None
        if start and end and start > end:
            raise DataError(f"{where}: {ticker} starts on {start}, after it ends on {end}")
        spans.append(Span(ticker, start, end))
    if not spans:
        raise DataError(f"{path.name} names no member: expected rows of ticker[,start,end]")
    _check_overlaps(spans, path.name)
    return spans


def _check_overlaps(spans: list[Span], where: str) -> None:
    by: dict[str, list[Span]] = {}
    for s in spans:
        by.setdefault(s.ticker, []).append(s)
    for ticker, own in by.items():
        own.sort(key=lambda s: s.start or "")
        for a, b in itertools.pairwise(own):
            if a.end is None or (b.start or "") <= a.end:
                raise DataError(
                    f"{where}: {ticker}'s memberships overlap ({a.start or 'open'}..{a.end or 'open'} and"
                    f" {b.start or 'open'}..{b.end or 'open'}): give each span once"
                )


@dataclass(frozen=True)
class MemberCoverage:
    """One span of one member against its stored prices."""

    ticker: str
    start: str | None
    end: str | None
    first: str | None  # its first stored bar (None: no prices)
    last: str | None
    bars: int
    status: str  # "covered", "no prices", "starts late", "ends early", "starts late, ends early"


@dataclass(frozen=True)
class Survivorship:
    """What a backtest on this universe faces, in the names scripts read."""

    members: int  # distinct tickers
    without_prices: int  # members with no stored bar: possibly delisted (free data drops them)
    starting_late: int  # members whose prices begin after their membership does
    ending_early: int  # ... or end before it does: delisted, merged, or a stale file
    covering: int  # members whose every span is covered by prices
    point_in_time: bool
    warning: str | None = None  # in words, when the list is today's members applied to the past

    def line(self) -> str:
        """The one survivorship line every universe command prints."""
        text = (
            f"survivorship: {self.members} members, {self.covering} cover their whole span,"
            f" {self.without_prices} without prices, {self.starting_late} start late,"
            f" {self.ending_early} end early"
        )
        return text + (f"; {self.warning}" if self.warning else "")


@dataclass(frozen=True)
class Universe:
    name: str
    created_at: str
    source: str
    point_in_time: bool
    span: tuple[str | None, str | None]  # the stored prices' first and last date over its members
    survivorship: Survivorship
    members: list[MemberCoverage] = field(default_factory=list)

    @property
    def tickers(self) -> list[str]:
        return sorted({m.ticker for m in self.members})


@dataclass(frozen=True)
class UniverseSummary:
    name: str
    members: int
    spans: int
    point_in_time: bool
    source: str
    created_at: str


def _shift(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _coverage(store: Store, record: UniverseRecord) -> Universe:
    stored = {s.ticker: s for s in summarize(store.conn)}
    have = [stored[t] for t in {s.ticker for s in record.spans} if t in stored]
    first = min((s.first for s in have), default=None)
    last = max((s.last for s in have), default=None)
    members = []
    for span in record.spans:
        s = stored.get(span.ticker)
        outside = s is not None and (s.last < (span.start or "") or s.first > (span.end or "9999"))
        if s is None or first is None or last is None or outside:  # none in its span: as good as none
            members.append(MemberCoverage(span.ticker, span.start, span.end, None, None, 0, "no prices"))
            continue
        want_from = max(span.start or first, first)
        want_to = min(span.end or last, last)
        late = s.first > _shift(want_from, SLACK_DAYS)
        early = s.last < _shift(want_to, -SLACK_DAYS)
        status = ", ".join(w for w, on in (("starts late", late), ("ends early", early)) if on) or "covered"
        members.append(MemberCoverage(span.ticker, span.start, span.end, s.first, s.last, s.rows, status))
    tickers = {m.ticker for m in members}

    def count(word: str) -> int:
        return len({m.ticker for m in members if word in m.status})

    survivorship = Survivorship(
        members=len(tickers),
        without_prices=count("no prices"),
        starting_late=count("starts late"),
        ending_early=count("ends early"),
        covering=len(tickers - {m.ticker for m in members if m.status != "covered"}),
        point_in_time=record.point_in_time,
        warning=None if record.point_in_time else NOT_POINT_IN_TIME,
    )
    return Universe(
        record.name,
        record.created_at,
        record.source,
        record.point_in_time,
        (first, last),
        survivorship,
        members,
    )


def create_universe(
    store: Store,
    name: str,
    tickers: list[str] | None = None,
    members: Path | None = None,
    replace: bool = False,
) -> Universe:
    """Make (or with `replace`, remake) universe `name` from `tickers` or a `members` file."""
    name = universe_name(name)
    if bool(tickers) == (members is not None):
        raise ConfigError("give the members as TICKER... or as --members FILE (ticker[,start,end]), not both")
    if members is not None:
        spans = read_members(members)
        source = members.name
    else:
        named = [validate_ticker(t) for t in tickers or []]
        repeated = sorted({t for t in named if named.count(t) > 1})
        if repeated:
            raise ConfigError(f"{', '.join(repeated)} named twice: give each member once")
        spans, source = [Span(t) for t in named], "tickers"
    point_in_time = any(s.start or s.end for s in spans)
    store.require_writable()
    record = UniverseRecord(name, "", source, point_in_time, tuple(spans))
    if not _save(store.conn, record, replace):
        raise ConfigError(
            f"universe {name} exists: `lstmcast universe show {name}`, or --replace to remake it"
        )
    return show_universe(store, name)


def show_universe(store: Store, name: str) -> Universe:
    record = load_universe(store.conn, universe_name(name))
    if record is None:
        raise NotFoundError(f"no universe {name!r}; `lstmcast universe list` lists them")
    return _coverage(store, record)


def list_universes(store: Store) -> list[UniverseSummary]:
    return [
        UniverseSummary(
            r.name, len({s.ticker for s in r.spans}), len(r.spans), r.point_in_time, r.source, r.created_at
        )
        for r in all_universes(store.conn)
    ]


def remove_universe(store: Store, name: str) -> int:
    """Forget a universe (its members' prices stay); how many member spans it had."""
    store.require_writable()
    n = delete_universe(store.conn, universe_name(name))
    if n < 0:
        raise NotFoundError(f"no universe {name!r}; `lstmcast universe list` lists them")
    return n


def members_on(universe: Universe, day: str) -> list[str]:
    """The tickers that were members on `day` (ISO): point-in-time membership."""
    return sorted(
        {m.ticker for m in universe.members if (m.start or "") <= day and (m.end is None or day <= m.end)}
    )
