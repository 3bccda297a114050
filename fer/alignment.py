"""Aligned face crops from five landmarks: eyes level, scaled and centred by the eye-to-mouth geometry.

The target geometry is FER2013's own: on 365 PublicTest faces MTCNN put the eye midpoint at a median 0.37
of the crop's height, the mouth midpoint at 0.77 and both at 0.50 across, so an aligned crop looks like
the crops the models were trained on. The eye-to-mouth distance sets the scale because it changes little
when the head turns left or right (the distance between the eyes shrinks then).
"""

from __future__ import annotations

import cv2
import numpy as np

EYE_Y, MOUTH_Y = 0.37, 0.77  # eye and mouth midpoints, as fractions of the crop side (FER2013 medians)
CENTRE_X = 0.5
MIN_SIDE = 16


def alignment_matrix(landmarks: np.ndarray, side: int) -> np.ndarray:
    """The 2x3 affine map from photo pixels to a ``side`` x ``side`` aligned crop, for five landmarks (5, 2)."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left_eye, right_eye = pts[0], pts[1]
    eyes, mouth = (left_eye + right_eye) / 2, (pts[3] + pts[4]) / 2
    dx, dy = right_eye - left_eye
    angle = np.arctan2(dy, dx)  # the eye line's tilt: rotating by -angle levels it
    distance = max(float(np.hypot(*(mouth - eyes))), 1e-6)
    scale = side * (MOUTH_Y - EYE_Y) / distance
    cos, sin = np.cos(-angle) * scale, np.sin(-angle) * scale
    rotate = np.array([[cos, -sin], [sin, cos]])
    centre = (eyes + mouth) / 2  # lands halfway between the eye and mouth rows, in the middle across
    target = np.array([CENTRE_X * side, (EYE_Y + MOUTH_Y) / 2 * side])
    return np.column_stack([rotate, target - rotate @ centre])


def native_side(landmarks: np.ndarray) -> int:
    """The crop side that keeps the photo's resolution: the eye-to-mouth distance over its share of the crop."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    distance = float(np.hypot(*((pts[3] + pts[4]) / 2 - (pts[0] + pts[1]) / 2)))
    return max(MIN_SIDE, round(distance / (MOUTH_Y - EYE_Y)))


def aligned_crop(gray: np.ndarray, landmarks: np.ndarray, max_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The aligned square crop of ``gray`` (uint8 H x W) and its photo-to-crop matrix (2x3).

    The crop keeps the photo's resolution (as unaligned crops do), or is shrunk to ``max_side``.
    Parts past the photo's border repeat its edge, as the unaligned crops do.
    """
    side = native_side(landmarks)
    matrix = alignment_matrix(landmarks, side)
    crop = cv2.warpAffine(gray, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if max_side is not None and side > max_side:  # warp at native scale, then shrink with area averaging: no aliasing
        crop = cv2.resize(crop, (max_side, max_side), interpolation=cv2.INTER_AREA)
        matrix = matrix * (max_side / side)
    return np.ascontiguousarray(crop), matrix


def map_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) mapped through the 2x3 affine ``matrix``."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
