"""`lstmcast import` through the real CLI against a real SQLite file in a temporary home."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLE, Cli


def _rows(home: Path, ticker: str) -> int:
    with sqlite3.connect(home / "lstmcast.db") as conn:
        return int(conn.execute("SELECT count(*) FROM prices WHERE ticker=?", (ticker,)).fetchone()[0])


@pytest.mark.parametrize("name", ["AAPL", "MSFT", "IBM", "GOOG"])
def test_every_sample_imports_then_reimport_changes_nothing(cli: Cli, home: Path, name: str) -> None:
    first = cli("import", SAMPLE / f"{name}.csv", "--ticker", name, "--json")
    doc = json.loads(first.stdout)
    expected = len((SAMPLE / f"{name}.csv").read_text().splitlines()) - 1
    assert doc["stats"] == {"new": expected, "revised": 0, "unchanged": 0}
    again = cli("import", SAMPLE / f"{name}.csv", "--ticker", name)
    assert "nothing new" in again.stdout
    assert _rows(home, name) == expected


def test_revised_adjusted_close_replaces_old_rows_and_says_how_many(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    lines = (SAMPLE / "IBM.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    revised = [header]
    for i, line in enumerate(body):
        parts = line.split(",")
        if i < len(body) - 3:  # a dividend three days ago re-bases every adjusted close before it
            parts[6] = str(float(parts[6]) * 0.99)
        revised.append(",".join(parts))
    path = tmp_path / "ibm2.csv"
    path.write_text("\n".join(revised) + "\n")
    doc = json.loads(cli("import", path, "--ticker", "IBM", "--json").stdout)
    assert doc["stats"] == {"new": 0, "revised": len(body) - 3, "unchanged": 3}


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_variants_lowercase_spaced_no_adj_close_close_only_other_formats_gzip(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    lower = _write(
        tmp_path,
        "date,open,high,low,close,adj_close,volume\n2020-01-03,2,2,2,2,1.9,10\n2020-01-02,1,1,1,1,0.9,10\n",
        "a.csv",
    )
    doc = json.loads(cli("import", lower, "--ticker", "AAA", "--json").stdout)
    assert (doc["first"], doc["last"]) == ("2020-01-02", "2020-01-03")  # unsorted rows get sorted
    spaced = _write(tmp_path, " Date , Close , Volume \n01/02/2020, 10.5 ,100\n01/03/2020,11,100\n", "b.csv")
    doc = json.loads(cli("import", spaced, "--ticker", "bbb", "--json").stdout)
    assert doc["ticker"] == "BBB" and doc["first"] == "2020-01-02"
    fred = _write(tmp_path, "DATE,SP500\n2020-01-02,3257.85\n2020-01-03,3234.85\n", "c.csv")
    assert json.loads(cli("import", fred, "--ticker", "^GSPC", "--json").stdout)["rows"] == 2
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress((SAMPLE / "GOOG.csv").read_bytes()))
    assert json.loads(cli("import", gz, "--ticker", "GOOG", "--json").stdout)["rows"] == 2148
    dotted = _write(tmp_path, "Date,Close\n02.01.2020,5\n03.01.2020,6\n", "e.csv")
    assert json.loads(cli("import", dotted, "--ticker", "EEE", "--json").stdout)["last"] == "2020-01-03"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Day of week,Close\nMon,1\n", "no date column"),
        ("Date,Volume,Other\n2020-01-02,1,2\n", "no price column"),
        ("Date,Close\n2020-01-02,1\nnot-a-date,2\n", "line 3: cannot parse date 'not-a-date'"),
        ("Date,Close\n2020-01-02,1\n2020-01-02,2\n", "duplicate date 2020-01-02 (lines 2, 3)"),
        ("Date,Close\n2020-01-02,1\n2020-01-03,-2\n", "line 3 (2020-01-03): Close must be positive"),
        ("Date,Close\n2020-01-02,1\n2020-01-03,0\n", "Close must be positive, got 0"),
        (
            "Date,Open,High,Low,Close\n2020-01-02,1,1,1,1\n2020-01-03,1,1,1,\n",
            "line 3 (2020-01-03): Close is empty",
        ),
        ("DATE,DGS10\n2020-01-01,.\n2020-01-02,.\n", "DGS10 has no value on any day"),
        (
            "Date,Close\n2020-01-02,1\n2020-01-06,2\n2020-01-02,3\n2020-01-06,4\n2020-01-07,5\n",
            "duplicate date 2020-01-02 (lines 2, 4); 1 other date(s) repeat too",
        ),
        ("Date,Close\n", "no rows after the header"),
        ("", "the file is empty"),
    ],
)
def test_bad_files_fail_with_where_and_write_nothing(
    cli: Cli, home: Path, tmp_path: Path, text: str, needle: str
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "BAD")  # something already stored must survive
    path = _write(tmp_path, text)
    result = cli("import", path, "--ticker", "BAD", code=1)
    assert needle in result.stderr, result.stderr
    assert str(path) in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _rows(home, "BAD") == 3270


def test_missing_file_and_bad_ticker(cli: Cli, home: Path, tmp_path: Path) -> None:
    assert "no such file" in cli("import", tmp_path / "nope.csv", "--ticker", "X", code=1).stderr
    bad = cli("import", SAMPLE / "IBM.csv", "--ticker", "../../etc", code=1)
    assert "invalid ticker" in bad.stderr
    assert not (home / "lstmcast.db").exists() or _rows(home, "../../ETC") == 0


def test_unadjusted_split_warning(cli: Cli, home: Path, tmp_path: Path) -> None:
    # MSFT's raw Close has the 2003-02-18 2:1 split; without Adj Close that is suspicious.
    lines = (SAMPLE / "MSFT.csv").read_text().splitlines()
    raw = ["Date,Close"] + [f"{ln.split(',')[0]},{ln.split(',')[4]}" for ln in lines[1:]]
    path = _write(tmp_path, "\n".join(raw) + "\n")
    result = cli("import", path, "--ticker", "MSFTRAW")
    assert "2003-02-18" in result.stderr and "unadjusted split" in result.stderr
    assert _rows(home, "MSFTRAW") == 3270


@pytest.mark.slow
def test_two_imports_into_one_store_at_once_both_succeed(home: Path) -> None:
    from conftest import ROOT

    exe = [sys.executable, "-m", "lstmcast", "--home", str(home)]
    procs = [
        subprocess.Popen(
            [*exe, "import", str(SAMPLE / f"{t}.csv"), "--ticker", t],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        for t in ("AAPL", "MSFT", "IBM")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert [_rows(home, t) for t in ("AAPL", "MSFT", "IBM")] == [3270, 3270, 3270]


def test_data_listing_tail_and_export_round_trip(cli: Cli, home: Path, tmp_path: Path) -> None:
    cli("import", SAMPLE / "GOOG.csv", "--ticker", "GOOG")
    listing = json.loads(cli("data", "--json").stdout)
    assert listing == [
        {
            "ticker": "GOOG",
            "first": "2004-08-19",
            "last": "2013-03-01",
            "rows": 2148,
            "source": "csv:GOOG.csv",
        }
    ]
    assert "GOOG" in cli("data").stdout
    last = json.loads(cli("data", "goog", "--rows", "2", "--json").stdout)
    assert [r["date"] for r in last] == ["2013-02-28", "2013-03-01"]
    out = tmp_path / "goog.csv"
    cli("data", "export", "GOOG", out)
    assert out.read_text().splitlines()[0] == "Date,Open,High,Low,Close,Adj Close,Volume"
    cli("import", out, "--ticker", "GOOG")  # same values: nothing changes
    assert "nothing new" in cli("import", out, "--ticker", "GOOG").stdout
    assert "not stored" in cli("data", "ZZZ", code=1).stderr


def test_fred_style_empty_days_are_skipped_with_a_count_or_refused_with_strict(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    text = "DATE,DCOILWTICO\n2020-01-01,.\n2020-01-02,61.17\n2020-01-03,\n2020-01-06,NA\n2020-01-07,62.7\n"
    path = _write(tmp_path, text, "wti.csv")
    refused = cli("import", path, "--ticker", "WTI", "--strict", code=1)
    assert "line 2: DCOILWTICO is empty (3 day(s) without a value" in refused.stderr
    assert not (home / "lstmcast.db").exists()  # refused before the store was even opened
    done = cli("import", path, "--ticker", "WTI")
    assert "3 empty day(s) skipped" in done.stderr and "2 rows" in done.stdout
    assert _rows(home, "WTI") == 2


@pytest.mark.slow
@pytest.mark.parametrize("close_only", [True, False])
def test_what_export_writes_import_reads_back(cli: Cli, home: Path, tmp_path: Path, close_only: bool) -> None:
    if close_only:
        src = _write(tmp_path, "DATE,PRICE\n2020-01-02,10\n2020-01-03,.\n2020-01-06,11.5\n2020-01-07,11\n")
    else:
        src = SAMPLE / "MSFT.csv"
    cli("import", src, "--ticker", "SRC")
    out = tmp_path / "export.csv"
    cli("data", "export", "SRC", out)
    cli("import", out, "--ticker", "COPY")
    original = json.loads(cli("data", "SRC", "--rows", "5000", "--json").stdout)
    copy = json.loads(cli("data", "COPY", "--rows", "5000", "--json").stdout)
    strip = [{k: v for k, v in r.items() if k != "source"} for r in original]
    assert strip == [{k: v for k, v in r.items() if k != "source"} for r in copy]
    assert len(copy) == (3 if close_only else 3270)
    if close_only:  # the table shows a missing open, high, low or volume as a dash, not None
        shown = cli("data", "SRC", "--rows", "3").stdout
        assert "None" not in shown and "–" in shown


def test_columns_import_does_not_read_are_named_once(cli: Cli, home: Path, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Date,Open,High,Low,Close,Volume,OpenInt\n2020-01-02,1,2,1,1.5,100,0\n2020-01-03,1,2,1,1.5,100,0\n",
    )
    res = cli("import", path, "--ticker", "OI")
    assert res.stderr.count("ignored column(s) OpenInt") == 1


@pytest.mark.slow
def test_an_import_that_rewrites_history_needs_replace_and_can_be_undone(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IX")
    before = json.loads(cli("data", "IX", "--rows", "5000", "--json").stdout)
    # Another series under the same ticker: every level changes, by no common ratio.
    refused = cli("import", SAMPLE / "MSFT.csv", "--ticker", "IX", code=1)
    assert "would change 3270 stored bar(s)" in refused.stderr and "--replace" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(cli("data", "IX", "--rows", "5000", "--json").stdout) == before
    # A split re-bases the whole history by one factor: accepted without --replace.
    lines = (SAMPLE / "IBM.csv").read_text().splitlines()
    split = [lines[0]]
    for line in lines[1:]:
        d, o, h, lo, c, vol, adj = line.split(",")  # IBM.csv's column order
        halves = (f"{float(x) / 2:.6f}" for x in (o, h, lo, c))
        split.append(",".join([d, *halves, str(int(vol) * 2), f"{float(adj) / 2:.9f}"]))
    path = _write(tmp_path, "\n".join(split) + "\n", "split.csv")
    assert "3270 revised" in cli("import", path, "--ticker", "IX").stdout
    # With --replace the rewrite goes through, and restore undoes it, bar for bar.
    replaced = cli("import", SAMPLE / "MSFT.csv", "--ticker", "IX", "--replace").stdout
    assert "3270 revised" in replaced and "data restore IX" in replaced
    restored = json.loads(cli("data", "restore", "IX", "--json").stdout)
    assert restored["reason"] == "import" and restored["restored"] == 3270
    cli("data", "restore", "IX")  # and the split before it
    assert json.loads(cli("data", "IX", "--rows", "5000", "--json").stdout) == before
    assert "nothing to restore" in cli("data", "restore", "IX", code=1).stderr


@pytest.mark.slow
def test_data_rm_removes_a_ticker_and_restore_brings_it_back(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "GOOG.csv", "--ticker", "GOOG")
    before = json.loads(cli("data", "GOOG", "--rows", "5000", "--json").stdout)
    assert "removed 2148 bars of GOOG" in cli("data", "rm", "GOOG").stdout
    assert _rows(home, "GOOG") == 0
    assert "not stored" in cli("data", "rm", "GOOG", code=1).stderr
    cli("data", "restore", "GOOG")
    assert json.loads(cli("data", "GOOG", "--rows", "5000", "--json").stdout) == before


def test_restore_after_rm_and_another_import_is_exact_never_a_blend(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "GOOG.csv", "--ticker", "GG")
    before = json.loads(cli("data", "GG", "--rows", "5000", "--json").stdout)
    cli("data", "rm", "GG")
    cli("import", SAMPLE / "IBM.csv", "--ticker", "GG")  # another series, more bars, other dates
    undone = json.loads(cli("data", "restore", "GG", "--json").stdout)
    assert undone["reason"] == "import" and undone["removed"] == 3270 and _rows(home, "GG") == 0
    assert json.loads(cli("data", "restore", "GG", "--json").stdout)["reason"] == "rm"
    assert json.loads(cli("data", "GG", "--rows", "5000", "--json").stdout) == before
    assert "nothing to restore" in cli("data", "restore", "GG", code=1).stderr


def _scaled(tmp_path: Path, rows: slice, factor: float, name: str) -> Path:
    """IBM.csv with the prices of `rows` (data lines) times `factor`."""
    lines = (SAMPLE / "IBM.csv").read_text().splitlines()
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        d, o, h, lo, c, vol, adj = line.split(",")
        if i in range(len(lines) - 1)[rows]:
            o, h, lo, c, adj = (f"{float(x) * factor:.6f}" for x in (o, h, lo, c, adj))
        out.append(",".join([d, o, h, lo, c, vol, adj]))
    return _write(tmp_path, "\n".join(out) + "\n", name)


def test_a_constant_ratio_is_a_split_only_on_all_history_up_to_a_date(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    # 100 bars in the middle, each by the same factor: a revision, not a split.
    middle = cli("import", _scaled(tmp_path, slice(1000, 1100), 1.1, "mid.csv"), "--ticker", "IBM", code=1)
    assert "would change 100 stored bar(s)" in middle.stderr and "--replace" in middle.stderr
    # The last 30 bars in pence for a series stored in pounds: refused too, naming the change.
    pence = cli("import", _scaled(tmp_path, slice(-30, None), 100, "pence.csv"), "--ticker", "IBM", code=1)
    assert "would change 30 stored bar(s)" in pence.stderr and "up to 9900.0%" in pence.stderr
    # All history up to a date by one factor (a dividend's re-adjustment): accepted.
    head = cli("import", _scaled(tmp_path, slice(0, 2000), 0.98, "div.csv"), "--ticker", "IBM").stdout
    assert "2000 revised" in head


def test_a_date_far_from_the_others_is_named(cli: Cli, home: Path, tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Close\n2000-01-03,1\n1800-01-01,2\n2000-01-04,3\n2000-01-05,4\n")
    res = cli("import", path, "--ticker", "GAP")
    assert "no bar for" in res.stderr and "between 1800-01-01 and 2000-01-03" in res.stderr
