"""A universe fetch of 500 tickers from a Yahoo that answers 429 at random.

    .venv/bin/python benchmarks/bench_universe_fetch.py [--tickers 500] [--p429 0.05]
        [--years 2] [--pause 0.2]

A loopback HTTPS server (tests/fakeyahoo.py) answers like Yahoo's chart API, through the
curl_cffi session yfinance itself builds, and answers any chart request with 429 with
probability `--p429`. `lstmcast.universe.fetch.fetch_universe` downloads every member with
its real pacing (`--pause` seconds between downloads) and its real retries (backoff from
2 seconds, doubling, four retries). Prints the wall time, the 429s served, how many
members were stored whole, how many failed after every retry, and the time a second run
takes (it resumes: members fetched in the last 12 hours are skipped). Runs alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickers", type=int, default=500)
    ap.add_argument("--p429", type=float, default=0.05)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--pause", type=float, default=0.2)
    args = ap.parse_args()

    from fakeyahoo import FakeYahoo, make_certificate
    from lstmcast.sources import yahoo
    from lstmcast.store.db import Store
    from lstmcast.store.prices import last_date
    from lstmcast.universe.fetch import fetch_universe
    from lstmcast.universe.members import create_universe
    from synth import bars_from_log_returns

    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_certificate(Path(tmp))
        rng = np.random.default_rng(0)
        days = 252 * args.years
        tickers = [f"S{i:03d}" for i in range(args.tickers)]
        bars = {t: bars_from_log_returns(rng.normal(0, 0.01, days), start="2023-01-02") for t in tickers}
        fake = FakeYahoo(cert, key, bars=bars, random_429=args.p429)
        yahoo.make_session = fake.session  # the network boundary, and nothing else, is faked
        store = Store(Path(tmp) / "home")
        create_universe(store, "big", tickers)
        t0 = time.perf_counter()
        # fetch_universe makes its session through sources.yahoo, as `lstmcast fetch` does
        got = fetch_universe(store, "big", pause=args.pause)
        first = time.perf_counter() - t0
        whole = sum(1 for t in tickers if last_date(store.conn, t) == str(bars[t].index[-1].date()))
        failed = [o.ticker for o in got.outcomes if o.error is not None]
        t0 = time.perf_counter()
        again = fetch_universe(store, "big", pause=args.pause)
        second = time.perf_counter() - t0
        fake.close()
    print(f"members: {args.tickers}, {days} bars each; 429 with probability {args.p429}")
    served = f"{fake.served_429} answers of 429 served, {len(fake.chart_requests)} requests"
    print(f"first fetch: {first:.1f} s, {served}")
    print(f"stored whole: {whole} of {args.tickers}; failed after every retry: {len(failed)} {failed[:5]}")
    print(f"pacing alone: {args.pause * (args.tickers - 1):.0f} s (--pause {args.pause} between downloads)")
    resumed = f"{len(again.skipped)} skipped, {len(again.outcomes)} asked again"
    print(f"second run (resumes): {second:.1f} s, {resumed}")


if __name__ == "__main__":
    main()
