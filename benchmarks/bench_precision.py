"""bfloat16 autocast on the CPU, and GRU against LSTM at equal size, in a minimal loop.

    .venv/bin/python benchmarks/bench_precision.py

LSTM and GRU 2x64, window 50, batch 64, 2 epochs on 2,560 random windows, float32 and bf16
autocast, alternating, medians of 2; and a GRU whose time loop is TorchScript (same weights,
same numbers), to see whether a scripted cell beats PyTorch's own GRU kernel. Prints the CPU
capability torch sees: bf16 only pays where the CPU has AVX-512 BF16 (or AMX) and oneDNN has
the kernel.
"""

from __future__ import annotations

import math
import statistics
import time

import torch
from torch import nn


@torch.jit.script
def _gru_layer(gi: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """One GRU layer over precomputed input projections gi (L, B, 3H), PyTorch's equations."""
    h = torch.zeros(gi.shape[1], w_hh.shape[1], dtype=gi.dtype)
    outs: list[torch.Tensor] = []
    for t in range(gi.shape[0]):
        gh = torch.addmm(b_hh, h, w_hh.t())
        i_r, i_z, i_n = gi[t].chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        h = n + z * (h - n)
        outs.append(h)
    return torch.stack(outs)


class ScriptedGRU(nn.Module):
    """nn.GRU's weights and numbers, with a TorchScript time loop: one big input projection
    per layer, then per step one gemm and the gates, fused where TorchScript can."""

    def __init__(self, n_in: int, hidden: int, num_layers: int, batch_first: bool = True) -> None:
        super().__init__()
        self.ref = nn.GRU(n_in, hidden, num_layers=num_layers, batch_first=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        seq = x.transpose(0, 1)  # (L, B, F)
        for k in range(self.ref.num_layers):
            w_ih, w_hh = getattr(self.ref, f"weight_ih_l{k}"), getattr(self.ref, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(self.ref, f"bias_ih_l{k}"), getattr(self.ref, f"bias_hh_l{k}")
            seq = _gru_layer(torch.matmul(seq, w_ih.t()) + b_ih, w_hh, b_hh)
        return seq.transpose(0, 1), None


def run(cell: str, bf16: bool, x: torch.Tensor, y: torch.Tensor) -> float:
    torch.manual_seed(0)
    kind = ScriptedGRU if cell == "ScriptedGRU" else getattr(nn, cell)
    rnn = kind(1, 64, num_layers=2, batch_first=True)
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
    torch.manual_seed(0)
    scripted = ScriptedGRU(1, 64, 2)
    gap = (scripted(x[:64])[0] - scripted.ref(x[:64])[0]).abs().max().item()
    print(f"scripted GRU vs nn.GRU, same weights: largest output difference {gap:.1e}")
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(2):
        for cell in ("LSTM", "GRU", "ScriptedGRU"):
            for bf16 in (False, True) if cell != "ScriptedGRU" else (False,):
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
    scripted_t = statistics.median(times[("ScriptedGRU", False)])
    print(f"scripted GRU / LSTM (fp32) = {scripted_t / lstm:.2f}")


if __name__ == "__main__":
    main()
