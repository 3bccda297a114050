"""Heatmaps over the face crop and over the original photo: one colour map and blend for every view."""

from __future__ import annotations

import cv2
import numpy as np

# Colour-blind-safe maps first (perceptually uniform, readable in greyscale); jet stays for comparison with papers.
COLORMAPS: dict[str, int] = {
    "viridis": cv2.COLORMAP_VIRIDIS,
    "cividis": cv2.COLORMAP_CIVIDIS,
    "magma": cv2.COLORMAP_MAGMA,
    "jet": cv2.COLORMAP_JET,
}
DEFAULT_COLORMAP = "viridis"
DISPLAY_SIZE = 224  # every map is shown at this size: a 48-px crop and a 268-px crop read alike
COLORBAR_HEIGHT = 26


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image


def blend(image: np.ndarray, mask: np.ndarray, alpha: float = 0.5, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """The map ``mask`` (values in [0, 1], the image's height and width) coloured and blended over ``image``
    (gray or RGB uint8) with weight ``alpha``: RGB uint8. A plain blend: pytorch-grad-cam's ``show_cam_on_image``
    rescales the result to its maximum, which brightens the photo."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    levels = np.uint8(np.rint(255 * np.clip(mask, 0, 1)))
    heat = cv2.cvtColor(cv2.applyColorMap(levels, colormap_code(colormap)), cv2.COLOR_BGR2RGB)
    return np.rint((1 - alpha) * _rgb(image).astype(np.float32) + alpha * heat.astype(np.float32)).astype(np.uint8)


def overlay_on_crop(
    crop: np.ndarray, cam: np.ndarray, alpha: float = 0.5, colormap: str = DEFAULT_COLORMAP
) -> np.ndarray:
    """The map (any size, values in [0, 1]) resized onto the crop (gray or RGB uint8); RGB uint8 out."""
    h, w = crop.shape[:2]
    return blend(crop, cv2.resize(cam.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR), alpha, colormap)


def overlay_on_photo(
    photo: np.ndarray,
    region: tuple[int, int, int, int],
    cam: np.ndarray,
    alpha: float = 0.5,
    colormap: str = DEFAULT_COLORMAP,
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
    out[y0:y1, x0:x1] = blend(photo[y0:y1, x0:x1], visible, alpha, colormap)
    return out


def colormap_code(name: str) -> int:
    """OpenCV's code for a colormap name of :data:`COLORMAPS`; a clear error lists the known names."""
    try:
        return COLORMAPS[name]
    except KeyError:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}") from None


def cam_display(
    crop: np.ndarray,
    cam: np.ndarray,
    *,
    size: int = DISPLAY_SIZE,
    alpha: float = 0.5,
    colormap: str = DEFAULT_COLORMAP,
    colorbar: bool = True,
) -> np.ndarray:
    """The map over the crop (gray or RGB), both resampled to ``size`` x ``size``, with a colour bar below.

    The crop is resized with area averaging when shrinking and bicubic interpolation when enlarging,
    the map bilinearly (it is smooth; bicubic would overshoot [0, 1]), so every face is shown whole,
    at one size. ``alpha``: the map's weight (0: the crop alone, 1: the map alone). RGB uint8 out,
    ``size`` wide and ``size`` (+ :data:`COLORBAR_HEIGHT` with ``colorbar``) high.
    """
    grow = size > crop.shape[0]
    face = cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC if grow else cv2.INTER_AREA)
    out = overlay_on_crop(face, cam, alpha, colormap)
    return np.concatenate([out, colorbar_image(size, colormap)]) if colorbar else out


def colorbar_image(width: int, colormap: str = DEFAULT_COLORMAP, height: int = COLORBAR_HEIGHT) -> np.ndarray:
    """A horizontal colour bar, low relevance on the left, high on the right, labelled: RGB uint8 (height, width)."""
    ramp = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)[None]
    bar = cv2.cvtColor(cv2.applyColorMap(ramp, colormap_code(colormap)), cv2.COLOR_BGR2RGB)
    out = np.full((height, width, 3), 255, np.uint8)
    out[: height // 2] = bar
    scale, ink = 0.33, (40, 40, 40)
    y = height - 3
    cv2.putText(out, "low", (1, y), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv2.LINE_AA)
    (tw, _), _ = cv2.getTextSize("high relevance", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(out, "high relevance", (width - tw - 1, y), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv2.LINE_AA)
    return out
