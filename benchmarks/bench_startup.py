"""What a training process pays besides training: torch._dynamo, loaded by torch.optim's wrappers.

    .venv/bin/python benchmarks/bench_startup.py [--repeats 3]

Each run is a fresh process that imports lstmcast and fits LSTM 2x64 for one epoch on AAPL,
once with lstmcast's optimizer (which never imports torch._dynamo) and once with a stock
torch.optim.Adam, alternating. Prints medians of the whole process's wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = """
import resource, sys, time
t0 = time.perf_counter()
import torch
from pathlib import Path
from lstmcast.config import TrainConfig
from lstmcast.data.series import load_csv
from lstmcast.prep.dataset import build_frame, split_rows
from lstmcast.training import runtime
from lstmcast.training.fitted import fit_forecaster
if sys.argv[1] == "stock":
    runtime.adam = lambda params, lr: torch.optim.Adam(params, lr=lr)
cfg = TrainConfig(model="lstm", window=50, hidden=64, layers=2, epochs=1, patience=100)
frame = build_frame(load_csv(Path("sample_data/AAPL.csv")).bars)
seg = split_rows(frame.n, 0.1, 0.1)
fit_forecaster(cfg, frame, seg.train_end, seg.val_end)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(time.perf_counter() - t0, peak, int("torch._dynamo" in sys.modules))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    runs: dict[str, list[tuple[float, float, int]]] = {"lstmcast": [], "stock": []}
    for _ in range(args.repeats):
        for name in runs:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, name], capture_output=True, text=True, check=True
            )
            wall, peak, dynamo = out.stdout.split()
            runs[name].append((float(wall), float(peak), int(dynamo)))
    for name, rows in runs.items():
        wall = statistics.median(r[0] for r in rows)
        peak = statistics.median(r[1] for r in rows)
        print(f"{name:9} wall {wall:.2f}s (imports + one epoch), peak RSS {peak:.0f} MB,"
              f" torch._dynamo imported: {bool(rows[0][2])}")  # fmt: skip
    saved = statistics.median(r[0] for r in runs["stock"]) - statistics.median(r[0] for r in runs["lstmcast"])
    print(f"saved per training process: {saved:.2f}s")


if __name__ == "__main__":
    main()
