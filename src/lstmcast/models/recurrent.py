"""Stacked LSTM, GRU or tanh RNN with a linear head on the last step's hidden state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import torch
from torch import nn

CELLS: dict[str, Callable[..., nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
# A recurrent state: the hidden state (GRU, RNN), or the hidden and cell states (LSTM).
State: TypeAlias = "torch.Tensor | tuple[torch.Tensor, torch.Tensor]"


class RecurrentForecaster(nn.Module):
    def __init__(
        self, cell: str, n_features: int, hidden: int, layers: int, dropout: float, horizon: int
    ) -> None:
        super().__init__()
        # Inter-layer dropout only: PyTorch applies it between stacked layers, not in time.
        self.rnn = CELLS[cell](
            n_features, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.head = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (B, L, hidden)
        return self.head(out[:, -1])  # (B, H): the latest bar's state carries the forecast

    def forward_seq(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Stateful use: a forecast at every step, and the state to continue from."""
        out, state = self.rnn(x, state)  # (B, L, hidden)
        return self.head(out), state  # (B, L, H)
