"""The U-Net masking branch with ECA in the encoder (Tian, Zhang, Huo 2024)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fer.blocks.eca import ECA


def _conv_bn_relu(cin: int, cout: int, kernel_size: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class _EncoderLevel(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _conv_bn_relu(cin, cout)
        self.eca = ECA(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.eca(self.conv(x))


class _DecoderLevel(nn.Module):
    """Transposed conv halves the channels and doubles the size; concat the skip; a 1x1 conv fuses."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, kernel_size=2, stride=2)
        self.fuse = _conv_bn_relu(2 * cout, cout, kernel_size=1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        if x.shape[-2:] != skip.shape[-2:]:
            # Odd sizes (7 -> 3 -> 6 vs 7): resize to the skip instead of cropping features away.
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([x, skip], dim=1))


class UNetMask(nn.Module):
    """A U-Net of ``depth`` levels that maps a C-channel feature map to C-channel mask logits.

    Encoder: ``depth`` conv blocks, each doubling the channels (C -> 2C -> ... -> 2^depth C),
    each followed by ECA, with 2x2 max-pooling between levels. Decoder: ``depth - 1``
    transposed convs halve the channels back with skip concatenation, and a final 1x1 conv
    returns to C channels (the paper's fourth "inverse convolution" at depth 4).
    """

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError("depth must be >= 1")
        self.depth = depth
        widths = [channels * 2**i for i in range(1, depth + 1)]  # 2C, 4C, ..., 2^depth C
        self.encoder = nn.ModuleList(_EncoderLevel(cin, cout) for cin, cout in zip([channels, *widths[:-1]], widths))
        self.pool = nn.MaxPool2d(2, ceil_mode=True)  # ceil: a 7x7 map pools to 4x4, never loses its last row
        self.decoder = nn.ModuleList(_DecoderLevel(widths[i], widths[i - 1]) for i in range(depth - 1, 0, -1))
        self.out = nn.Conv2d(widths[0], channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, level in enumerate(self.encoder):
            if i:
                x = self.pool(x)
            x = level(x)
            skips.append(x)
        skips.pop()  # the bottom level is x itself
        for level in self.decoder:
            x = level(x, skips.pop())
        return self.out(x)
