"""Universes: membership (point in time or today's), survivorship, and importing many files."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, SAMPLE, Cli
from lstmcast.store.db import Store
from lstmcast.universe.members import members_on, show_universe


def _folder(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "prices"
    folder.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(SAMPLE / f"{n}.csv", folder / f"{n}.csv")
    return folder


def test_a_folder_imports_each_file_under_its_name_and_a_bad_one_is_named(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, "AAPL", "IBM", "MSFT")
    (folder / "not a ticker.csv").write_text((SAMPLE / "GOOG.csv").read_text())
    (folder / "notes.txt").write_text("not prices")  # not a price file: left alone
    res = cli("import", folder, "--json", code=1)  # the good files are stored, the bad one named
    doc = json.loads(res.stdout)
    assert sorted(r["ticker"] for r in doc["imported"]) == ["AAPL", "IBM", "MSFT"]
    assert [Path(f["path"]).name for f in doc["failed"]] == ["not a ticker.csv"]
    assert "its name is not a ticker" in res.stderr and "3 file(s) imported, 1 failed" in res.stderr
    stored = {t["ticker"] for t in json.loads(cli("data", "--json").stdout)}
    assert stored == {"AAPL", "IBM", "MSFT"}
    # Again: nothing new. One file alone takes its name; --ticker names one file only.
    again = cli("import", folder / "AAPL.csv", folder / "IBM.csv").stdout
    assert again.count("nothing new") == 2
    assert "AAPL: 3270 rows" in cli("import", folder / "AAPL.csv").stdout
    refused = cli("import", folder / "AAPL.csv", folder / "IBM.csv", "--ticker", "X", code=1).stderr
    assert "--ticker names one file's series" in refused


def test_two_files_that_name_one_ticker_write_nothing(cli: Cli, home: Path, tmp_path: Path) -> None:
    folder = _folder(tmp_path, "AAPL", "IBM")
    with gzip.open(folder / "aapl.csv.gz", "wt") as f:
        f.write((SAMPLE / "MSFT.csv").read_text())
    line = cli("import", folder, code=1).stderr.strip()
    assert "AAPL.csv, aapl.csv.gz all name AAPL" in line and "nothing was written" in line
    assert len(line.splitlines()) == 1
    assert "no prices stored yet" in cli("data").stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no .csv or .csv.gz file" in cli("import", empty, code=1).stderr


def test_todays_members_are_flagged_and_missing_prices_counted(cli: Cli, home: Path, tmp_path: Path) -> None:
    cli("import", _folder(tmp_path, "IBM", "MSFT"))
    doc = json.loads(cli("universe", "create", "Big", "ibm", "MSFT", "DELISTED", "--json").stdout)
    assert doc["name"] == "big" and doc["point_in_time"] is False and doc["source"] == "tickers"
    s = doc["survivorship"]
    assert (s["members"], s["without_prices"], s["covering"]) == (3, 1, 2)
    assert "survivorship bias" in s["warning"]
    shown = cli("universe", "show", "BIG")
    assert "1 without prices" in shown.stdout and "survivorship bias" in shown.stderr
    assert [u["name"] for u in json.loads(cli("universe", "--json").stdout)] == ["big"]
    assert "exists" in cli("universe", "create", "big", "IBM", code=1).stderr
    remade = json.loads(cli("universe", "create", "big", "IBM", "--replace", "--json").stdout)
    assert remade["survivorship"]["members"] == 1
    assert "prices are kept" in cli("universe", "rm", "big").stdout
    assert "no universe" in cli("universe", "show", "big", code=1).stderr
    assert {t["ticker"] for t in json.loads(cli("data", "--json").stdout)} == {"IBM", "MSFT"}


def test_a_members_file_gives_point_in_time_membership_and_its_gaps(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", _folder(tmp_path, "IBM", "MSFT", "GOOG"))
    # OLD's prices stop in 2005 although it stayed a member: it ends early (delisted, merged).
    lines = (SAMPLE / "AAPL.csv").read_text().splitlines()
    (tmp_path / "OLD.csv").write_text("\n".join(lines[:1300]) + "\n")
    cli("import", tmp_path / "OLD.csv")
    members = tmp_path / "members.csv"
    members.write_text(
        "ticker,start,end\n"
        "# a comment, then a blank line\n\n"
        "IBM,2001-01-01,\n"
        "MSFT,,2005-12-31\n"
        "MSFT,2008-01-02,\n"  # left, then came back
        "GOOG,2001-01-01,\n"  # listed only in August 2004: starts late
        "OLD,2001-01-01,2012-12-31\n"
        "GONE,2002-01-01,2003-06-30\n"  # Yahoo has nothing for it
    )
    doc = json.loads(cli("universe", "create", "pit", "--members", members, "--json").stdout)
    assert doc["point_in_time"] is True and doc["survivorship"]["warning"] is None
    status = {(m["ticker"], m["start"]): m["status"] for m in doc["members"]}
    assert status == {
        ("GONE", "2002-01-01"): "no prices",
        ("GOOG", "2001-01-01"): "starts late",
        ("IBM", "2001-01-01"): "covered",
        ("MSFT", None): "covered",
        ("MSFT", "2008-01-02"): "covered",
        ("OLD", "2001-01-01"): "ends early",
    }
    s = doc["survivorship"]
    assert (s["members"], s["without_prices"], s["starting_late"], s["ending_early"], s["covering"]) == (
        5, 1, 1, 1, 2,
    )  # fmt: skip
    u = show_universe(Store(home), "pit")
    assert members_on(u, "2000-06-01") == ["MSFT"]
    assert members_on(u, "2007-01-02") == ["GOOG", "IBM", "OLD"]  # MSFT had left, GONE was gone
    assert members_on(u, "2013-01-02") == ["GOOG", "IBM", "MSFT"]
    human = cli("universe", "show", "pit", "--rows", "2").stdout
    assert "4 more: --rows 6 lists them all" in human  # the problems first
    assert "no prices" in human and "starts late" in human and "covered" not in human


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("IBM,2005-01-01,2004-01-01\n", "line 1: IBM starts on 2005-01-01, after it ends on 2004-01-01"),
        ("IBM,2001-01-01,2006-01-01\nIBM,2005-01-01,\n", "IBM's memberships overlap"),
        ("IBM,,\nIBM,2005-01-01,\n", "IBM's memberships overlap"),
        ("IBM,01/02/2005,\n", "line 1: '01/02/2005' is not a date"),
        ("IBM,2001-01-01,2002-01-01,x\n", "line 1: expected ticker[,start,end], found 4 columns"),
        ("ticker,start,end\n", "names no member"),
        ("", "names no member"),
        ("IBM\n../etc,2001-01-01\n", "line 2: invalid ticker '../etc'"),
    ],
)
def test_a_bad_members_file_is_named_by_its_line_and_nothing_is_stored(
    cli: Cli, home: Path, tmp_path: Path, text: str, words: str
) -> None:
    members = tmp_path / "m.csv"
    members.write_text(text)
    line = cli("universe", "create", "u", "--members", members, code=1).stderr.strip()
    assert words in line and len(line.splitlines()) == 1, line
    assert "no universe yet" in cli("universe").stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["universe", "create", "bad/name", "IBM"], "invalid universe name"),
        (["universe", "create", "", "IBM"], "invalid universe name"),
        (["universe", "create", "u"], "give the members as TICKER... or as --members FILE"),
        (["universe", "create", "u", "IBM", "--members", "m.csv"], "not both"),
        (["universe", "create", "u", "IBM", "ibm"], "IBM named twice"),
        (["universe", "create", "u", "--members", "/nonexistent.csv"], "cannot read the members file"),
        (["universe", "rm", "nosuch"], "no universe 'nosuch'"),
    ],
)
def test_bad_universe_commands_say_what_is_wrong_in_one_line(
    cli: Cli, home: Path, args: list[str], words: str
) -> None:
    line = cli(*args, code=1).stderr.strip()
    assert words in line and len(line.splitlines()) == 1, line


def test_a_universe_is_kept_whole_in_the_store(cli: Cli, home: Path) -> None:
    cli("universe", "create", "u", "IBM", "MSFT")
    with sqlite3.connect(home / "lstmcast.db") as conn:
        rows = conn.execute("SELECT universe, ticker, start, end FROM universe_members ORDER BY 2").fetchall()
    assert rows == [("u", "IBM", None, None), ("u", "MSFT", None, None)]


def _serve(fake: Any, *tickers: str) -> None:
    from lstmcast.sources.csvfile import read_price_csv

    bars = read_price_csv(SAMPLE / "IBM.csv").bars.iloc[-30:]
    for i, t in enumerate(tickers):
        fake.bars[t] = bars * (1 + i / 10)


def test_fetch_universe_paces_retries_resumes_and_names_the_delisted(
    cli: Cli, home: Path, fake_yahoo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lstmcast.data import ingest

    pauses: list[float] = []
    monkeypatch.setattr(ingest, "_wait", pauses.append)
    _serve(fake_yahoo, "AAA", "BBB", "CCC")
    cli("universe", "create", "u", "AAA", "BBB", "CCC", "GONE")
    fake_yahoo.rate_limit = 2  # two 429s: retried with backoff, and got through
    fake_yahoo.limited = {"BBB"}  # ... while BBB's outlast every retry: the fetch stops short
    first = cli("fetch", "--universe", "u", "--json", code=75)
    doc = json.loads(first.stdout)
    failed = {o["ticker"] for o in doc["tickers"] if o["error"] and "rate limit" in o["error"]}
    fetched = {o["ticker"] for o in doc["tickers"] if o["error"] is None}
    assert (failed, fetched) == ({"BBB"}, {"AAA", "CCC"}) and fake_yahoo.rate_limit == 0
    fake_yahoo.limited = set()
    assert doc["possibly_delisted"] == ["GONE"]  # Yahoo does not know it: reported, not a failure
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, json.loads((ROOT / "docs" / "schemas" / "fetch.json").read_text()))
    assert pauses == [1.0, 1.0, 1.0]  # paced: one pause between two downloads
    # Again: only what failed is asked for; the fetched and the delisted are skipped.
    again = json.loads(cli("fetch", "--universe", "u", "--json", "--pause", "0").stdout)
    assert {o["ticker"] for o in again["tickers"]} == failed
    assert set(again["skipped"]) == fetched | {"GONE"} and again["possibly_delisted"] == ["GONE"]
    s = again["survivorship"]
    assert (s["members"], s["without_prices"], s["covering"]) == (4, 1, 3) and s["point_in_time"] is False
    human = cli("fetch", "--universe", "u", "--pause", "0")
    assert "4 member(s) fetched in the last 12 h were skipped" in human.stdout
    assert "possibly delisted): GONE" in human.stdout and "survivorship bias" in human.stderr
    refreshed = json.loads(cli("fetch", "--universe", "u", "--refresh", "--pause", "0", "--json").stdout)
    assert len(refreshed["tickers"]) == 4 and refreshed["skipped"] == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["fetch"], "give TICKER... or --universe NAME"),
        (["fetch", "IBM", "--universe", "u"], "give TICKER... or --universe NAME"),
        (["fetch", "IBM", "--refresh"], "--refresh goes with --universe"),
        (["fetch", "--universe", "nosuch"], "no universe 'nosuch'"),
        (["fetch", "IBM", "--pause", "nan"], "--pause nan is not a number of seconds"),
    ],
)
def test_bad_fetch_requests_are_refused_in_one_line(
    cli: Cli, home: Path, args: list[str], words: str
) -> None:
    line = cli(*args, code=1).stderr.strip()
    assert words in line and len(line.splitlines()) == 1, line
