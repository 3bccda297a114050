"""One webcam frame to labelled faces, cheaply enough for video rate on a 2-core CPU.

The cost of a live frame is face detection plus one model without CAMs. Detection dominates at
640x480 (the cascade scans every position at every scale), and a webcam face is large (100-300 px
at arm's length), so the frame is shrunk to ``DETECT_WIDTH`` pixels wide for detection and for the
crops: the smallest face found is then the detector's minimum times the shrink factor (24 px at
320 wide = 48 px in a 640-wide frame), and a 48-px crop still covers ResEmoteNet's 64-px input well
enough; boxes are scaled back to the frame's pixels. Faces under ``LIVE_MIN_FACE`` frame pixels are
not looked for: the cascade's smallest windows need the largest levels of its image pyramid, which
are most of its cost. bench/live_webcam.py measures frames/s.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from fer.faces import detect_faces, largest_faces
from fer.inference import Analyzer, FaceResult

DETECT_WIDTH = 320  # frames wider than this are shrunk to it for detection and crops
LIVE_MIN_FACE = 80  # frame pixels; a face at arm's length from a 640x480 webcam is 100-300 px
LIVE_MODEL = "resemotenet"  # the cheapest of the four (0.34 GMACs at 64x64): video rate on 2 cores


def analyze_frame(
    analyzer: Analyzer,
    rgb: np.ndarray,
    model: str = LIVE_MODEL,
    detect_width: int | None = DETECT_WIDTH,
    min_face: int = LIVE_MIN_FACE,
    max_faces: int | None = None,
) -> list[FaceResult]:
    """The faces in one RGB video frame read by ``model`` without CAMs; boxes in the frame's pixels.

    ``detect_width=None`` detects at full resolution; with ``min_face=MIN_FACE`` too, it is what the photo
    path does (slower; for comparison). ``max_faces`` keeps that many faces (the largest), to bound a
    crowded frame's cost.
    """
    h, w = rgb.shape[:2]
    scale = 1.0 if detect_width is None else min(1.0, detect_width / w)
    small = rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    faces = detect_faces(small, min_face=max(1, round(min_face * scale)))
    if max_faces is not None:
        faces = largest_faces(faces, max_faces)
    results = analyzer.analyze_faces(faces, [model], cam=None)
    if scale == 1.0:
        return results
    return [dataclasses.replace(r, box=tuple(round(v / scale) for v in r.box)) for r in results]
