"""Example photos for the Analyze tab, made at start-up from the photos scikit-image ships in its wheel.

Both are free to use: ``astronaut`` (Eileen Collins, NASA: public domain) and ``camera`` (CC0, Lav Varshney).
The group photo is composed from ``astronaut``: the photo, a smaller copy and its mirror image, three faces.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

EXAMPLE_NAMES = ("astronaut", "group", "camera")
GROUP_FACES = 3


def group_photo() -> np.ndarray:
    """Three faces side by side, of different sizes, from ``astronaut``: RGB uint8 (512, 1152, 3)."""
    from skimage import data

    photo = data.astronaut()
    h = photo.shape[0]
    small = cv2.resize(photo, (h * 3 // 4, h * 3 // 4), interpolation=cv2.INTER_AREA)
    middle = np.full((h, small.shape[1], 3), 235, np.uint8)
    middle[h // 8 : h // 8 + small.shape[0]] = small
    return np.ascontiguousarray(np.concatenate([photo[:, 64:448], middle, photo[:, ::-1][:, 64:448]], axis=1))


def example_photos(folder: Path) -> list[str]:
    """The example photos written into ``folder`` (the studio's private one), as PNG paths."""
    from PIL import Image
    from skimage import data

    images = {"astronaut": data.astronaut(), "group": group_photo(), "camera": data.camera()}
    paths = []
    for name in EXAMPLE_NAMES:
        path = Path(folder) / f"{name}.png"
        Image.fromarray(images[name]).save(path)
        paths.append(str(path))
    return paths
