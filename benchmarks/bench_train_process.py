"""Whole processes: `lstmcast train` against a minimal hand-written loop with glibc's defaults.

    .venv/bin/python benchmarks/bench_train_process.py [--repeats 3]

Both fit LSTM 2x64, window 50, batch 64, Adam 1e-3, 10 epochs (no early stopping) on AAPL's
daily log returns. Each repeat starts two fresh processes, alternating; the minimal loop runs
with the allocator's default settings (MALLOC_* unset), as a user's own script would. Prints
medians of wall time and peak RSS, the ratio, the spread over repeats, and where each
process's time goes: the training loop itself, and the rest (start-up and imports; for
lstmcast also validation each epoch, the 20-step out-of-sample errors, the ONNX export and
writing the model).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL = str(Path(__file__).with_name("benchlib.py"))  # the minimal loop, as its own process


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and the training loop's seconds (NaN unless printed)."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    lines = out.stdout.strip().splitlines()
    return wall, float(lines[-1]), float(lines[-2]) if len(lines) > 1 else float("nan")


def newest_loop_seconds(home: str) -> float:
    """The training loop's own seconds (epochs and their validation), from the newest model."""
    newest = max((Path(home) / "models").iterdir(), key=lambda p: p.stat().st_mtime)
    return float(json.loads((newest / "manifest.json").read_text())["training"]["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    plain = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    exe = str(Path(sys.executable).parent / "lstmcast")
    with tempfile.TemporaryDirectory() as home:
        env = {**plain, "LSTMCAST_HOME": home}
        subprocess.run([exe, "import", "sample_data/AAPL.csv", "--ticker", "AAPL"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        probe = "import resource; print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
        train = [sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:], check=True,"
                 " stdout=subprocess.DEVNULL); " + probe, exe, "train", "AAPL", "--epochs", "10",
                 "--patience", "100"]  # fmt: skip
        runs: dict[str, list[tuple[float, float, float]]] = {"minimal": [], "lstmcast": []}
        for _ in range(args.repeats):
            runs["minimal"].append(timed([sys.executable, MINIMAL], plain))
            wall, peak, _ = timed(train, env)
            runs["lstmcast"].append((wall, peak, newest_loop_seconds(home)))
    med = {k: statistics.median(w for w, _, _ in v) for k, v in runs.items()}
    for name, rows in runs.items():
        walls = [w for w, _, _ in rows]
        loop = statistics.median(x for _, _, x in rows)
        print(f"{name:9} wall {med[name]:.2f}s (spread {min(walls):.2f}-{max(walls):.2f}),"
              f" peak RSS {statistics.median(m for _, m, _ in rows):.0f} MB; training loop {loop:.2f}s,"
              f" the rest {med[name] - loop:.2f}s")  # fmt: skip
    print(f"ratio lstmcast / minimal = {med['lstmcast'] / med['minimal']:.2f} (target <= 0.75)")


if __name__ == "__main__":
    main()
