"""A learned vector per ticker for global models, joined to every bar of the window.

The ticker's row index travels as the last input feature, so the batch contract stays
(B, L, F) -> (B, H) for every architecture.
"""

from __future__ import annotations

import torch
from torch import nn

EMBEDDING_DIM = 4


class TickerEmbedding(nn.Module):
    def __init__(self, inner: nn.Module, n_tickers: int, dim: int = EMBEDDING_DIM) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_tickers, dim)
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = x[:, 0, -1].long()  # (B,): constant along the window
        vec = self.embedding(ids)[:, None, :].expand(-1, x.shape[1], -1)  # (B, L, D)
        return self.inner(torch.cat([x[..., :-1], vec], dim=-1))  # (B, L, F-1+D) -> (B, H)
