"""Reading and validating price CSVs: Yahoo-style and variants (FRED, lower-case, .gz, `;` with
decimal commas, UTF-16), rejecting what cannot be a real bar and naming its line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.config import PRICE_COLUMNS
from lstmcast.errors import DataError, NotFoundError
from lstmcast.sources.csvtext import EARLIEST, dialect, header_of, sniff, text_chunks
from lstmcast.tickers import exchange_of, today_at

# A one-day move this large, with no adjusted close to explain it, is most likely a split.
SPLIT_SUSPECT_MOVE = 0.40
# No listed share has traded near this; a value above it is a typo or a unit error.
MAX_PLAUSIBLE_PRICE = 1e9
MIN_PLAUSIBLE_PRICE = 1e-9  # below any price ever quoted; 1e-300 breaks logs and scalers downstream
# A one-day move of the adjusted close beyond this factor (up or down) is worth a warning.
IMPLAUSIBLE_MOVE = 3.0
# No exchange closes for this long: a gap wider than a year is a typo in a date, or two series.
MAX_GAP_DAYS = 366

_ALIASES = {
    "date": "date",
    "datetime": "date",
    "timestamp": "date",
    "time": "date",
    "day": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "price": "close",
    "last": "close",
    "closeprice": "close",
    "adjclose": "adj_close",
    "adjustedclose": "adj_close",
    "adjclosing": "adj_close",
    "volume": "volume",
    "vol": "volume",
}

# Tried in order when the dates are not ISO 8601; US month-first before day-first.
_DATE_FORMATS = ["%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d", "%d-%b-%Y", "%b %d, %Y", "%Y/%m/%d"]


@dataclass
class CsvPrices:
    """Validated bars indexed by date, plus warnings that did not stop the import."""

    bars: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    has_adj_close: bool = True


def _canonical(name: str) -> str:
    key = re.sub(r"[^a-z]", "", str(name).lower())
    return _ALIASES.get(key, key)


def _parse_dates(raw: pd.Series, where: str, lines: np.ndarray) -> pd.DatetimeIndex:
    text = raw.astype("string").str.strip()
    blank = text.isna() | (text == "")
    if blank.any():
        line = lines[int(np.flatnonzero(blank.to_numpy())[0])]
        raise DataError(f"{where}, line {line}: empty date")
    candidates: list[str | None] = ["ISO8601", *_DATE_FORMATS]
    for fmt in candidates:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=fmt == "ISO8601")
        if not parsed.isna().any():
            if fmt == "ISO8601":
                # Keep the calendar date the provider wrote, whatever its time zone.
                parsed = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
                if parsed.isna().any():
                    continue
            return pd.DatetimeIndex(parsed).normalize()
    iso = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    bad = int(np.flatnonzero(iso.isna().to_numpy())[0])
    raise DataError(f"{where}, line {lines[bad]}: cannot parse date {text.iloc[bad]!r}")


def _pick_columns(frame: pd.DataFrame, where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for col in frame.columns:
        canon = _canonical(col)
        if canon in {"date", *PRICE_COLUMNS} and canon not in found:
            found[canon] = col
    if "date" not in found:
        raise DataError(f"{where}: no date column (expected one named Date)")
    if "close" not in found:
        # A FRED-style file: DATE plus one series column, which is the price.
        others = [c for c in frame.columns if c != found["date"]]
        if len(others) == 1 and "adj_close" not in found:
            found["close"] = others[0]
        elif "adj_close" in found:
            found["close"] = found["adj_close"]
        else:
            names = ", ".join(map(str, frame.columns))
            raise DataError(f"{where}: no price column (expected Close or Adj Close; got {names})")
    return found


# A thousands separator groups digits by three (1,234,567.8 or, with a decimal comma,
# 1.234.567,8); a separator anywhere else ("10,8" in a file whose decimal mark is ".") makes
# the number ambiguous, and it is refused rather than read as 108.
_GROUPED = {sep: rf"^[+-]?\d{{1,3}}(\{sep}\d{{3}})+([{mark}]\d*)?$" for sep, mark in ((",", "."), (".", ","))}


def _numbers(text: pd.Series, decimal_comma: bool) -> np.ndarray:
    """Numbers from text cells; thousands separators (groups of three digits only) dropped,
    the decimal mark normalised. An ambiguous cell is NaN, named by the caller."""
    s = text.astype("string").str.strip()
    sep, mark = (".", ",") if decimal_comma else (",", ".")
    ambiguous = s.str.contains(sep, regex=False).fillna(False) & ~s.str.match(_GROUPED[sep]).fillna(False)
    s = s.str.replace(sep, "", regex=False)
    if decimal_comma:
        s = s.str.replace(mark, ".", regex=False)
    return pd.to_numeric(s.mask(ambiguous), errors="coerce").to_numpy(dtype="float64")


# What marks a missing value: FRED writes ".", others leave the cell empty or write NA.
MISSING = frozenset({"", ".", "na", "n/a", "#n/a", "nan", "null", "none", "-"})
OPTIONAL = ("open", "high", "low", "adj_close", "volume")  # a close-only series has none of these


def _missing(cells: pd.Series) -> np.ndarray:
    return cells.astype("string").fillna("").str.strip().str.lower().isin(MISSING).to_numpy()


def read_price_csv(path: Path, latest: date | None = None, strict: bool = False) -> CsvPrices:
    """Read, validate and sort one price file; raise DataError naming the file and line.

    Bars dated after `latest` (default: today in New York) are rejected: they cannot exist yet.
    A column that is empty in every row (lstmcast's own export of a close-only series) is read
    as absent. In a close-only series, days without a close (FRED's ".", empty, NA) are
    skipped and counted in a warning; `strict` refuses them instead. Columns that are not
    prices are named once in a warning, never dropped silently.
    """
    where = str(path)
    if not path.exists():
        raise NotFoundError(f"{where}: no such file")
    if not path.is_file():  # a FIFO would wait forever, /dev/zero never ends, a directory fails
        raise DataError(f"{where}: not a regular file (a directory, pipe or device); give a CSV file")
    latest = latest or today_at(exchange_of("")[1])
    codec, head = sniff(path, where)
    if not head.strip():
        raise DataError(f"{where}: the file is empty")
    delimiter, decimal_comma = dialect(head)
    header = header_of(head, delimiter, where)
    found = _pick_columns(header, where)
    warnings: list[str] = []
    used = set(found.values())
    ignored = [str(c) for c in header.columns if c not in used]
    if ignored:
        more = f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
        warnings.append(f"{where}: ignored column(s) {', '.join(ignored[:5])}{more} (not a date or a price)")
    frame = text_chunks(path, where, codec, delimiter, (latest - EARLIEST).days + 1, [*used])
    for canon in OPTIONAL:
        if canon in found and found[canon] != found["close"] and _missing(frame[found[canon]]).all():
            del found[canon]  # empty in every row: absent, as lstmcast's export writes it
    frame = _skip_empty_days(frame, found, where, strict, warnings)
    lines = frame.index.to_numpy() + 2  # the file's own line numbers, header on line 1
    dates = _parse_dates(frame[found["date"]], where, lines)
    future = np.flatnonzero(dates.date > latest)
    if future.size:
        i = int(future[0])
        raise DataError(
            f"{where}, line {lines[i]}: {dates[i].date()} is in the future"
            f" (today is {latest} on the exchange)"
        )

    out = pd.DataFrame(index=dates)
    for canon in PRICE_COLUMNS:
        if canon not in found:
            out[canon] = np.nan
            continue
        cells = frame[found[canon]].astype("string").str.strip()
        values = _numbers(cells, decimal_comma)
        bad = np.flatnonzero(np.isnan(values))
        if bad.size:
            i = int(bad[0])
            shown = "empty" if cells.iloc[i] in ("", ".") else repr(cells.iloc[i])
            sep, mark = (".", ",") if decimal_comma else (",", ".")
            why = (
                f"; a '{sep}' in a number here only groups thousands (1{sep}234{mark}5), so it is ambiguous"
                if sep in str(cells.iloc[i]) and shown != "empty"
                else ""
            )
            raise DataError(
                f"{where}, line {lines[i]} ({dates[i].date()}): {found[canon]} is {shown}"
                f" ({bad.size} missing or non-numeric value(s) in that column{why})"
            )
        _check_values(values, canon, found[canon], dates, where, lines)
        out[canon] = values
    _check_ranges(out, dates, where, lines)
    dup = out.index.duplicated(keep=False)
    if dup.any():
        day = out.index[dup][0]
        same = lines[np.flatnonzero(out.index == day)].tolist()  # that date's lines only
        others = int(out.index[dup].nunique()) - 1
        more = f"; {others} other date(s) repeat too" if others else ""
        raise DataError(f"{where}: duplicate date {day.date()} (lines {', '.join(map(str, same[:5]))}){more}")
    out = out.sort_index()
    out.index.name = "date"
    gaps = np.diff(out.index.values).astype("timedelta64[D]").astype(int) if len(out) > 1 else np.array([])
    if gaps.size and gaps.max() > MAX_GAP_DAYS:
        i = int(np.argmax(gaps))
        warnings_gap = (
            f"{where}: no bar for {gaps[i]} days between {out.index[i].date()} and {out.index[i + 1].date()};"
            " check the dates there (a typo in a year?)"
        )
    else:
        warnings_gap = ""

    has_adj = "adj_close" in found
    if warnings_gap:
        warnings.append(warnings_gap)
    adj = out["adj_close"] if has_adj else out["close"]
    jumps = np.abs(np.log(adj / adj.shift(1))) > np.log(IMPLAUSIBLE_MOVE)
    if has_adj and jumps.any():
        days = ", ".join(str(d.date()) for d in adj.index[jumps][:5])
        warnings.append(
            f"{where}: the adjusted close moves more than {IMPLAUSIBLE_MOVE:g}x in one day on {days};"
            " check those rows"
        )
    if not has_adj:
        out["adj_close"] = out["close"]
        moves = out["close"].pct_change().abs()
        suspects = moves[moves > SPLIT_SUSPECT_MOVE]
        if len(suspects):
            days = ", ".join(f"{d.date()} ({out['close'].pct_change()[d]:+.0%})" for d in suspects.index[:5])
            warnings.append(
                f"{where}: one-day moves beyond ±{SPLIT_SUSPECT_MOVE:.0%} on {days}; with no"
                " Adj Close column this looks like an unadjusted split"
            )
    return CsvPrices(out, warnings, has_adj)


def _skip_empty_days(
    frame: pd.DataFrame, found: dict[str, str], where: str, strict: bool, warnings: list[str]
) -> pd.DataFrame:
    """A close-only series (FRED and the like) marks closed days with "." or an empty cell:
    those rows are skipped and counted, or refused with `strict`. In an OHLC file a missing
    value stays an error, named by `read_price_csv`."""
    if any(c in found for c in ("open", "high", "low")):
        return frame
    gone = _missing(frame[found["close"]])
    if not gone.any():
        return frame
    first = int(np.flatnonzero(gone)[0])
    if strict:
        raise DataError(
            f"{where}, line {first + 2}: {found['close']} is empty ({int(gone.sum())} day(s) without a"
            " value; without --strict they are skipped)"
        )
    if gone.all():
        raise DataError(f"{where}: {found['close']} has no value on any day")
    warnings.append(f"{where}: {int(gone.sum())} empty day(s) skipped (no {found['close']} value)")
    return frame[~gone]


def _check_values(
    values: np.ndarray, canon: str, name: str, dates: pd.DatetimeIndex, where: str, lines: np.ndarray
) -> None:
    """Finite, positive (volume: not negative), and a price within any that ever traded."""

    def fail(mask: np.ndarray, what: str) -> None:
        i = int(np.flatnonzero(mask)[0])
        raise DataError(f"{where}, line {lines[i]} ({dates[i].date()}): {name} {what}, got {values[i]:g}")

    if not np.isfinite(values).all():
        fail(~np.isfinite(values), "must be a finite number")
    if canon == "volume":
        if (values < 0).any():
            fail(values < 0, "must not be negative")
        return
    if (values <= 0).any():
        fail(values <= 0, "must be positive")
    if (values > MAX_PLAUSIBLE_PRICE).any():
        fail(values > MAX_PLAUSIBLE_PRICE, f"is beyond any plausible price (over {MAX_PLAUSIBLE_PRICE:g})")
    if (values < MIN_PLAUSIBLE_PRICE).any():
        fail(values < MIN_PLAUSIBLE_PRICE, f"is below any plausible price (under {MIN_PLAUSIBLE_PRICE:g})")


def _check_ranges(out: pd.DataFrame, dates: pd.DatetimeIndex, where: str, lines: np.ndarray) -> None:
    """High >= Low, and the open and the close inside [Low, High], wherever those columns are given."""
    high, low, close, opened = (out[c].to_numpy() for c in ("high", "low", "close", "open"))
    tol = 1e-6  # rounding in the provider's last digit is not an error
    # Comparisons with a missing High or Low are False: nothing to check there.
    checks = [
        (high < low * (1 - tol), "High {h:g} is below Low {lo:g}"),
        (close > high * (1 + tol), "Close {c:g} is above High {h:g}"),
        (close < low * (1 - tol), "Close {c:g} is below Low {lo:g}"),
        (opened > high * (1 + tol), "Open {o:g} is above High {h:g}"),
        (opened < low * (1 - tol), "Open {o:g} is below Low {lo:g}"),
    ]
    for mask, say in checks:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            what = say.format(h=high[i], lo=low[i], c=close[i], o=opened[i])
            raise DataError(f"{where}, line {lines[i]} ({dates[i].date()}): {what}")
