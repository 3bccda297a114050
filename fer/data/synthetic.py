"""Drawn gray faces whose class lives only in one region (the mouth, or the eyes): ground truth for CAM tests.

Everything outside ``region_box`` (head, background, the other features, shifts, brightness, noise) is drawn
from the random generator independently of the label, and the class-dependent strokes are clipped to the box,
so a model can only learn from the box and a faithful explanation must point there.
"""

from __future__ import annotations

import numpy as np

from fer.data.faceset import FaceSet
from fer.labels import default_class_names

REGIONS = ("mouth", "eyes")
MAX_SHIFT = 0.04  # face shift, fraction of the image side (2 px at 48)
_CHUNK = 512  # faces drawn per vectorised batch: bounds memory for large n or size

# Geometry in fractions of the image side, before the per-face shift.
_EYE_X, _EYE_Y, _EYE_RX, _EYE_RY = (0.35, 0.65), 0.40, 0.075, 0.04
_BROW_DY, _BROW_HALF, _BROW_SLOPE = 0.085, 0.08, 0.03
_MOUTH_X, _MOUTH_Y = 0.5, 0.74
_NOSE_TOP, _NOSE_END = 0.47, 0.57
_THICK = 0.018  # half thickness of a stroke

# Mouth per class: (curve, opening, half width, tilt). curve > 0 smiles (corners up), opening draws a dark
# cavity, tilt raises one corner (contempt). Rows 0..7 follow our class order; the rest only for num_classes > 8.
_MOUTHS = np.array(
    [
        [-0.030, 0.000, 0.15, 0.000],  # angry: tight, slightly down
        [-0.045, 0.025, 0.10, 0.000],  # disgust: narrow, down, a little open
        [-0.015, 0.050, 0.16, 0.000],  # fear: wide and open
        [0.060, 0.000, 0.17, 0.000],  # happy: wide smile
        [-0.060, 0.000, 0.12, 0.000],  # sad: strong frown
        [0.000, 0.060, 0.07, 0.000],  # surprise: round O
        [0.000, 0.000, 0.13, 0.000],  # neutral: straight line
        [0.015, 0.000, 0.13, 0.040],  # contempt: one corner up
        [0.060, 0.045, 0.17, 0.000],
        [0.000, 0.000, 0.06, 0.000],
        [0.000, 0.030, 0.17, 0.000],
    ]
)
# Eyes per class: (eye openness factor, brow slope factor, brow lift). Slope > 0 lowers the inner ends (anger).
_EYES = np.array(
    [
        [0.6, 1.0, 0.000],
        [0.4, 0.5, -0.010],
        [1.5, -1.0, 0.020],
        [0.5, 0.0, 0.000],
        [1.0, -1.0, 0.000],
        [1.6, 0.0, 0.025],
        [1.0, 0.0, 0.000],
        [1.0, 0.5, 0.010],
        [0.4, -0.5, 0.000],
        [1.6, 1.0, 0.000],
        [0.6, 0.0, 0.025],
    ]
)
_NEUTRAL_MOUTH, _NEUTRAL_EYES = _MOUTHS[6], _EYES[6]
MAX_CLASSES = len(_MOUTHS)


def region_box(size: int, region: str = "mouth") -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive pixel box ``image[y0:y1, x0:x1]`` that holds all of ``region``'s drawing."""
    px = 1.0 / size
    margin = MAX_SHIFT + _THICK + 1.5 * px
    if region == "mouth":
        curve, opening, half_w, tilt = np.abs(_MOUTHS).T
        half_h = (curve * 2 / 3 + opening + tilt).max()
        box = (_MOUTH_X - half_w.max(), _MOUTH_Y - half_h, _MOUTH_X + half_w.max(), _MOUTH_Y + half_h)
    elif region == "eyes":
        open_max, slope_max, lift_max = np.abs(_EYES).max(axis=0)
        top = _EYE_Y - _BROW_DY - lift_max - slope_max * _BROW_SLOPE
        bottom = _EYE_Y + _EYE_RY * open_max
        box = (_EYE_X[0] - max(_EYE_RX, _BROW_HALF), top, _EYE_X[1] + max(_EYE_RX, _BROW_HALF), bottom)
    else:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    lo = [max(0, int(np.floor((t - margin) * size))) for t in box[:2]]
    hi = [min(size, int(np.ceil((t + margin) * size))) for t in box[2:]]
    return lo[0], lo[1], hi[0], hi[1]


