"""`lstmcast fetch` against the canned Yahoo transport: yfinance's real code, no internet."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import SAMPLE, Cli
from lstmcast.sources.csvfile import read_price_csv


def _bars(name: str) -> pd.DataFrame:
    return read_price_csv(SAMPLE / f"{name}.csv").bars


def _stored(home: Path, ticker: str) -> pd.DataFrame:
    with sqlite3.connect(home / "lstmcast.db") as conn:
        return pd.read_sql_query("SELECT * FROM prices WHERE ticker=? ORDER BY date", conn, params=(ticker,))


def test_fetch_stores_unadjusted_ohlc_and_adjusted_close(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    fake_yahoo.bars["IBM"] = _bars("IBM").iloc[-300:]
    doc = json.loads(cli("fetch", "IBM", "--json").stdout)
    [ibm] = doc["tickers"]
    assert ibm["stats"] == {"new": 300, "revised": 0, "unchanged": 0}
    stored = _stored(home, "IBM")
    assert stored["date"].iloc[-1] == "2013-03-01" and stored["source"].iloc[0] == "yahoo"
    expected = _bars("IBM").iloc[-1]
    assert stored["close"].iloc[-1] == pytest.approx(expected["close"])
    assert stored["adj_close"].iloc[-1] == pytest.approx(expected["adj_close"])
    # The first ask for a new ticker is for all of its history.
    symbol, query = fake_yahoo.chart_requests[-1]
    assert symbol == "IBM" and "period1" in query
    # yfinance's own client came through TLS to Yahoo's API hosts for the chart (and to
    # fc.yahoo.com for a cookie, unless an earlier test in this process left yfinance one: it
    # keeps them, so that step depends on the order the tests run in).
    assert all(h.split(":")[0].endswith("yahoo.com") for h in fake_yahoo.hosts)
    assert any(
        h.startswith("query") and h.split(":")[0].endswith(".finance.yahoo.com") for h in fake_yahoo.hosts
    )


def test_incremental_top_up_asks_only_recent_bars(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    full = _bars("MSFT").iloc[-200:]
    fake_yahoo.bars["MSFT"] = full.iloc[:-5]
    cli("fetch", "MSFT")
    fake_yahoo.bars["MSFT"] = full
    fake_yahoo.chart_requests.clear()
    doc = json.loads(cli("fetch", "MSFT", "--json").stdout)
    assert doc["tickers"][0]["stats"]["new"] == 5
    assert doc["tickers"][0]["stats"]["revised"] == 0
    period1 = int(fake_yahoo.chart_requests[-1][1]["period1"][0])
    asked_from = pd.Timestamp(period1, unit="s").date()
    last_before = full.index[-6].date()
    assert 0 < (last_before - asked_from).days <= 11  # shortly before the last stored bar
    again = cli("fetch", "MSFT")
    assert "nothing new" in again.stdout
    assert len(_stored(home, "MSFT")) == 200


def test_revision_of_adjusted_close_refetches_and_reports(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    bars = _bars("AAPL").iloc[-100:]
    fake_yahoo.bars["AAPL"] = bars
    cli("fetch", "AAPL")
    revised = bars.copy()
    revised["adj_close"] *= 0.98  # a new dividend re-bases all adjusted history
    fake_yahoo.bars["AAPL"] = revised
    doc = json.loads(cli("fetch", "AAPL", "--json").stdout)
    [o] = doc["tickers"]
    assert o["revised_history"] is True
    assert o["stats"]["revised"] == 100
    assert _stored(home, "AAPL")["adj_close"].iloc[0] == pytest.approx(revised["adj_close"].iloc[0])


def test_rate_limit_is_retried_with_backoff(
    cli: Cli, home: Path, fake_yahoo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lstmcast.sources import yahoo

    waits: list[float] = []
    monkeypatch.setattr(yahoo, "_sleep", waits.append)
    fake_yahoo.bars["IBM"] = _bars("IBM").iloc[-50:]
    fake_yahoo.rate_limit = 2
    doc = json.loads(cli("fetch", "IBM", "--json").stdout)
    assert doc["tickers"][0]["stats"]["new"] == 50
    assert waits and waits == sorted(waits) and waits[0] > 0


@pytest.mark.slow
def test_rate_limit_that_persists_is_a_temporary_failure(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    fake_yahoo.bars["IBM"] = _bars("IBM").iloc[-50:]
    fake_yahoo.rate_limit = 10_000
    result = cli("fetch", "IBM", code=75)
    assert "IBM" in result.stderr and "rate limit" in result.stderr


def test_unknown_ticker_exit_1_and_others_still_fetched(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    fake_yahoo.bars["IBM"] = _bars("IBM").iloc[-20:]
    result = cli("fetch", "NOSUCHTKR", "IBM", code=1)
    assert "NOSUCHTKR" in result.stderr and "unknown or delisted" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(_stored(home, "IBM")) == 20
    assert len(_stored(home, "NOSUCHTKR")) == 0


def test_empty_frame_is_a_failure(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    fake_yahoo.bars["EMPTY"] = _bars("IBM").iloc[-20:]
    result = cli("fetch", "EMPTY", "--start", "2020-01-01", "--end", "2020-02-01", code=1)
    assert "no rows" in result.stderr


def test_dead_network_exit_75_one_line_nothing_written(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    fake_yahoo.down = True
    result = cli("fetch", "IBM", code=75)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "IBM" in lines[0] and "network" in lines[0]
    assert len(_stored(home, "IBM")) == 3270


def test_unresolvable_host_as_curl_reports_it_is_a_network_error(
    cli: Cli, home: Path, fake_yahoo: Any
) -> None:
    fake_yahoo.dns_fails = True
    result = cli("fetch", "IBM", code=75)
    assert "network error" in result.stderr and "Could not resolve host" in result.stderr
    # curl's sentence, whole, in one line: no boilerplate link cut mid-word, no doubled ticker.
    assert "libcurl-errors" not in result.stderr and "IBM: IBM" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_no_network_fails_in_seconds_not_after_the_resolvers_waits(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real session (not the fake) first resolves Yahoo's host, giving up after a few
    seconds: an offline `fetch` used to take 10 s or more before saying anything."""
    import socket
    import time

    from lstmcast.sources import yahoo

    monkeypatch.setattr(yahoo, "RESOLVE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(30))  # a resolver that hangs
    t0 = time.perf_counter()
    result = cli("fetch", "IBM", "MSFT", code=75)
    assert time.perf_counter() - t0 < 25  # the resolver alone would hang 30 s per ticker
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {t}: no network: {yahoo.YAHOO_HOST} does not resolve (offline, or DNS is down);"
                     " try later" for t in ("IBM", "MSFT")]  # fmt: skip


def test_bad_ticker_and_date_are_rejected_before_any_request(cli: Cli, home: Path, fake_yahoo: Any) -> None:
    assert "invalid ticker" in cli("fetch", "A B", code=1).stderr
    cli("fetch", "IBM", "--start", "yesterday", code=2)
    assert fake_yahoo.chart_requests == [] and fake_yahoo.hosts == []
