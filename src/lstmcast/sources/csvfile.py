"""Reading and validating price CSVs: Yahoo-style and variants (FRED, lower-case, .gz, `;` with
decimal commas, UTF-16), rejecting what cannot be a real bar and naming its line."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.config import PRICE_COLUMNS
from lstmcast.errors import DataError, NotFoundError
from lstmcast.tickers import exchange_of, today_at

# A one-day move this large, with no adjusted close to explain it, is most likely a split.
SPLIT_SUSPECT_MOVE = 0.40
# No listed share has traded near this; a value above it is a typo or a unit error.
MAX_PLAUSIBLE_PRICE = 1e9
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


# A price row is a few dozen bytes; a "line" this long is a binary file or a runaway cell.
MAX_LINE_BYTES = 16 * 1024
# The largest text a daily price file can need: every day since 1677 with a hundred columns.
MAX_TEXT_BYTES = 256 * 1024 * 1024
# Rows parsed at a time: memory holds one chunk of text cells, not the whole file.
CHUNK_ROWS = 20_000
# The first day a pandas timestamp can hold: no bar can be dated earlier.
EARLIEST = date(1677, 9, 22)
_SNIFF_BYTES = 64 * 1024
_BOMS = {codecs.BOM_UTF8: "utf-8-sig", codecs.BOM_UTF16_LE: "utf-16", codecs.BOM_UTF16_BE: "utf-16"}


class _Guarded(io.RawIOBase):
    """A byte stream that stops, with a DataError, at a line longer than MAX_LINE_BYTES or a
    text longer than MAX_TEXT_BYTES: the parser never buffers more than that, whatever the
    file holds (a binary file, a gzip bomb, a regular file of zeros)."""

    def __init__(self, inner: io.BufferedIOBase | gzip.GzipFile, where: str) -> None:
        self._inner, self._where = inner, where
        self._total = self._since_newline = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:  # a damaged or truncated gzip stream
            raise DataError(f"{self._where}: a damaged gzip file ({exc})") from exc
        n = len(data)
        buffer[:n] = data
        self._total += n
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        self._since_newline = self._since_newline + n if last < 0 else n - last - 1
        if self._since_newline > MAX_LINE_BYTES:
            raise DataError(
                f"{self._where}: a line longer than {MAX_LINE_BYTES // 1024} KB; not a price CSV"
                " (a binary file?)"
            )
        if self._total > MAX_TEXT_BYTES:
            raise DataError(
                f"{self._where}: more than {MAX_TEXT_BYTES >> 20} MB of text; a daily price file is"
                " far smaller (is it a daily series?)"
            )
        return n


def _open_bytes(path: Path, where: str) -> io.BufferedIOBase | gzip.GzipFile:
    """The file's bytes, gzip unpacked as they are read."""
    try:
        with path.open("rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        return gzip.open(path, "rb") if gzipped else path.open("rb")
    except OSError as exc:
        raise DataError(f"{where}: cannot read the file ({exc.strerror or exc})") from exc


def _sniff(path: Path, where: str) -> tuple[str, str]:
    """(codec, the first bytes decoded): a UTF-16 or UTF-8 byte-order mark is honoured (Excel's
    "Unicode text" is UTF-16), otherwise UTF-8."""
    with _open_bytes(path, where) as raw:
        try:
            head = raw.read(_SNIFF_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{where}: a damaged gzip file ({exc})") from exc
    codec = next((c for bom, c in _BOMS.items() if head.startswith(bom)), "utf-8")
    try:
        text = head.decode(codec)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sample's end
            raise DataError(f"{where}: not UTF-8 or UTF-16 text ({exc.reason} at byte {exc.start})") from exc
        text = head[: exc.start].decode(codec)
    return codec, text


def _header(head: str, delimiter: str, where: str) -> pd.DataFrame:
    """The columns of the file's header line (an empty frame), from its first bytes."""
    try:
        return pd.read_csv(io.StringIO(head), sep=delimiter, nrows=0, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{where}: the file is empty") from exc
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise DataError(
            f"{where}: not a readable CSV ({str(exc).splitlines()[0] if str(exc) else exc})"
        ) from exc


def _text_chunks(
    path: Path, where: str, codec: str, delimiter: str, max_rows: int, columns: list[str]
) -> pd.DataFrame:
    """The used columns' cells as text, parsed CHUNK_ROWS at a time, refused as soon as the file
    holds more rows than a daily series can (one per day since 1677): memory stays bounded by
    that, and unused columns are never kept."""
    kept: list[pd.DataFrame] = []
    rows = 0
    with _open_bytes(path, where) as raw:
        stream = io.TextIOWrapper(io.BufferedReader(_Guarded(raw, where)), encoding=codec, newline="")
        try:
            # dtype=str: we validate values ourselves, so "." and "" must reach us unparsed.
            reader = pd.read_csv(
                stream,
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
                usecols=columns,
                chunksize=CHUNK_ROWS,
            )
            with reader:
                for chunk in reader:
                    rows += len(chunk)
                    if rows > max_rows:
                        raise DataError(
                            f"{where}: more than {max_rows:,} rows, more than there are days since"
                            f" {EARLIEST.year}: repeated dates, or not a daily series"
                        )
                    kept.append(chunk)
        except UnicodeDecodeError as exc:
            raise DataError(f"{where}: not UTF-8 or UTF-16 text ({exc.reason})") from exc
        except (pd.errors.ParserError, csv.Error, ValueError) as exc:
            raise DataError(
                f"{where}: not a readable CSV ({str(exc).splitlines()[0] if str(exc) else exc})"
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise DataError(f"{where}: the file is empty") from exc
    frame = kept[0] if len(kept) == 1 else pd.concat(kept)
    if frame.empty:
        raise DataError(f"{where}: no rows after the header")
    return frame


def _dialect(text: str) -> tuple[str, bool]:
    """(delimiter, decimal comma?) from the header and the first rows (the file's first bytes,
    possibly ending mid-line): European Excel writes
    `Date;Close` with `123,45`; a comma-separated file can only use the decimal point."""
    lines = [ln for ln in text.splitlines() if ln.strip()][:20]
    header = lines[0] if lines else ""
    delimiter = max((";", "\t", ","), key=header.count) if any(d in header for d in ";\t") else ","
    if delimiter == ",":
        return delimiter, False
    cells = [c.strip().strip('"') for ln in lines[1:] for c in ln.split(delimiter)]
    return delimiter, any(_DECIMAL_COMMA.match(c) for c in cells)


_DECIMAL_COMMA = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d+$|^-?\d+,\d+$")


def _numbers(text: pd.Series, decimal_comma: bool) -> np.ndarray:
    """Numbers from text cells; thousands separators dropped, the decimal mark normalised."""
    s = text.astype("string").str.strip()
    if decimal_comma:
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        s = s.str.replace(",", "", regex=False)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")


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
    codec, head = _sniff(path, where)
    if not head.strip():
        raise DataError(f"{where}: the file is empty")
    delimiter, decimal_comma = _dialect(head)
    header = _header(head, delimiter, where)
    found = _pick_columns(header, where)
    warnings: list[str] = []
    used = set(found.values())
    ignored = [str(c) for c in header.columns if c not in used]
    if ignored:
        more = f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
        warnings.append(f"{where}: ignored column(s) {', '.join(ignored[:5])}{more} (not a date or a price)")
    frame = _text_chunks(path, where, codec, delimiter, (latest - EARLIEST).days + 1, [*used])
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
            raise DataError(
                f"{where}, line {lines[i]} ({dates[i].date()}): {found[canon]} is {shown}"
                f" ({bad.size} missing or non-numeric value(s) in that column)"
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
    """Finite, positive (volume: not negative), and a price below any that ever traded."""

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


def _check_ranges(out: pd.DataFrame, dates: pd.DatetimeIndex, where: str, lines: np.ndarray) -> None:
    """High >= Low, and the close inside [Low, High], wherever those columns are given."""
    high, low, close = (out[c].to_numpy() for c in ("high", "low", "close"))
    tol = 1e-6  # rounding in the provider's last digit is not an error
    # Comparisons with a missing High or Low are False: nothing to check there.
    checks = [
        (high < low * (1 - tol), "High {h:g} is below Low {lo:g}"),
        (close > high * (1 + tol), "Close {c:g} is above High {h:g}"),
        (close < low * (1 - tol), "Close {c:g} is below Low {lo:g}"),
    ]
    for mask, say in checks:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            what = say.format(h=high[i], lo=low[i], c=close[i])
            raise DataError(f"{where}, line {lines[i]} ({dates[i].date()}): {what}")
