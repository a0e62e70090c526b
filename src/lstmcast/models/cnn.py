"""A 1D convolution stack over the window with a linear head on the flattened feature map.

No global average pooling: pooling forgets which bar is the latest, and for a forecaster the
latest bars matter most (measured: a pooled head did twice as badly as repeating the last value).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

# An even kernel with 'same' padding makes torch pad a copy of the input: a note on speed for
# torch's developers, printed once per process to a user who chose --kernel-size 4 (or whose
# tune tried it). It changes nothing in the result.
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel", category=UserWarning)


class ConvForecaster(nn.Module):
    def __init__(
        self,
        n_features: int,
        window: int,
        horizon: int,
        channels: int,
        kernel: int,
        layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = n_features
        for _ in range(layers):
            # 'same' padding keeps the window length, so position i still means bar i.
            blocks += [nn.Conv1d(c_in, channels, kernel, padding="same"), nn.ReLU()]
            if dropout:
                blocks.append(nn.Dropout(dropout))
            c_in = channels
        self.conv = nn.Sequential(*blocks)
        self.head = nn.Linear(channels * window, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv(x.transpose(1, 2))  # (B, F, L) -> (B, C, L)
        return self.head(z.flatten(1))  # (B, C*L) -> (B, H)
