"""Heatmaps over the face crop and over the original photo, with pytorch-grad-cam's ``show_cam_on_image``."""

from __future__ import annotations

import cv2
import numpy as np
from pytorch_grad_cam.utils.image import show_cam_on_image


def _rgb_float(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image.astype(np.float32) / 255.0


def overlay_on_crop(crop: np.ndarray, cam: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The map (any size, values in [0, 1]) resized onto the crop (gray or RGB uint8); RGB uint8 out."""
    h, w = crop.shape[:2]
    mask = cv2.resize(cam.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return show_cam_on_image(_rgb_float(crop), mask, use_rgb=True, image_weight=1 - alpha)


def overlay_on_photo(
    photo: np.ndarray, region: tuple[int, int, int, int], cam: np.ndarray, alpha: float = 0.5
) -> np.ndarray:
    """The map drawn over ``region`` (x, y, w, h: the crop the model saw) of the RGB photo; the rest unchanged.

    The region may reach past the photo's border (a padded crop): only the visible part is drawn.
    """
    out = photo.copy()
    x, y, w, h = region
    mask = cv2.resize(cam.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, photo.shape[1]), min(y + h, photo.shape[0])
    if x1 <= x0 or y1 <= y0:
        return out
    visible = mask[y0 - y : y1 - y, x0 - x : x1 - x]
    out[y0:y1, x0:x1] = show_cam_on_image(
        _rgb_float(photo[y0:y1, x0:x1]), visible, use_rgb=True, image_weight=1 - alpha
    )
    return out
