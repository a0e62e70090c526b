"""Encoder-decoder: an encoder RNN reads the window, a decoder RNN unrolls H steps from its state."""

from __future__ import annotations

import torch
from torch import nn

from lstmcast.models.recurrent import CELLS


class Seq2SeqForecaster(nn.Module):
    def __init__(
        self, cell: str, n_features: int, hidden: int, layers: int, dropout: float, horizon: int
    ) -> None:
        super().__init__()
        drop = dropout if layers > 1 else 0.0
        self.encoder = CELLS[cell](n_features, hidden, num_layers=layers, batch_first=True, dropout=drop)
        # The decoder sees its own previous output (one value) at each step.
        self.decoder = CELLS[cell](1, hidden, num_layers=layers, batch_first=True, dropout=drop)
        self.head = nn.Linear(hidden, 1)
        self.horizon = horizon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(x)  # state: (layers, B, hidden) or a (h, c) pair
        step = x[:, -1:, :1]  # (B, 1, 1): the last observed target value starts the decoder
        outputs = []
        for _ in range(self.horizon):
            out, state = self.decoder(step, state)  # (B, 1, hidden)
            step = self.head(out)  # (B, 1, 1)
            outputs.append(step[:, 0, 0])
        return torch.stack(outputs, dim=1)  # (B, H)
