"""How trustworthy is a map? ROAD (Rong et al., ICML 2022) through pytorch-grad-cam's metric.

ROAD removes the pixels a map ranks most (and least) relevant, fills them by noisy linear
imputation (so the model does not just react to a blank hole) and measures how the target
class's confidence changes. The combined score is (drop when removing least relevant - drop when
removing most relevant) / 2, averaged over the percentiles: higher means the map points at
pixels the model really uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from pytorch_grad_cam.metrics.road import ROADCombined
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn

from fer.explain.cam import model_lock

DEFAULT_PERCENTILES = (20, 40, 60, 80)


def road_score(
    model: nn.Module,
    x: torch.Tensor,
    cams: np.ndarray,
    targets: Sequence[int],
    percentiles: Sequence[int] = DEFAULT_PERCENTILES,
) -> np.ndarray:
    """ROAD combined score per image of the batch ``x`` for maps ``cams`` (N, H, W) and classes ``targets``."""
    metric = ROADCombined(percentiles=list(percentiles))
    model.eval()
    with model_lock(model), torch.no_grad():
        scores = metric(
            x, np.asarray(cams, dtype=np.float32), [ClassifierOutputSoftmaxTarget(t) for t in targets], model
        )
    return np.asarray(scores, dtype=np.float32).reshape(len(x))
