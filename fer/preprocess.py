"""Grayscale uint8 faces -> the tensor a model expects (size, 3 channels, normalisation), in batches on any device.

Training, evaluation and the app all go through :func:`to_model_input`, so a model sees the
same preprocessing everywhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fer.registry import InputSpec


def to_model_input(faces: torch.Tensor, spec: InputSpec, size: int | None = None) -> torch.Tensor:
    """``faces``: uint8 or float in [0, 255], shape (N, H, W) gray. Returns float (N, C, S, S), normalised."""
    size = size or spec.size
    x = faces.unsqueeze(1).float() / 255.0
    if x.shape[-2:] != (size, size):
        # Antialias only when shrinking: it blurs nothing when enlarging 48x48 faces to 224.
        shrink = x.shape[-1] > size or x.shape[-2] > size
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    x = x.expand(-1, spec.channels, -1, -1)
    mean = torch.tensor(spec.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - mean) / std


def random_hflip(faces: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each face left-right with probability 1/2; the coin flips come from ``generator`` (CPU)."""
    flip = (torch.rand(len(faces), generator=generator) < 0.5).to(faces.device)
    return torch.where(flip[:, None, None], faces.flip(-1), faces)


def random_shift(faces: torch.Tensor, generator: torch.Generator, max_frac: float = 0.1) -> torch.Tensor:
    """Translate each face by up to ``max_frac`` of its size (edge pixels repeat), all in one batched op."""
    n, h, w = faces.shape
    shifts = (torch.rand(n, 2, generator=generator) * 2 - 1) * max_frac * 2  # grid units span [-1, 1]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = shifts
    grid = F.affine_grid(theta.to(faces.device), (n, 1, h, w), align_corners=False)
    out = F.grid_sample(faces.unsqueeze(1).float(), grid, padding_mode="border", align_corners=False)
    return out.squeeze(1)


AUGMENTATIONS = {"hflip": random_hflip, "shift": random_shift}
