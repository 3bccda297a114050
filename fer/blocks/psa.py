"""Pyramid Split Attention (EPSANet, Zhang et al. 2021), the module PSA-ResNet50 puts in every bottleneck."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class SEWeight(nn.Module):
    """SE weights of one branch: GAP, 1x1 conv C->C/r, ReLU, 1x1 conv C/r->C, sigmoid (EPSANet's SEWeightModule)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc2(self.relu(self.fc1(self.pool(x)))))


class PSAModule(nn.Module):
    """Split-and-concat with kernels 3/5/7/9 (groups 1/4/8/16), SE weights per branch, softmax across branches.

    As in EPSANet's official code, every branch convolves the whole input and produces
    ``out_channels / S`` channels (the "split" is on the output side); this is what gives
    EPSANet-50 (small) its published 22.56 M parameters. One SE module is shared by the
    branches, as in that code.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernels: Sequence[int] = (3, 5, 7, 9),
        groups: Sequence[int] = (1, 4, 8, 16),
        reduction: int = 16,
    ) -> None:
        super().__init__()
        if len(kernels) != len(groups):
            raise ValueError("kernels and groups must have the same length")
        self.splits = len(kernels)
        if out_channels % self.splits:
            raise ValueError(f"out_channels={out_channels} is not divisible by {self.splits} branches")
        self.split_channels = out_channels // self.splits
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, self.split_channels, k, stride=stride, padding=k // 2, groups=g, bias=False)
            for k, g in zip(kernels, groups)
        )
        self.se = SEWeight(self.split_channels, reduction)
        self.kernels, self.groups = tuple(kernels), tuple(groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = torch.stack([branch(x) for branch in self.branches], dim=1)  # (N, S, C/S, H, W)
        weights = torch.stack([self.se(feats[:, i]) for i in range(self.splits)], dim=1)  # (N, S, C/S, 1, 1)
        weights = weights.softmax(dim=1)  # attention across the S scales, per channel
        return (feats * weights).flatten(1, 2)
