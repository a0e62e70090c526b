"""Reading and validating Yahoo-style price CSVs and their common variants (FRED, lower-case, .gz)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.config import PRICE_COLUMNS
from lstmcast.errors import DataError, NotFoundError

# A one-day move this large, with no adjusted close to explain it, is most likely a split.
SPLIT_SUSPECT_MOVE = 0.40

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


def _parse_dates(raw: pd.Series, where: str) -> pd.DatetimeIndex:
    text = raw.astype("string").str.strip()
    blank = text.isna() | (text == "")
    if blank.any():
        line = int(np.flatnonzero(blank.to_numpy())[0]) + 2
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
    raise DataError(f"{where}, line {bad + 2}: cannot parse date {text.iloc[bad]!r}")


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


def read_price_csv(path: Path) -> CsvPrices:
    """Read, validate and sort one price file; raise DataError naming the file and line."""
    where = str(path)
    if not path.exists():
        raise NotFoundError(f"{where}: no such file")
    try:
        # dtype=str: we validate values ourselves, so "." and "" must reach us unparsed.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{where}: not a readable CSV ({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{where}: the file is empty") from exc
    if frame.empty:
        raise DataError(f"{where}: no rows after the header")
    found = _pick_columns(frame, where)
    dates = _parse_dates(frame[found["date"]], where)

    out = pd.DataFrame(index=dates)
    for canon in PRICE_COLUMNS:
        if canon not in found:
            out[canon] = np.nan
            continue
        text = frame[found[canon]].astype("string").str.strip().str.replace(",", "", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
        bad = np.flatnonzero(np.isnan(values))
        if bad.size:
            i = int(bad[0])
            shown = "empty" if text.iloc[i] in ("", ".") else repr(text.iloc[i])
            raise DataError(
                f"{where}, line {i + 2} ({dates[i].date()}): {found[canon]} is {shown}"
                f" ({bad.size} missing or non-numeric value(s) in that column)"
            )
        if canon != "volume" and (values <= 0).any():
            i = int(np.flatnonzero(values <= 0)[0])
            raise DataError(
                f"{where}, line {i + 2} ({dates[i].date()}): {found[canon]} must be positive,"
                f" got {values[i]:g}"
            )
        if canon == "volume" and (values < 0).any():
            i = int(np.flatnonzero(values < 0)[0])
            raise DataError(f"{where}, line {i + 2} ({dates[i].date()}): negative volume")
        out[canon] = values

    dup = out.index.duplicated(keep=False)
    if dup.any():
        lines = (np.flatnonzero(dup) + 2).tolist()
        day = out.index[dup][0].date()
        raise DataError(f"{where}: duplicate date {day} (lines {', '.join(map(str, lines[:5]))})")
    out = out.sort_index()
    out.index.name = "date"

    has_adj = "adj_close" in found
    warnings: list[str] = []
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
