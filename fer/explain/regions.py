"""Facial regions from five landmarks, and how much of a map falls in each: "looks at the mouth 2.4x more than chance".

The regions are drawn in the face's own frame, so they follow a tilted head on an unaligned crop too:
``d`` is the distance between the eye centres, ``u`` runs along the eye line (left eye to right eye) and
``v`` perpendicular to it, downwards, both measured from the eye midpoint in units of ``d``.

- **eyes**: an ellipse around each eye centre, half-axes 0.35 d along the eye line and 0.2 d across
  (an eye is about half as wide as the distance between the pupils; the margin keeps the lids).
- **brows**: a band above each eye, 0.4 d either side of the eye centre, from 0.55 d to 0.2 d above the
  eye line (where the brows sit on adult faces and on ``fer.data.synthetic``'s drawn ones).
- **nose**: a trapezoid from the eye line down to 0.1 d below the nose tip, 0.15 d either side of the
  nose at the top, widening to 0.3 d at the bottom (nostrils).
- **mouth**: an ellipse around the mouth corners' midpoint, half-axes half the corner-to-corner width
  plus 0.15 d along the eye line, and 0.3 d across (lips, an open mouth, the chin crease above it).
- **rest**: every other pixel of the crop: cheeks, forehead, chin, hair and background.

Where two regions overlap, the first of eyes, brows, mouth, nose keeps the pixel, so the regions
partition the crop and the shares of a map over them (``rest`` included) sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from fer.faces import Face

REGIONS = ("brows", "eyes", "nose", "mouth")  # shown in this order, top of the face to bottom
REST = "rest"
ALL_REGIONS = (*REGIONS, REST)
_PRIORITY = ("eyes", "brows", "mouth", "nose")  # who keeps a pixel two regions share

EYE_HALF_U, EYE_HALF_V = 0.35, 0.2
BROW_HALF_U, BROW_TOP_V, BROW_BOTTOM_V = 0.4, -0.55, -0.2
NOSE_HALF_TOP, NOSE_HALF_BOTTOM, NOSE_BELOW_TIP = 0.15, 0.3, 0.1
MOUTH_MARGIN_U, MOUTH_HALF_V = 0.15, 0.3


def region_masks(landmarks: np.ndarray, size: int | tuple[int, int]) -> dict[str, np.ndarray]:
    """Boolean masks (H, W) of each region and ``rest``, a partition of the image.

    ``landmarks``: float (5, 2) x, y in the image's pixels (pixel centres at integers), in
    ``fer.faces.LANDMARKS`` order: left eye, right eye, nose, mouth left, mouth right.
    """
    h, w = (size, size) if isinstance(size, int) else size
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left_eye, right_eye, nose, mouth_left, mouth_right = pts
    d = max(float(np.hypot(*(right_eye - left_eye))), 1e-6)
    along = (right_eye - left_eye) / d
    down = np.array([-along[1], along[0]])  # the eye line turned by +90 degrees: image y grows downwards
    origin = (left_eye + right_eye) / 2

    def frame(p: np.ndarray) -> tuple[float, float]:
        return float((p - origin) @ along / d), float((p - origin) @ down / d)

    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    u = ((xs - origin[0]) * along[0] + (ys - origin[1]) * along[1]) / d
    v = ((xs - origin[0]) * down[0] + (ys - origin[1]) * down[1]) / d

    eyes = np.zeros((h, w), dtype=bool)
    brows = np.zeros((h, w), dtype=bool)
    for eye in (left_eye, right_eye):
        eu, ev = frame(eye)
        eyes |= ((u - eu) / EYE_HALF_U) ** 2 + ((v - ev) / EYE_HALF_V) ** 2 <= 1
        brows |= (np.abs(u - eu) <= BROW_HALF_U) & (v >= ev + BROW_TOP_V) & (v <= ev + BROW_BOTTOM_V)

    nu, nv = frame(nose)
    bottom = max(nv + NOSE_BELOW_TIP, 1e-6)
    t = np.clip(v / bottom, 0, 1)  # 0 at the eye line, 1 at the nose's lower edge
    nose_mask = (
        (v >= 0) & (v <= bottom) & (np.abs(u - nu * t) <= NOSE_HALF_TOP + (NOSE_HALF_BOTTOM - NOSE_HALF_TOP) * t)
    )

    mu, mv = frame((mouth_left + mouth_right) / 2)
    half_width = float(np.hypot(*(mouth_right - mouth_left))) / d / 2 + MOUTH_MARGIN_U
    mouth = ((u - mu) / half_width) ** 2 + ((v - mv) / MOUTH_HALF_V) ** 2 <= 1

    drawn = {"eyes": eyes, "brows": brows, "mouth": mouth, "nose": nose_mask}
    taken = np.zeros((h, w), dtype=bool)
    masks: dict[str, np.ndarray] = {}
    for name in _PRIORITY:
        masks[name] = drawn[name] & ~taken
        taken |= masks[name]
    masks[REST] = ~taken
    return {name: masks[name] for name in ALL_REGIONS}


def scale_points(points: np.ndarray, from_side: int, to_side: int) -> np.ndarray:
    """Pixel coordinates (centres at integers) of a square image of ``from_side`` on the same image resized."""
    return (np.asarray(points, dtype=np.float64) + 0.5) * (to_side / from_side) - 0.5


def face_region_masks(face: Face, size: int) -> dict[str, np.ndarray] | None:
    """The region masks of a face's crop resized to ``size`` (a model's input); None for a face without landmarks."""
    points = face.crop_landmarks
    if points is None:
        return None
    return region_masks(scale_points(points, face.gray.shape[0], size), size)


@dataclass(frozen=True)
class RegionShares:
    """How a map's mass splits over the regions: its share, each region's share of the area, and their ratio."""

    shares: dict[str, float]  # region -> share of the map's mass; sums to 1 over ALL_REGIONS
    areas: dict[str, float]  # region -> share of the image's pixels
    lift: dict[str, float]  # share / area: 2.4 means 2.4x more of the map than a uniform map would put there


def region_shares(cam: np.ndarray, masks: dict[str, np.ndarray]) -> RegionShares:
    """The share of ``cam``'s mass (non-negative, (H, W)) in each mask. A map of zeros counts as uniform."""
    cam = np.clip(np.asarray(cam, dtype=np.float64), 0, None)
    first = next(iter(masks.values()))
    if cam.shape != first.shape:
        raise ValueError(f"the map is {cam.shape} but the masks are {first.shape}")
    total = cam.sum()
    if total <= 0:  # no evidence anywhere: nothing to attribute, so no region is favoured
        cam, total = np.ones_like(cam), float(cam.size)
    shares = {name: float(cam[mask].sum() / total) for name, mask in masks.items()}
    areas = {name: float(mask.mean()) for name, mask in masks.items()}
    ratios = lift([shares[name] for name in masks], [areas[name] for name in masks])
    return RegionShares(shares=shares, areas=areas, lift=dict(zip(masks, ratios.tolist())))


def lift(shares: ArrayLike, areas: ArrayLike) -> np.ndarray:
    """``shares / areas`` elementwise (broadcast): how many times a uniform map's mass a region gets; 0 where a
    region has no pixels (its share is 0 too)."""
    shares, areas = np.asarray(shares, dtype=np.float64), np.asarray(areas, dtype=np.float64)
    return np.divide(shares, areas, out=np.zeros(np.broadcast_shapes(shares.shape, areas.shape)), where=areas > 0)
