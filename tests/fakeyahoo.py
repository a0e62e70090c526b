"""A canned Yahoo Finance at the HTTP transport: the only fake in the suite.

It is a `requests` transport adapter, so yfinance's real code runs end to end (cookie, crumb,
timezone lookup, chart request, parsing); only the bytes on the wire are made up here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pandas as pd
import requests
from requests.adapters import BaseAdapter


def _response(request: requests.PreparedRequest, status: int, body: str, ctype: str) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = body.encode()
    r.headers["Content-Type"] = ctype
    r.url = request.url or ""
    r.request = request
    r.encoding = "utf-8"
    return r


def chart_json(symbol: str, bars: pd.DataFrame) -> dict[str, Any]:
    """Yahoo's /v8/finance/chart body for daily `bars` (columns like our store's)."""
    stamps = [
        int((pd.Timestamp(d).tz_localize("America/New_York") + pd.Timedelta(hours=9, minutes=30)).timestamp())
        for d in bars.index
    ]
    return {
        "chart": {
            "error": None,
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": symbol,
                        "instrumentType": "EQUITY",
                        "exchangeTimezoneName": "America/New_York",
                        "timezone": "EST",
                        "gmtoffset": -18000,
                        "priceHint": 2,
                        "dataGranularity": "1d",
                        "validRanges": [
                            "1d",
                            "5d",
                            "1mo",
                            "3mo",
                            "6mo",
                            "1y",
                            "2y",
                            "5y",
                            "10y",
                            "ytd",
                            "max",
                        ],
                    },
                    "timestamp": stamps,
                    "indicators": {
                        "quote": [
                            {k: bars[k].tolist() for k in ("open", "high", "low", "close")}
                            | {"volume": bars["volume"].astype("int64").tolist()}
                        ],
                        "adjclose": [{"adjclose": bars["adj_close"].tolist()}],
                    },
                }
            ],
        }
    }


NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


@dataclass
class FakeYahoo(BaseAdapter):
    """Serves `bars[symbol]`; `down` raises connection errors; `rate_limit` answers 429 n times."""

    bars: dict[str, pd.DataFrame] = field(default_factory=dict)
    down: bool = False
    dns_fails: bool = False  # as curl_cffi reports it: DNSError carrying a response with status 0
    rate_limit: int = 0
    chart_requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if self.down:
            raise requests.exceptions.ConnectionError(
                "Failed to establish a new connection: [Errno -3] Temporary failure in name resolution"
            )
        if self.dns_fails:
            from curl_cffi.requests.exceptions import DNSError

            exc = DNSError("Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com")
            exc.response = type("CurlResponse", (), {"status_code": 0})()
            raise exc
        url = urlparse(request.url or "")
        if url.path.endswith("/getcrumb"):
            return _response(request, 200, "fakecrumb", "text/plain")
        if not url.path.startswith("/v8/finance/chart/"):
            return _response(request, 404, "", "text/html")
        symbol = unquote(url.path.rsplit("/", 1)[1])
        query = parse_qs(url.query)
        self.chart_requests.append((symbol, query))
        if self.rate_limit > 0:
            self.rate_limit -= 1
            return _response(request, 429, "Too Many Requests", "text/plain")
        if symbol not in self.bars:
            return _response(request, 404, json.dumps(NOT_FOUND), "application/json")
        bars = self.bars[symbol]
        if "range" in query:  # the timezone lookup asks for the last day only
            bars = bars.iloc[-1:]
        else:
            stamps = bars.index.tz_localize("America/New_York") + pd.Timedelta(hours=9, minutes=30)
            lo, hi = int(query["period1"][0]), int(query["period2"][0])
            secs = stamps.as_unit("s").asi8
            bars = bars[(secs >= lo) & (secs < hi)]
        return _response(request, 200, json.dumps(chart_json(symbol, bars)), "application/json")

    def close(self) -> None:
        pass

    def session(self) -> requests.Session:
        s = requests.Session()
        s.mount("https://", self)
        s.mount("http://", self)
        return s
