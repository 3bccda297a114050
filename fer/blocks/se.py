"""Squeeze-and-Excitation (Hu et al., CVPR 2018), in ResEmoteNet's form."""

from __future__ import annotations

import torch
from torch import nn


class SEBlock(nn.Module):
    """GAP, Linear(C, C/r) - ReLU - Linear(C/r, C) - sigmoid, both linears without bias.

    The attribute names (``fc.0``, ``fc.2``) follow ResEmoteNet's official code so its
    state dicts load unchanged.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc(self.avg_pool(x).flatten(1))
        return x * w[:, :, None, None]
