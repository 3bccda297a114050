"""Find faces in a photo and cut the square grayscale crops the models take.

Detection is OpenCV's bundled frontal-face Haar cascade: no download, no weights file of ours,
about 0.2 s on a 512x512 photo on this machine's CPU. It finds frontal and near-frontal faces,
which is what FER datasets hold; profiles and strongly tilted heads are missed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from fer.preprocess import to_model_input
from fer.registry import InputSpec

CASCADE_FILE = "haarcascade_frontalface_default.xml"
DETECT_MAX_SIDE = 1024  # larger photos are shrunk for detection: the cascade's cost grows with pixels x scales
HAAR_WINDOW = 24  # the frontal cascade's training window: no face smaller than this is found at detection scale

# detectMultiScale settings, the ones OpenCV's own face-detection tutorial uses:
SCALE_FACTOR = 1.1  # image pyramid step: 10% per level; 1.05 finds a few more faces at twice the cost
MIN_NEIGHBORS = 5  # overlapping hits needed to keep a box; lower finds more faces and more false ones


class FaceDetectorUnavailable(RuntimeError):
    """The OpenCV build has no Haar cascades (opencv-python 5.x dropped them; 4.x ships them)."""


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value, so faces compare by identity
class Face:
    """One face in a photo: where it is and the square grayscale crop a model takes."""

    box: tuple[int, int, int, int]  # x, y, w, h in the photo's pixels
    score: float | None  # the cascade's final-stage weight: higher is more face-like, not a probability
    gray: np.ndarray = field(repr=False)  # uint8 (S, S): the box plus margin, squared, edge-padded at borders
    whole_image: bool = False  # True when no face was detected and the whole photo stands in for one
    crop_box: tuple[int, int, int, int] | None = None  # x, y, side, side of ``gray`` in the photo (may pass the border)

    @property
    def region(self) -> tuple[int, int, int, int]:
        """Where ``gray`` lies in the photo (x, y, w, h): where a map of this face is drawn."""
        return self.crop_box or self.box


_local = threading.local()  # CascadeClassifier objects are not safe to share between threads: one per thread


def _cascade() -> cv2.CascadeClassifier:
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        cascade = _local.cascade = _load_cascade()
    return cascade


def _load_cascade() -> cv2.CascadeClassifier:
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not hasattr(cv2, "CascadeClassifier") or folder is None:
        raise FaceDetectorUnavailable(
            f"OpenCV {cv2.__version__} ships no Haar cascades; install opencv-python-headless<5 for face detection"
        )
    path = os.path.join(folder, CASCADE_FILE)
    if not os.path.isfile(path):
        raise FaceDetectorUnavailable(f"the face cascade {path} is missing from OpenCV {cv2.__version__}")
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise FaceDetectorUnavailable(f"OpenCV could not load the face cascade {path}")
    return cascade


def detect_faces(rgb: np.ndarray, *, min_face: int = 24, margin: float = 0.15, max_faces: int = 20) -> list[Face]:
    """Every frontal face in ``rgb`` (uint8 HxWx3 RGB, or HxW gray), largest first, at most ``max_faces``.

    Boxes are in ``rgb``'s pixels. Photos with a side over ``DETECT_MAX_SIDE`` are shrunk for detection
    only, so there the smallest face found is about ``HAAR_WINDOW / scale`` pixels, whatever ``min_face`` says.
    Crops come from the full-resolution photo: the box grown by ``margin`` of its side on every side.
    """
    gray = _to_gray(rgb)
    h, w = gray.shape
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = (
        gray if scale == 1.0 else cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    )
    small = cv2.equalizeHist(small)  # evens out exposure: the Haar features compare brightness of regions
    min_size = max(HAAR_WINDOW, round(min_face * scale))
    boxes, _, weights = _cascade().detectMultiScale3(
        small,
        scaleFactor=SCALE_FACTOR,
        minNeighbors=MIN_NEIGHBORS,
        minSize=(min_size, min_size),
        outputRejectLevels=True,  # gives each box a weight, reported as Face.score
    )
    found = []
    for (bx, by, bw, bh), weight in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1)):
        x0, y0 = max(0, round(bx / scale)), max(0, round(by / scale))
        x1, y1 = min(w, round((bx + bw) / scale)), min(h, round((by + bh) / scale))
        found.append(((x0, y0, x1 - x0, y1 - y0), float(weight)))
    found.sort(key=lambda f: (-f[0][2] * f[0][3], f[0][1], f[0][0]))  # largest first; ties in reading order
    faces = []
    for box, score in found[:max_faces]:
        crop, crop_box = _square_crop(gray, box, margin)
        faces.append(Face(box, score, crop, crop_box=crop_box))
    return faces


def whole_image_face(rgb: np.ndarray) -> Face:
    """The photo's centre square as a face, for when detection finds none and the user wants a prediction anyway."""
    gray = _to_gray(rgb)
    h, w = gray.shape
    side = min(h, w)
    x0, y0 = (w - side) // 2, (h - side) // 2
    crop = np.ascontiguousarray(gray[y0 : y0 + side, x0 : x0 + side])
    return Face((x0, y0, side, side), None, crop, whole_image=True, crop_box=(x0, y0, side, side))


def face_tensor(face: Face, spec: InputSpec, size: int | None = None) -> torch.Tensor:
    """The model input for one face: float (1, C, S, S), resized and normalised as ``spec`` says."""
    return to_model_input(torch.from_numpy(np.ascontiguousarray(face.gray))[None], spec, size)


def _to_gray(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3))):
        raise ValueError(
            f"expected a uint8 RGB (H, W, 3) or gray (H, W) image, got {a.dtype} {a.shape}; "
            "fer.images.load_image converts any image to RGB uint8"
        )
    if a.ndim == 3 and a.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)  # OpenCV refuses negative strides
    return np.ascontiguousarray(a.reshape(a.shape[:2]))


def _square_crop(
    gray: np.ndarray, box: tuple[int, int, int, int], margin: float
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The box grown by ``margin`` per side and squared about its centre; parts past the border repeat the edge."""
    x, y, bw, bh = box
    side = max(1, round(max(bw, bh) * (1 + 2 * margin)))
    x0, y0 = round(x + bw / 2 - side / 2), round(y + bh / 2 - side / 2)
    x1, y1 = x0 + side, y0 + side
    h, w = gray.shape
    inside = gray[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    pads = (max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w))  # top, bottom, left, right
    if any(pads):
        inside = cv2.copyMakeBorder(inside, *pads, borderType=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(inside), (x0, y0, side, side)
