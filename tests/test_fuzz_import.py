"""Property-based fuzzing of the CSV reader through the real `import` command, and kill -9 tests.

Every input either imports exactly its rows, or fails with one line and writes nothing.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import ROOT, SAMPLE

COLUMNS = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
BROKEN = ["inf", "-inf", "nan", "", "abc", "-5", "0", "1e308"]


def _run_import(path: Path, home: Path) -> tuple[int, str, int]:
    from lstmcast.cli.app import app

    result = CliRunner().invoke(app, ["--home", str(home), "import", str(path), "--ticker", "FUZZ"])
    rows = 0
    if (home / "lstmcast.db").exists():
        with sqlite3.connect(home / "lstmcast.db") as conn:
            rows = int(conn.execute("SELECT count(*) FROM prices").fetchone()[0])
    return result.exit_code, result.stderr, rows


@st.composite
def price_files(draw: st.DrawFn) -> tuple[bytes, int, bool]:
    """(file bytes, rows, all rows valid?) in any column order, delimiter and decimal mark."""
    n = draw(st.integers(1, 25))
    order = draw(st.permutations(COLUMNS))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    decimal = "," if delimiter != "," and draw(st.booleans()) else "."
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    day = date(2015, 1, 5)
    lines, valid = [delimiter.join(order)], True
    for _ in range(n):
        price = draw(st.floats(1.0, 5000.0)).__round__(2)
        row = {
            "Date": day.isoformat(),
            "Open": price,
            "High": round(price * 1.02, 4),
            "Low": round(price * 0.98, 4),
            "Close": price,
            "Adj Close": round(price * 0.9, 4),
            "Volume": draw(st.integers(0, 10**9)),
        }
        cells = {k: str(v).replace(".", decimal) if isinstance(v, float) else str(v) for k, v in row.items()}
        if draw(st.integers(0, 9)) == 0:  # about one row in ten is broken somewhere
            valid = False
            kind = draw(st.sampled_from(["value", "range", "future"]))
            if kind == "value":
                cells[draw(st.sampled_from(COLUMNS[1:6]))] = draw(st.sampled_from(BROKEN))
            elif kind == "range":
                cells["High"], cells["Low"] = cells["Low"], cells["High"]
            else:
                cells["Date"] = "2099-01-02"
        lines.append(delimiter.join(cells[c] for c in order))
        day += timedelta(days=1 if day.weekday() < 4 else 3)
    text = "\n".join(lines) + "\n"
    return text.encode(encoding), n, valid


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@SETTINGS
@given(price_files())
def test_a_file_imports_exactly_its_rows_or_fails_in_one_line_writing_nothing(
    case: tuple[bytes, int, bool],
) -> None:
    data, n, valid = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prices.csv"
        path.write_bytes(data)
        code, err, rows = _run_import(path, Path(tmp) / "home")
    assert "Traceback" not in err
    if valid:
        assert code == 0 and rows == n, err
    else:
        assert code == 1 and rows == 0
        assert len(err.strip().splitlines()) == 1 and err.startswith("error:")


@pytest.mark.slow
@SETTINGS
@given(st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_never_give_a_traceback(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "noise.csv"
        path.write_bytes(data)
        code, err, rows = _run_import(path, Path(tmp) / "home")
    assert "Traceback" not in err and not err.startswith("error: unexpected ")  # main()'s last resort
    assert code in (0, 1)
    if code == 1:
        assert rows == 0 and len(err.strip().splitlines()) == 1


def _spawn(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LSTMCAST_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "lstmcast", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _integrity(home: Path) -> str:
    with sqlite3.connect(home / "lstmcast.db") as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.slow
def test_kill_9_during_import_leaves_all_rows_or_none(tmp_path: Path) -> None:
    rng = random.Random(7)
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-m", "lstmcast", "--home", str(home), "data"], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    for attempt in range(5):
        proc = _spawn(home, "import", str(SAMPLE / "AAPL.csv"), "--ticker", f"K{attempt}")
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _integrity(home) == "ok"
        with sqlite3.connect(home / "lstmcast.db") as conn:
            n = conn.execute("SELECT count(*) FROM prices WHERE ticker = ?", (f"K{attempt}",)).fetchone()[0]
        assert n in (0, 3270)


@pytest.mark.slow
def test_kill_9_during_train_leaves_no_loadable_half_model(tmp_path: Path) -> None:
    from lstmcast.errors import DamagedError
    from lstmcast.registry.files import orphans, runs
    from lstmcast.registry.saved import load_model
    from lstmcast.store.db import Store

    rng = random.Random(11)
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-m", "lstmcast", "--home", str(home), "import", str(SAMPLE / "IBM.csv"),
                    "--ticker", "IBM"], cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    fast = ["--model", "cnn", "--window", "10", "--channels", "4", "--epochs", "3"]
    for _ in range(3):
        proc = _spawn(home, "train", "IBM", *fast)
        time.sleep(rng.uniform(1.0, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _integrity(home) == "ok"
    with Store(home) as store:
        for run in runs(store):
            if run["status"] == "ok":
                load_model(store, run["id"], engine="torch").fitted.module()  # type: ignore[union-attr]
            else:
                with pytest.raises(DamagedError):
                    load_model(store, run["id"])
        for path in orphans(store):  # a killed run's staging dir is never taken for a model
            assert path.name.startswith(".") and path.name.endswith(".staging")
