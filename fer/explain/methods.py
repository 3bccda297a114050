"""The CAM methods we offer, all from pytorch-grad-cam (one small class per method over one base)."""

from __future__ import annotations

from pytorch_grad_cam import (
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.base_cam import BaseCAM

CAM_METHODS: dict[str, type[BaseCAM]] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "hirescam": HiResCAM,
    "layercam": LayerCAM,
    "eigencam": EigenCAM,
    "scorecam": ScoreCAM,
}

CAM_LABELS = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "xgradcam": "XGrad-CAM",
    "hirescam": "HiResCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
    "scorecam": "Score-CAM",
}

# Methods whose map needs only the target layer's activations and gradients: the fast path computes
# those with one forward pass and a backward pass through the layers after the target alone.
# Score-CAM instead re-runs the whole model on the input masked by every channel, so it goes through
# the library unchanged.
FAST_METHODS = frozenset({"gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam"})
GRADIENT_FREE = frozenset({"eigencam", "scorecam"})


def cam_class(method: str) -> type[BaseCAM]:
    """The pytorch-grad-cam class for ``method``; a clear error lists the known names."""
    try:
        return CAM_METHODS[method]
    except KeyError:
        raise ValueError(f"unknown CAM method {method!r}; choose one of {', '.join(CAM_METHODS)}") from None
