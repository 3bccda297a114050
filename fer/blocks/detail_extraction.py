"""Conv-cut's Detail Extraction block (Nan, Liu, Qian, Song 2025, Algorithm 1)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.models.convnext import LayerNorm2d


class SeparableConv2d(nn.Module):
    """Depthwise conv (kernel k, stride s) followed by a pointwise 1x1 conv, like Keras' SeparableConv2D."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ChannelSelfAttention(nn.Module):
    """f = softmax(y y^T / sqrt(d)) y with the C channel values as C scalar tokens (C x C attention).

    Algorithm 1 uses Y itself as query, key and value, so there are no projections. With
    scalar tokens the literal d is 1 and the softmax saturates; we scale by d = C.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = 1.0 / math.sqrt(channels)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        tokens = y.unsqueeze(-1)  # (N, C, 1)
        attn = (tokens @ tokens.transpose(1, 2) * self.scale).softmax(dim=-1)  # (N, C, C)
        return (attn @ tokens).squeeze(-1)


class DetailExtraction(nn.Module):
    """LayerNorm, separable conv k4/s4, separable conv k2/s2, spatial dropout 0.1, GAP, channel self-attention."""

    def __init__(self, channels: int = 256, out_channels: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm = LayerNorm2d(channels, eps=1e-6)
        self.sep1 = SeparableConv2d(channels, out_channels, kernel_size=4, stride=4)
        self.sep2 = SeparableConv2d(out_channels, out_channels, kernel_size=2, stride=2)
        self.dropout = nn.Dropout2d(dropout)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.attention = ChannelSelfAttention(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.sep2(self.sep1(self.norm(x))))
        return self.attention(self.pool(x).flatten(1))
