"""The overlay video: each sampled frame with its face boxes, ids, every model's label and optionally one CAM.

Codec choice (measured on this OpenCV 4.14 build, 640x480): H.264 (avc1) cannot be written (the build
only has a hardware encoder that finds no device); MPEG-4 Part 2 (mp4v) writes fast (3 ms/frame) but
browsers do not play it; VP8 in WebM writes at 24 ms/frame and plays in Chromium and Firefox. So the
default is VP8 WebM, ``overlay.webm``, with mp4v ``overlay.mp4`` for desktop players on request. Only the
sampled frames are written, at the sampling rate: the video lasts as long as the clip, every frame shows
exactly what was analysed, and encoding stays a small part of the run (all 900 frames of a 30 s clip in
VP8 would take about 22 s alone).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from fer.explain.overlay import overlay_on_photo
from fer.video.reader import VideoError

CODECS = {"webm": ("VP80", ".webm"), "mp4": ("mp4v", ".mp4")}
COLORS = [(255, 200, 0), (0, 200, 255), (255, 80, 180), (120, 255, 80), (255, 255, 255), (180, 120, 255)]


def color_of(face_id: int) -> tuple[int, int, int]:
    """A colour per face id (RGB), the same in the overlay and the app."""
    return COLORS[(face_id - 1) % len(COLORS)]


def draw_face(
    rgb: np.ndarray,
    face_id: int,
    box: Sequence[int],
    labels: Sequence[str],
    cam: np.ndarray | None = None,
    region: Sequence[int] | None = None,
) -> None:
    """Draws in place: the CAM over ``region`` (the crop the model saw), the box, '#id' and one label per line."""
    if cam is not None and region is not None:
        rgb[:] = overlay_on_photo(rgb, tuple(region), cam, alpha=0.4)
    x, y, w, h = (int(v) for v in box)
    color = color_of(face_id)
    thick = max(1, round(max(rgb.shape[:2]) / 400))
    scale = max(0.4, min(0.8, w / 200))
    cv2.rectangle(rgb, (x, y), (x + w, y + h), color, thick + 1)
    lines = [f"#{face_id}", *labels]
    line_h = int(22 * scale) + 4
    top = y - line_h * len(lines) if y - line_h * len(lines) >= 0 else y + h + 4  # above the box, else below
    for i, text in enumerate(lines):
        width = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick + 2)[0][0]
        org = (max(0, min(x, rgb.shape[1] - width)), top + line_h * (i + 1) - 4)  # kept inside the frame
        cv2.putText(rgb, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(rgb, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


class OverlayWriter:
    """Writes RGB frames to ``<stem>.webm`` (VP8) or ``<stem>.mp4`` (mp4v) at ``fps``."""

    def __init__(self, out_dir: str | os.PathLike, size: tuple[int, int], fps: float, fmt: str = "webm") -> None:
        if fmt not in CODECS:
            raise ValueError(f"unknown overlay format {fmt!r}; choose one of {', '.join(CODECS)}")
        fourcc, suffix = CODECS[fmt]
        self.path = Path(out_dir) / f"overlay{suffix}"
        self.frames = 0
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*fourcc), max(fps, 0.1), size)
        if not self._writer.isOpened():
            raise VideoError(f"this OpenCV {cv2.__version__} build cannot write {fourcc} video to {self.path}")
        self.size = size

    def write(self, rgb: np.ndarray) -> None:
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        self._writer.release()
