"""What the benchmarks share: a child process's wall time and peak RSS, the minimal training
loop lstmcast is measured against, and medians with their spread.

    .venv/bin/python benchmarks/benchlib.py [--help]

Run as a script, it is the minimal loop as a process of its own (what bench_train_process
compares a whole `lstmcast train` with): AAPL's returns, an LSTM 2x64 over windows of 50,
batches of 64, Adam 1e-3, 10 epochs; it prints the loop's seconds, then its peak RSS in MB.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    code: int
    stdout: str
    stderr: str


def peak(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Run `cmd`; its wall time and its own peak RSS (read by /usr/bin/time), and what it said."""
    t0 = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env)
    lines = done.stderr.rstrip().splitlines()
    said = "\n".join(ln for ln in lines[:-1] if not ln.startswith("Command exited"))
    return Run(time.perf_counter() - t0, int(lines[-1]) / 1024, done.returncode, done.stdout, said)


def spread(values: list[float], digits: int = 2) -> str:
    """`median (min-max)`: what every figure in docs/speed.md is quoted as."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def minimal_loop(returns: object, train_end: int, epochs: int = 10) -> float:
    """The plainest fast loop: unfold windows, randperm batches, no DataLoader, no extras.
    Seconds spent in the epochs (LSTM 2x64, window 50, batch 64, Adam 1e-3)."""
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(0)
    r = torch.tensor(np.asarray(returns)[:train_end], dtype=torch.float32)
    r = (r - r.mean()) / r.std()
    x = r.unfold(0, 50, 1)[:-1].unsqueeze(-1)  # (N, 50, 1)
    y = r[50:].unsqueeze(-1)  # (N, 1)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(1, 64, num_layers=2, batch_first=True)
            self.head = nn.Linear(64, 1)

        def forward(self, xb: torch.Tensor) -> torch.Tensor:
            return self.head(self.rnn(xb)[0][:, -1])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            nn.functional.mse_loss(net(x[idx]), y[idx]).backward()
            opt.step()
    return time.perf_counter() - t0


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    import resource

    import numpy as np
    import pandas as pd

    bars = pd.read_csv(SAMPLE / "AAPL.csv")
    r = np.diff(np.log(bars["Adj Close"].to_numpy()))
    n = len(r)
    print(minimal_loop(r, n - 2 * round(n * 0.1)))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
