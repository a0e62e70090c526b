"""The text of a price file, read within bounds: gzip unpacked as it is read, the encoding
and the delimiter sniffed from its first bytes, and the cells parsed a chunk of rows at a
time, stopping at the first limit no daily price file can pass."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from datetime import date
from pathlib import Path

import pandas as pd

from lstmcast.errors import DataError

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


def sniff(path: Path, where: str) -> tuple[str, str]:
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


def header_of(head: str, delimiter: str, where: str) -> pd.DataFrame:
    """The columns of the file's header line (an empty frame), from its first bytes."""
    try:
        return pd.read_csv(io.StringIO(head), sep=delimiter, nrows=0, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{where}: the file is empty") from exc
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise DataError(
            f"{where}: not a readable CSV ({str(exc).splitlines()[0] if str(exc) else exc})"
        ) from exc


def text_chunks(
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


def dialect(text: str) -> tuple[str, bool]:
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
