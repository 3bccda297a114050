"""Do the models look at the same places? Map similarity between models on one face, and their consensus map.

Two measures, on the maps resized to one grid: Spearman's rank correlation (does the order of the pixels
agree, whatever the maps' scales) and the IoU of each map's top 20% of pixels (do the hot spots overlap).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.stats import rankdata

GRID = 28  # the common grid: the coarsest CAM here is 7x7 upsampled, and 28x28 keeps the ranks cheap
TOP_FRACTION = 0.2


@dataclass(frozen=True)
class CamAgreement:
    """Pairwise map similarity between models (rows and columns in ``models`` order) and their consensus."""

    models: tuple[str, ...]
    spearman: np.ndarray  # float (K, K), in [-1, 1], 1 on the diagonal
    top_iou: np.ndarray  # float (K, K), IoU of the top-20% pixels, in [0, 1]
    consensus: np.ndarray  # float32 (H, W) in [0, 1]: the mean of the min-max normalised maps


def _normalise(cam: np.ndarray) -> np.ndarray:
    cam = np.asarray(cam, dtype=np.float32)
    lo, hi = float(cam.min()), float(cam.max())
    return (cam - lo) / (hi - lo) if hi > lo else np.zeros_like(cam)


def _resize(cam: np.ndarray, size: int) -> np.ndarray:
    if cam.shape == (size, size):
        return cam
    shrink = cam.shape[0] > size
    return cv2.resize(cam, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def spearman_matrix(flat: np.ndarray) -> np.ndarray:
    """Spearman correlation between the rows of ``flat`` (K, P): Pearson's of their ranks (ties share a rank).

    A constant row has no order: it correlates 0 with the others (and 1 with itself).
    """
    ranks = rankdata(flat, axis=1)
    ranks = ranks - ranks.mean(1, keepdims=True)
    norms = np.linalg.norm(ranks, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    corr = (ranks @ ranks.T) / np.outer(safe, safe)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def top_iou_matrix(flat: np.ndarray, fraction: float = TOP_FRACTION) -> np.ndarray:
    """IoU of the rows' top ``fraction`` of entries (exactly that many each; ties broken by position)."""
    k = max(1, int(np.ceil(fraction * flat.shape[1])))
    top = np.zeros(flat.shape, dtype=bool)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :k]
    np.put_along_axis(top, order, True, axis=1)
    inter = top.astype(np.int64) @ top.T.astype(np.int64)
    return inter / (2 * k - inter)


def cam_agreement(cams: Mapping[str, np.ndarray], grid: int = GRID) -> CamAgreement:
    """Agreement between the maps of one face, model name -> map (any sizes); at least one map.

    The consensus map has the size of the largest map.
    """
    if not cams:
        raise ValueError("cam_agreement needs at least one map")
    names = tuple(cams)
    normalised = [_normalise(cams[name]) for name in names]
    flat = np.stack([_resize(m, grid).ravel() for m in normalised])
    side = max(m.shape[0] for m in normalised)
    consensus = np.mean([_resize(m, side) for m in normalised], axis=0).astype(np.float32)
    return CamAgreement(models=names, spearman=spearman_matrix(flat), top_iou=top_iou_matrix(flat), consensus=consensus)
