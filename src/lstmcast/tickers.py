"""Ticker validation (before a ticker touches a file name or a query), and labels for CSV series."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lstmcast.errors import ConfigError, DataError

_TICKER = re.compile(r"^[A-Z0-9.^=\-]{1,15}$")


def validate_ticker(raw: str) -> str:
    """Return the upper-cased ticker or raise DataError (letters, digits, `.^=-`, <= 15 chars)."""
    ticker = raw.strip().upper()
    if not _TICKER.match(ticker):
        raise DataError(f"invalid ticker {raw!r}: use letters, digits and . ^ = - (at most 15 characters)")
    if not any(c.isalnum() for c in ticker):  # `..`, `^`, `-`: punctuation names nothing
        raise DataError(f"invalid ticker {raw!r}: a ticker needs a letter or a digit")
    return ticker


def label_from_filename(path: str) -> str:
    """A safe series label from a file name (`my prices.csv` -> `MY-PRICES`): a file's name
    names the data, it is not a ticker, so anything outside the ticker alphabet becomes '-'."""
    stem = Path(path).name.split(".")[0]
    label = re.sub(r"-{2,}", "-", re.sub(r"[^A-Z0-9.^=\-]", "-", stem.strip().upper())).strip("-")
    if len(label) > 15:  # cut, it would name nothing the user could type back: ask instead
        raise ConfigError(
            f"{Path(path).name}: the file's name is not a ticker; name its series with --ticker T"
        )
    return label or "CSV"


# Yahoo's exchange suffixes -> (exchange calendar MIC, the exchange's time zone). A ticker
# without a suffix, or with one not listed here, trades on the default calendar (NYSE).
EXCHANGES: dict[str, tuple[str, str]] = {
    "": ("XNYS", "America/New_York"),
    "TO": ("XTSE", "America/Toronto"),
    "L": ("XLON", "Europe/London"),
    "DE": ("XETR", "Europe/Berlin"),
    "F": ("XFRA", "Europe/Berlin"),
    "PA": ("XPAR", "Europe/Paris"),
    "AS": ("XAMS", "Europe/Amsterdam"),
    "BR": ("XBRU", "Europe/Brussels"),
    "MI": ("XMIL", "Europe/Rome"),
    "MC": ("XMAD", "Europe/Madrid"),
    "SW": ("XSWX", "Europe/Zurich"),
    "VI": ("XWBO", "Europe/Vienna"),
    "OL": ("XOSL", "Europe/Oslo"),
    "ST": ("XSTO", "Europe/Stockholm"),
    "CO": ("XCSE", "Europe/Copenhagen"),
    "HE": ("XHEL", "Europe/Helsinki"),
    "IR": ("XDUB", "Europe/Dublin"),
    "LS": ("XLIS", "Europe/Lisbon"),
    "WA": ("XWAR", "Europe/Warsaw"),
    "T": ("XTKS", "Asia/Tokyo"),
    "HK": ("XHKG", "Asia/Hong_Kong"),
    "AX": ("XASX", "Australia/Sydney"),
    "NZ": ("XNZE", "Pacific/Auckland"),
    "SI": ("XSES", "Asia/Singapore"),
    "KS": ("XKRX", "Asia/Seoul"),
    "SA": ("BVMF", "America/Sao_Paulo"),
    "MX": ("XMEX", "America/Mexico_City"),
    "JO": ("XJSE", "Africa/Johannesburg"),
    "NS": ("XBOM", "Asia/Kolkata"),
    "BO": ("XBOM", "Asia/Kolkata"),
}


def exchange_of(ticker: str) -> tuple[str, str]:
    """(calendar MIC, time zone) of the exchange a Yahoo ticker trades on, from its suffix
    (`EQNR.OL` -> Oslo); index and currency symbols (`^GSPC`, `EURUSD=X`) use the default."""
    head, dot, suffix = ticker.upper().rpartition(".")
    return EXCHANGES.get(suffix, EXCHANGES[""]) if dot and head else EXCHANGES[""]


def today_at(zone: str) -> date:
    """Today's date where the exchange is: a bar dated after it cannot exist yet."""
    return datetime.now(ZoneInfo(zone)).date()


def file_safe(ticker: str) -> str:
    """A ticker as part of a file name: `^IXIC` gives IXIC and `EURUSD=X` EURUSD_X, so no shell
    quoting is ever needed (model IDs go further and lower-case it)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ticker).strip("_.") or "x"
