"""Daily bars from Yahoo Finance through yfinance: the only module that talks to the network.

yfinance reports many failures only by logging and returning an empty frame, and by default
it hides exceptions, so a dead network and an unknown ticker look alike. We turn its
exceptions on and classify each failure as temporary (retry later) or permanent.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from lstmcast.config import PRICE_COLUMNS
from lstmcast.errors import NotFoundError, TemporaryError

RETRIES = 4  # attempts after the first one when Yahoo rate-limits us
BACKOFF_S = 2.0  # first wait; doubles each attempt

# Yahoo's column names for ours: what yfinance returns, and what `data export` writes.
YAHOO_NAMES = {
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "adj_close": "Adj Close",
    "volume": "Volume",
}
_YAHOO_COLUMNS = {v: k for k, v in YAHOO_NAMES.items()}

_sleep: Callable[[float], None] = time.sleep  # replaced by tests, which must not wait


def make_session() -> object:
    """The HTTP session yfinance uses; None lets yfinance build its own (curl_cffi). Without a
    network it fails in seconds, not after the resolver's long waits."""
    if not _resolves(YAHOO_HOST):
        raise TemporaryError(
            f"no network: {YAHOO_HOST} does not resolve (offline, or DNS is down); try later"
        )
    return None


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """yfinance output -> our columns, indexed by plain (tz-naive, midnight) dates."""
    if isinstance(frame.columns, pd.MultiIndex):
        # yf.download gives (Price, Ticker) columns even for one ticker.
        frame = frame.copy()
        frame.columns = frame.columns.get_level_values(0)
    frame = frame.rename(columns=_YAHOO_COLUMNS)
    if "adj_close" not in frame.columns:
        raise TemporaryError("Yahoo returned no adjusted close; refusing to store unadjusted data")
    frame = frame[PRICE_COLUMNS].astype("float64")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        # Daily bars are stamped at midnight exchange time; keep that calendar date.
        index = index.tz_localize(None)
    frame.index = index.normalize()
    frame.index.name = "date"
    frame = frame[~frame["close"].isna() & ~frame["adj_close"].isna()]
    return frame[~frame.index.duplicated(keep="last")].sort_index()


YAHOO_HOST = "query2.finance.yahoo.com"
RESOLVE_TIMEOUT_S = 3.0  # a machine without network answers at once or not at all


def _resolves(host: str, timeout: float = RESOLVE_TIMEOUT_S) -> bool:
    """Whether `host` resolves within `timeout` seconds (the resolver's own wait can be 10 s or
    more per server, which made an offline `fetch` seem to hang)."""

    found: list[bool] = []

    def look() -> None:
        try:
            socket.getaddrinfo(host, 443)
            found.append(True)
        except OSError:
            found.append(False)

    thread = threading.Thread(target=look, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(found and found[0])


def _detail(exc: BaseException) -> str:
    """What went wrong, in one readable line: curl's own sentence (`Could not resolve host:
    ...`) without its boilerplate, or the first line of the message cut at a word."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    curl = re.search(r"curl: \(\d+\) (.+?)(?:\. See https?://\S+.*)?$", text)
    if curl:
        text = curl.group(1)
    if len(text) > 160:
        text = text[:160].rsplit(" ", 1)[0] + " ..."
    return text or "no detail"


def _is_network_error(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, TimeoutError)):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(
        names
        & {
            "ConnectionError",
            "Timeout",
            "ConnectTimeout",
            "ReadTimeout",
            "ProxyError",
            "SSLError",
            "DNSError",
            "RequestException",
            "CurlError",
        }
    )


def _history(ticker: str, start: date | None, end: date | None, session: object) -> pd.DataFrame:
    import yfinance as yf

    yf.config.debug.hide_exceptions = False  # let failures raise instead of only logging
    # Past ranges are lru-cached per process by yfinance; a long-lived caller wants fresh data.
    yf.data.YfData.cache_get.cache_clear()
    for name in ("yfinance", "bs4", "peewee"):  # they log what we report ourselves
        logging.getLogger(name).setLevel(logging.CRITICAL)
    handle = yf.Ticker(ticker, session=session)
    kwargs: dict[str, object] = {
        "interval": "1d",
        "auto_adjust": False,
        "actions": False,
        "repair": False,
        "timeout": 20,
    }
    if start is None:
        kwargs["period"] = "max"
    else:
        kwargs["start"] = start.isoformat()
    if end is not None:
        kwargs["end"] = (end + timedelta(days=1)).isoformat()  # yfinance's end is exclusive
    with warnings.catch_warnings():
        # yfinance uses pandas APIs that newer pandas deprecates; not ours to fix.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return handle.history(**kwargs)


def download_bars(
    ticker: str,
    start: date | None = None,
    end: date | None = None,
    *,
    session: object = None,
    cache_dir: Path | None = None,
    retries: int = RETRIES,
    backoff_s: float = BACKOFF_S,
) -> pd.DataFrame:
    """Daily OHLC, adjusted close and volume for `ticker` from `start` to `end` (inclusive).

    Raises TemporaryError for network trouble or a rate limit that outlasts the retries,
    NotFoundError for a ticker Yahoo does not know (or returns no rows for).
    """
    import yfinance as yf
    from yfinance.exceptions import YFRateLimitError, YFTickerMissingError

    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(cache_dir))
    if session is None:
        try:
            session = make_session()
        except TemporaryError as exc:
            raise TemporaryError(f"{ticker}: {exc}") from None
    span = f"{start or 'first bar'} to {end or 'today'}"
    for attempt in range(retries + 1):
        try:
            frame = _history(ticker, start, end, session)
            break
        except YFRateLimitError as exc:
            if attempt == retries:
                raise TemporaryError(
                    f"{ticker}: Yahoo Finance rate limit persisted after {retries + 1} attempts;"
                    " try again later"
                ) from exc
            _sleep(backoff_s * 2**attempt)
        except YFTickerMissingError as exc:
            raise NotFoundError(
                f"{ticker}: Yahoo Finance has no data for this ticker (unknown or delisted?)"
            ) from exc
        except Exception as exc:
            # curl_cffi attaches a response with status 0 when no HTTP exchange happened.
            status = getattr(getattr(exc, "response", None), "status_code", None) or None
            if status == 404:
                # yfinance falls back to the quote endpoint when the timezone lookup finds
                # nothing; its 404 is Yahoo saying it does not know the symbol.
                raise NotFoundError(
                    f"{ticker}: Yahoo Finance does not know this ticker (unknown or delisted?)"
                ) from exc
            if _is_network_error(exc) and status is None:
                raise TemporaryError(
                    f"{ticker}: network error while contacting Yahoo Finance ({_detail(exc)})"
                ) from exc
            what = f"HTTP {status}" if status else type(exc).__name__
            raise TemporaryError(
                f"{ticker}: unexpected answer from Yahoo Finance ({what}: {_detail(exc)})"
            ) from exc
    if frame is None or frame.empty:
        raise NotFoundError(
            f"{ticker}: Yahoo Finance returned no rows for {span} (unknown or delisted ticker?)"
        )
    bars = normalize_frame(frame)
    if bars.empty:
        raise NotFoundError(f"{ticker}: Yahoo Finance returned only empty rows for {span}")
    return bars