def mouth_box(size: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive: where ``make_synthetic_faces(region="mouth")`` puts the class signal."""
    return region_box(size, "mouth")


def make_synthetic_faces(
    n: int,
    *,
    size: int = 48,
    num_classes: int = 7,
    seed: int = 0,
    split: str = "train",
    region: str = "mouth",
) -> FaceSet:
    """``n`` drawn faces, classes balanced (counts differ by at most one), deterministic for ``seed``.

    The class sets the mouth's shape (``region="mouth"``) or the eyes' opening and brows (``"eyes"``);
    head position, size, brightness, contrast, background and noise are random and label-independent.
    """
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in 1..{MAX_CLASSES}, got {num_classes}")
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    images, labels, _ = _generate(n, size, num_classes, seed, region)
    return FaceSet(
        images=images,
        labels=labels,
        ids=np.asarray([f"synthetic:{split}:{i}" for i in range(n)]),
        class_names=default_class_names(num_classes),
        name="synthetic",
        split=split,
        source=f"make_synthetic_faces(seed={seed}, region={region})",
    )


def synthetic_landmarks(
    n: int, *, size: int = 48, num_classes: int = 7, seed: int = 0, region: str = "mouth"
) -> np.ndarray:
    """The five landmarks of the faces ``make_synthetic_faces`` draws with the same arguments: float (n, 5, 2).

    x, y in pixels (pixel centres at integers), in ``fer.faces.LANDMARKS`` order: the eye centres (left,
    right as seen), the nose stroke's lower end, and the mouth stroke's two ends. Ground truth for detectors.
    """
    _, labels, shifts = _generate(n, size, num_classes, seed, region)
    mouth = _MOUTHS[labels] if region == "mouth" else np.tile(_NEUTRAL_MOUTH, (n, 1))
    curve, _, half_w, tilt = mouth.T
    dx, dy = shifts[:, 0], shifts[:, 1]
    mouth_y = _MOUTH_Y + dy - curve * 2 / 3  # the stroke's centre line at its ends (a = +-1)
    points = np.stack(
        [
            np.stack([np.full(n, _EYE_X[0]) + dx, np.full(n, _EYE_Y) + dy], -1),
            np.stack([np.full(n, _EYE_X[1]) + dx, np.full(n, _EYE_Y) + dy], -1),
            np.stack([np.full(n, 0.5) + dx, np.full(n, _NOSE_END) + dy], -1),
            np.stack([_MOUTH_X + dx - half_w, mouth_y - tilt], -1),
            np.stack([_MOUTH_X + dx + half_w, mouth_y + tilt], -1),
        ],
        axis=1,
    )
    return points * size - 0.5


def _generate(n: int, size: int, num_classes: int, seed: int, region: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images, labels and each face's shift (n, 2) as fractions of the side, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % num_classes).astype(np.int64)
    images = np.empty((n, size, size), dtype=np.uint8)
    shifts = np.empty((n, 2), dtype=np.float64)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        # _draw's first two draws are the shifts: read them from a copy of the generator.
        probe = np.random.default_rng()
        probe.bit_generator.state = rng.bit_generator.state
        shifts[start:stop, 0] = probe.uniform(-MAX_SHIFT, MAX_SHIFT, stop - start).astype(np.float32)
        shifts[start:stop, 1] = probe.uniform(-MAX_SHIFT, MAX_SHIFT, stop - start).astype(np.float32)
        images[start:stop] = _draw(labels[start:stop], size, region, rng)
    return images, labels, shifts


def _draw(labels: np.ndarray, size: int, region: str, rng: np.random.Generator) -> np.ndarray:
    m = len(labels)

    def col(a: np.ndarray) -> np.ndarray:  # one value per face, broadcastable over (m, H, W)
        return np.asarray(a, dtype=np.float32).reshape(m, 1, 1)

    # Label-independent nuisances, drawn before looking at the labels.
    dx, dy = col(rng.uniform(-MAX_SHIFT, MAX_SHIFT, m)), col(rng.uniform(-MAX_SHIFT, MAX_SHIFT, m))
    head_rx, head_ry = col(rng.uniform(0.33, 0.38, m)), col(rng.uniform(0.42, 0.46, m))
    skin, background = col(rng.uniform(130, 190, m)), col(rng.uniform(20, 90, m))
    gain, offset = col(rng.uniform(0.85, 1.15, m)), col(rng.uniform(-15, 15, m))
    noise = rng.normal(0.0, 5.0, (m, size, size)).astype(np.float32)

    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    u, v, px = grid.reshape(1, 1, size), grid.reshape(1, size, 1), 1.0 / size
    dark = skin * 0.25
    img = np.broadcast_to(background, (m, size, size)).copy()
    img = _paint(img, skin, _ellipse(u, v, 0.5 + dx, 0.5 + dy, head_rx, head_ry, px))
    # Nose: a short vertical stroke, never inside either class box.
    nose = np.clip((0.012 - np.abs(u - 0.5 - dx)) / px + 0.5, 0, 1) * ((v > _NOSE_TOP + dy) & (v < _NOSE_END + dy))
    img = _paint(img, skin * 0.7, nose)

    mouth = _MOUTHS[labels] if region == "mouth" else np.tile(_NEUTRAL_MOUTH, (m, 1))
    eyes = _EYES[labels] if region == "eyes" else np.tile(_NEUTRAL_EYES, (m, 1))
    eye_ink = np.zeros_like(img)
    for side, x in zip((-1.0, 1.0), _EYE_X):
        ex, ey = x + dx, _EYE_Y + dy
        eye_ink = np.maximum(eye_ink, _ellipse(u, v, ex, ey, _EYE_RX, _EYE_RY * col(eyes[:, 0]), px))
        # Brow: slope > 0 lowers the inner end (towards the nose) on both sides.
        brow_y = ey - _BROW_DY - col(eyes[:, 2])
        slope = -side * _BROW_SLOPE * col(eyes[:, 1])
        eye_ink = np.maximum(eye_ink, _stroke(u, v, ex, brow_y, _BROW_HALF, 0.0, slope, 0.0, px))
    curve, opening, half_w, tilt = (col(mouth[:, k]) for k in range(4))
    mouth_ink = _stroke(u, v, _MOUTH_X + dx, _MOUTH_Y + dy, half_w, curve, tilt, opening, px)
    # Clip the class-carrying strokes to their box: outside it, no pixel can depend on the label.
    for ink, name in ((mouth_ink, "mouth"), (eye_ink, "eyes")):
        if name == region:
            x0, y0, x1, y1 = region_box(size, region)
            clipped = np.zeros_like(ink)
            clipped[:, y0:y1, x0:x1] = ink[:, y0:y1, x0:x1]
            ink[...] = clipped
        img = _paint(img, dark, ink)
    out = img * gain + offset + noise
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _paint(img: np.ndarray, value: np.ndarray, ink: np.ndarray) -> np.ndarray:
    return img + (value - img) * ink


def _ellipse(
    u: np.ndarray, v: np.ndarray, cx: np.ndarray, cy: np.ndarray, rx: np.ndarray, ry: np.ndarray, px: float
) -> np.ndarray:
    """Coverage in 0..1 of a filled ellipse, with a one-pixel soft edge."""
    r = np.sqrt(((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2)
    return np.clip((1.0 - r) * np.minimum(rx, ry) / px + 0.5, 0.0, 1.0)


def _stroke(
    u: np.ndarray,
    v: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    half_w: np.ndarray,
    curve: np.ndarray | float,
    tilt: np.ndarray,
    opening: np.ndarray | float,
    px: float,
) -> np.ndarray:
    """Coverage of a curved stroke over x in cx +- half_w: y = cy - curve (a^2 - 1/3) + tilt a, with a in [-1, 1].

    ``opening`` fills a lens-shaped cavity of that half height around the line (an open mouth).
    """
    a = (u - cx) / half_w
    centre = cy - curve * (a * a - 1.0 / 3.0) + tilt * a
    dist = np.abs(v - centre) - opening * np.sqrt(np.clip(1.0 - a * a, 0.0, None))
    ink = np.clip((_THICK - dist) / px + 0.5, 0.0, 1.0)
    ends = np.clip((1.0 - np.abs(a)) * half_w / px + 0.5, 0.0, 1.0)
    return ink * ends
