"""bfloat16 autocast on the CPU, and GRU against LSTM at equal size, in a minimal loop.

    .venv/bin/python benchmarks/bench_precision.py

LSTM and GRU 2x64, window 50, batch 64, 2 epochs on 2,560 random windows, float32 and bf16
autocast, alternating, medians of 2. Prints the CPU capability torch sees: bf16 only pays
where the CPU has AVX-512 BF16 (or AMX) and oneDNN has the kernel.
"""

from __future__ import annotations

import math
import statistics
import time

import torch
from torch import nn


def run(cell: str, bf16: bool, x: torch.Tensor, y: torch.Tensor) -> float:
    torch.manual_seed(0)
    rnn = getattr(nn, cell)(1, 64, num_layers=2, batch_first=True)
    head = nn.Linear(64, 1)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-3)
    t0 = time.perf_counter()
    for _ in range(2):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = head(rnn(x[idx])[0][:, -1])
            loss = nn.functional.mse_loss(out.float(), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


def main() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(2560, 50, 1), torch.randn(2560, 1)
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(2):
        for cell in ("LSTM", "GRU"):
            for bf16 in (False, True):
                try:
                    seconds = run(cell, bf16, x, y)
                except RuntimeError as exc:  # oneDNN has no kernel for this case on this CPU
                    print(f"{cell} bf16: {str(exc).splitlines()[0][:100]}")
                    seconds = math.nan
                times.setdefault((cell, bf16), []).append(seconds)
    for (cell, bf16), values in times.items():
        print(f"{cell:4} {'bf16' if bf16 else 'fp32'} {statistics.median(values):.2f}s")
    lstm, gru = (statistics.median(times[(c, False)]) for c in ("LSTM", "GRU"))
    print(f"GRU / LSTM (fp32) = {gru / lstm:.2f}; cpu capability: {torch.backends.cpu.get_cpu_capability()}")


if __name__ == "__main__":
    main()
