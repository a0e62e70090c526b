"""Peak memory of `lstmcast import` on the largest real file and on hostile ones.

    .venv/bin/python benchmarks/bench_import_memory.py [--rows 10000000] [--limit-mb 1024]

Each case is a fresh `lstmcast import` process; its peak RSS is read by /usr/bin/time:
- the largest daily file there can be: every calendar day from 1700 to 2025 (118,700 rows),
  imported into a fresh store;
- ROWS rows of one repeated date (10 million: 520 MB), refused;
- 100,000 daily rows with 500 columns that are not prices (100 MB), imported;
- a regular file of zeros with no newline (600 MB), refused;
- a gzip bomb (1 GB of zeros in 1 MB), refused.
The parse streams in chunks and stops at the first limit it passes (rows, line length,
text size), so memory stays bounded whatever the file. Exits 1 if a case passes LIMIT_MB.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from benchlib import peak


def largest_daily(path: Path) -> int:
    days = pd.date_range("1700-01-01", "2025-12-31", freq="D")
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, len(days))))
    frame = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01})
    frame = frame.assign(Low=close * 0.99, Close=close, **{"Adj Close": close}, Volume=1000)
    frame.to_csv(path, index=False, float_format="%.4f")
    return len(frame)


def repeated(path: Path, rows: int) -> None:
    line = b"2020-01-02,1.0,1.1,0.9,1.0,1.0,100\n"
    block = line * 100_000
    with path.open("wb") as f:
        f.write(b"Date,Open,High,Low,Close,Adj Close,Volume\n")
        for _ in range(rows // 100_000):
            f.write(block)


def wide(path: Path, rows: int, extra: int) -> None:
    days = pd.date_range("1750-01-01", periods=rows, freq="D").strftime("%Y-%m-%d")
    pad = ",7" * extra
    with path.open("w") as f:
        f.write("Date,Close" + "".join(f",x{i}" for i in range(extra)) + "\n")
        f.writelines(f"{d},1.5{pad}\n" for d in days)


def zeros(path: Path, mb: int) -> None:
    with path.open("wb") as f:
        f.write(b"Date,Close\n")
        for _ in range(mb):
            f.write(b"\0" * (1 << 20))


def bomb(path: Path, mb: int) -> None:
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b"Date,Close\n2020-01-02,")
        for _ in range(mb):
            f.write(b"0" * (1 << 20))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows of the repeated-date file")
    ap.add_argument("--limit-mb", type=float, default=1024, help="fail above this peak RSS")
    args = ap.parse_args()
    lstmcast = str(Path(sys.executable).with_name("lstmcast"))
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        n = largest_daily(d / "daily.csv")
        repeated(d / "repeated.csv", args.rows)
        wide(d / "wide.csv", 100_000, 500)
        zeros(d / "zeros.csv", 600)
        bomb(d / "bomb.csv.gz", 1024)
        baseline = peak([sys.executable, "-c", "import pandas, numpy"])
        print(f"python importing pandas and numpy: {baseline.peak_mb:.0f} MB")
        cases = [
            ("daily.csv", f"{n:,} daily rows, 1700-2025", "OK"),
            ("repeated.csv", f"{args.rows:,} rows of one date", "X"),
            ("wide.csv", "100,000 rows with 500 other columns", "W"),
            ("zeros.csv", "600 MB of zeros, no newline", "Z"),
            ("bomb.csv.gz", "gzip bomb, 1 GB of zeros", "B"),
        ]
        print(f"{'file':<34} {'size':>8} {'seconds':>8} {'peak RSS':>9}  exit  says")
        for name, what, ticker in cases:
            path = d / name
            home = d / f"home-{ticker}"
            run = peak([lstmcast, "--home", str(home), "import", str(path), "--ticker", ticker])
            secs, mb, code, said = run.seconds, run.peak_mb, run.code, (run.stderr.splitlines() or [""])[-1]
            worst = max(worst, mb)
            size = path.stat().st_size / 1e6
            print(f"{what:<34} {size:>6.0f}MB {secs:>8.1f} {mb:>7.0f}MB  {code:>4}  {said[:90]}")
    print(f"largest peak RSS: {worst:.0f} MB (limit {args.limit_mb:.0f} MB)")
    if worst > args.limit_mb:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
