"""A clip with known faces, made on the spot: scikit-image's public-domain ``astronaut`` face moving across
a plain background (for tests, the benchmark and the app's example; nothing is shipped or downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

FACE_CROP = (147, 10, 200, 200)  # x, y, w, h of a square around the astronaut's face in the 512x512 photo


def _face_tile(side: int, mirrored: bool) -> np.ndarray:
    from skimage import data

    x, y, w, h = FACE_CROP
    tile = data.astronaut()[y : y + h, x : x + w]
    tile = cv2.resize(tile, (side, side), interpolation=cv2.INTER_AREA)
    return tile[:, ::-1] if mirrored else tile


def face_positions(time_s: float, size: tuple[int, int], faces: int, speed: float = 0.3) -> list[tuple[int, int, int]]:
    """(x, y, side) of each face tile at ``time_s``: face k in its own horizontal lane, moving ``speed`` of its
    side per second, alternate lanes in opposite directions, bouncing at the edges."""
    width, height = size
    side = min(height // max(faces, 1) - 8, width // 3)
    travel = max(width - side, 1)
    lane = height / max(faces, 1)
    out = []
    for k in range(faces):
        along = (time_s * speed * side + (travel if k % 2 else 0)) % (2 * travel)
        x = round(along if along <= travel else 2 * travel - along)  # a triangle wave: there and back
        y = round(lane * k + (lane - side) / 2)
        out.append((x, y, side))
    return out


def write_demo_clip(
    path: str | os.PathLike,
    seconds: float = 3.0,
    fps: float = 10.0,
    size: tuple[int, int] = (320, 240),
    faces: int = 2,
    fourcc: str = "mp4v",
    speed: float = 0.3,
) -> Path:
    """Writes a clip of ``faces`` faces moving across the frame (``size`` = width, height); returns its path."""
    n_frames = max(1, round(seconds * fps))
    width, height = size
    positions = [face_positions(i / fps, size, faces, speed) for i in range(n_frames)]
    side = positions[0][0][2] if faces else 0
    tiles = [_face_tile(side, mirrored=k % 2 == 1) for k in range(faces)] if faces else []
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {fourcc} to {path}")
    try:
        for i in range(n_frames):
            frame = np.full((height, width, 3), 96, np.uint8)
            for tile, (x, y, s) in zip(tiles, positions[i]):
                frame[y : y + s, x : x + s] = tile
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return Path(path)
