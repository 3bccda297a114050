"""Occlusion by facial region: how much the explained class's probability drops when a region is greyed out.

A check of the map that does not use the map: if Grad-CAM puts most of its mass on the mouth, greying out
the mouth should cost the most probability. All regions of all faces go through the model in one batch,
with the unoccluded faces unless their probabilities are given (``baseline``: the CAM's own forward pass).
On a CPU each occluded image costs about one forward pass, so fewer regions cost proportionally less.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

GREY = 128  # the uint8 value occluded pixels get: mid-grey, the least informative constant for a gray face
MAX_BATCH = 64  # images per forward pass: 8 faces x 6 images fit; more faces go in several passes


def occlusion_drops(
    model: nn.Module,
    x: torch.Tensor,
    masks: Sequence[Mapping[str, np.ndarray]],
    targets: Sequence[int],
    *,
    regions: Sequence[str] | None = None,
    baseline: Sequence[float] | None = None,
    probs: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> list[dict[str, float]]:
    """Per face, region -> drop of the probability of class ``targets[i]`` when the region is greyed out.

    ``x``: the normalised batch (N, C, H, W) as the model takes it (``model.spec.input`` gives the
    normalisation); ``masks``: per face, region -> boolean (H, W) mask (e.g. from
    :func:`fer.explain.regions.face_region_masks`); ``regions``: which of them to grey out (default: all).
    ``baseline``: each face's probability of its target without occlusion, when already known; otherwise
    the unoccluded faces go in the batch too. A positive drop means the region helped the class.
    ``probs``: what turns a batch into class probabilities instead of ``softmax(model(batch))`` (the analyzer
    passes its loaded model's, whose trunk may run in another runtime and whose checkpoint may scale the logits).
    """
    if len(masks) != len(x) or len(targets) != len(x) or (baseline is not None and len(baseline) != len(x)):
        raise ValueError(f"{len(x)} faces but {len(masks)} mask sets and {len(targets)} targets (or baselines)")
    if not len(x):
        return []
    names = list(regions) if regions is not None else list(masks[0])
    with_baseline = baseline is None  # the unoccluded face leads each face's group of images
    spec = model.spec.input
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, 1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, 1, -1, 1, 1)
    grey = (GREY / 255.0 - mean) / std
    per_face = len(names) + with_baseline
    faces_per_pass = max(1, MAX_BATCH // per_face)
    drops: list[dict[str, float]] = []
    for start in range(0, len(x), faces_per_pass):
        chunk = x[start : start + faces_per_pass]
        m = np.stack([np.stack([face[name] for name in names]) for face in masks[start : start + faces_per_pass]])
        m = torch.from_numpy(m).to(device=x.device, dtype=x.dtype).unsqueeze(2)  # (n, R, 1, H, W)
        occluded = chunk[:, None] * (1 - m) + grey * m
        batch = (torch.cat([chunk[:, None], occluded], 1) if with_baseline else occluded).flatten(0, 1)
        batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = probs(batch) if probs is not None else model(batch).float().softmax(1)
        out = out.view(len(chunk), per_face, -1).cpu().numpy()
        for i, target in enumerate(targets[start : start + faces_per_pass]):
            p = out[i, :, target]
            base = float(p[0]) if with_baseline else float(baseline[start + i])  # type: ignore[index]
            drops.append({name: base - float(p[k + with_baseline]) for k, name in enumerate(names)})
    return drops
