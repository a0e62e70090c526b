"""A canned Yahoo Finance served over HTTPS on loopback: the only fake in the suite.

yfinance's real HTTP client (curl_cffi, impersonating Chrome) does the real cookie, crumb,
timezone and chart requests over real TLS; curl's CONNECT_TO sends every connection to this
server instead of Yahoo's, and the session trusts this server's throwaway certificate.
Only the bytes on the wire are made up here.
"""

from __future__ import annotations

import json
import random
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pandas as pd


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for Yahoo's host names (valid two days), made with openssl."""
    cert, key = directory / "yahoo-cert.pem", directory / "yahoo-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=yahoo.com",
            "-addext", "subjectAltName=DNS:yahoo.com,DNS:*.yahoo.com,DNS:*.finance.yahoo.com",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def chart_json(symbol: str, bars: pd.DataFrame) -> dict[str, Any]:
    """Yahoo's /v8/finance/chart body for daily `bars` (columns like our store's)."""
    stamps = [
        int((pd.Timestamp(d).tz_localize("America/New_York") + pd.Timedelta(hours=9, minutes=30)).timestamp())
        for d in bars.index
    ]
    ranges = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "instrumentType": "EQUITY",
        "exchangeTimezoneName": "America/New_York",
        "timezone": "EST",
        "gmtoffset": -18000,
        "priceHint": 2,
        "dataGranularity": "1d",
        "validRanges": ranges,
    }
    quote = {k: bars[k].tolist() for k in ("open", "high", "low", "close")}
    quote["volume"] = bars["volume"].astype("int64").tolist()
    result = {
        "meta": meta,
        "timestamp": stamps,
        "indicators": {"quote": [quote], "adjclose": [{"adjclose": bars["adj_close"].tolist()}]},
    }
    return {"chart": {"error": None, "result": [result]}}


NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


@dataclass
class FakeYahoo:
    """Serves `bars[symbol]`; `rate_limit` answers 429 that many times, `limited` symbols
    always; `down` and
    `dns_fails` make the session's connections fail the way a dead network does."""

    cert: Path
    key: Path
    bars: dict[str, pd.DataFrame] = field(default_factory=dict)
    rate_limit: int = 0
    limited: set[str] = field(default_factory=set)  # symbols always answered with 429
    random_429: float = 0.0  # the chance that any chart request is answered with 429
    seed: int = 0
    served_429: int = 0
    down: bool = False
    dns_fails: bool = False
    chart_requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # the Host header of every request received

    def __post_init__(self) -> None:
        fake = self
        self._rng = random.Random(self.seed)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest's output clean
                pass

            def do_GET(self) -> None:
                status, body, ctype, headers = fake.answer(self.headers.get("Host", ""), self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, host: str, path: str) -> tuple[int, str, str, dict[str, str]]:
        self.hosts.append(host)
        url = urlparse(path)
        if host.startswith("fc.yahoo.com"):  # the cookie: a 404 page that sets A3, as Yahoo does
            cookie = "A3=d=fake&S=fake; Expires=Wed, 01 Jan 2031 00:00:00 GMT; Path=/; Domain=.yahoo.com"
            return 404, "<html>not here</html>", "text/html", {"Set-Cookie": cookie}
        if url.path.endswith("/getcrumb"):
            return 200, "fakecrumb", "text/plain", {}
        if not url.path.startswith("/v8/finance/chart/"):
            return 404, "", "text/html", {}
        symbol = unquote(url.path.rsplit("/", 1)[1])
        query = parse_qs(url.query)
        self.chart_requests.append((symbol, query))
        if self.rate_limit > 0 or symbol in self.limited or self._rng.random() < self.random_429:
            self.rate_limit = max(0, self.rate_limit - 1)
            self.served_429 += 1
            return 429, "Too Many Requests", "text/plain", {}
        if symbol not in self.bars:
            return 404, json.dumps(NOT_FOUND), "application/json", {}
        bars = self.bars[symbol]
        if "range" in query:  # the timezone lookup asks for the last day only
            bars = bars.iloc[-1:]
        else:
            stamps = pd.DatetimeIndex(bars.index).tz_localize("America/New_York") + pd.Timedelta(
                hours=9, minutes=30
            )
            lo, hi = int(query["period1"][0]), int(query["period2"][0])
            secs = stamps.as_unit("s").asi8
            bars = bars[(secs >= lo) & (secs < hi)]
        return 200, json.dumps(chart_json(symbol, bars)), "application/json", {}

    def session(self) -> Any:
        """The session yfinance would build itself (curl_cffi, Chrome), with its connections
        sent to this server, or to nowhere while the network is `down` or DNS fails."""
        from curl_cffi import CurlOpt
        from curl_cffi._wrapper import ffi, lib
        from curl_cffi.requests import Session

        if self.dns_fails:
            target = "::no-such-host.invalid:443"
        elif self.down:
            target = "::127.0.0.1:9"  # the discard port: nothing listens, the connection is refused
        else:
            target = f"::127.0.0.1:{self.port}"
        # CONNECT_TO takes a curl string list, which curl_cffi passes through as a pointer.
        self._connect_to = lib.curl_slist_append(ffi.NULL, target.encode())
        return Session(
            impersonate="chrome",
            verify=str(self.cert),  # type: ignore[arg-type]  # curl_cffi takes a CA file path too
            curl_options={CurlOpt.CONNECT_TO: self._connect_to},
        )
