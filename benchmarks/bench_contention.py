"""The thread policy under contention: one training beside 0, 1, 2 and 4 busy processes.

    .venv/bin/python benchmarks/bench_contention.py [--loads 0,1,2,4] [--repeats 1] [--epochs 3]

Each cell is a fresh `lstmcast train IBM --epochs E --patience 100 --seed 0` process under
the default (`--threads 0`, the policy) and every fixed thread count from 1 to the usable
cores, while N CPU-bound Python processes spin beside it (started before the cell and killed
after it, bounded by a time limit of their own). Runs alone: other work on the machine is
load the table does not show. Prints, per load, each setting's median wall time, the best
fixed count, the default's ratio to it (target: within 1.2x under load, 1.05x quiet) and the
threads the policy chose.
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

ROOT = Path(__file__).resolve().parents[1]
SPIN = "import time\nend = time.time() + {limit}\nwhile time.time() < end:\n    pass\n"


def spinners(n: int, limit: float) -> list[subprocess.Popen[bytes]]:
    """`n` processes that keep a core busy for at most `limit` seconds each."""
    return [subprocess.Popen([sys.executable, "-c", SPIN.format(limit=limit)]) for _ in range(n)]


def train(exe: str, env: dict[str, str], threads: int, epochs: int) -> tuple[float, int, str]:
    """Wall seconds of one training process, and the threads it ran on and why."""
    cmd = [exe, "train", "IBM", "--epochs", str(epochs), "--patience", "100", "--seed", "0",
           "--threads", str(threads), "--json"]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    doc = json.loads(done.stdout)
    return time.perf_counter() - t0, int(doc["threads"]), str(doc["threads_why"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loads", default="0,1,2,4", help="competing busy processes, comma-separated")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    exe = str(Path(sys.executable).parent / "lstmcast")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # the policy decides
    settings = [0, *range(1, cores + 1)]
    print(f"{cores} usable cores; train IBM --epochs {args.epochs}; medians of {args.repeats}", flush=True)
    with tempfile.TemporaryDirectory() as home:
        env["LSTMCAST_HOME"] = home
        subprocess.run([exe, "import", str(ROOT / "sample_data/IBM.csv"), "--ticker", "IBM"], env=env,
                       check=True, capture_output=True)  # fmt: skip
        train(exe, env, 1, 1)  # a warm-up: the first process after an import pays for cold caches
        for load in (int(x) for x in args.loads.split(",")):
            times: dict[int, list[float]] = {t: [] for t in settings}
            chose: list[str] = []
            for r in range(args.repeats):
                order = (
                    settings[r % len(settings) :] + settings[: r % len(settings)]
                )  # rotate: no setting always first
                for t in order:  # one setting after another, each beside a fresh set of spinners
                    busy = spinners(load, limit=600)
                    try:
                        time.sleep(1.0 if load else 0.0)  # let them take their cores first
                        seconds, used, why = train(exe, env, t, args.epochs)
                    finally:
                        for p in busy:
                            p.kill()
                            p.wait()
                    times[t].append(seconds)
                    if t == 0:
                        chose.append(f"{used} ({why})")
                    time.sleep(1.0)  # the machine settles between cells
            med = {t: statistics.median(v) for t, v in times.items()}
            best = min((t for t in settings if t), key=lambda t: med[t])
            cells = "  ".join(f"{'default' if t == 0 else f'{t} thr'} {med[t]:.1f}s" for t in settings)
            print(
                f"load {load}: {cells}  best fixed {best} thr; default/best {med[0] / med[best]:.2f}x;"
                f" the policy chose {chose[-1]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
