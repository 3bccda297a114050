"""Open a clip with OpenCV, check it, and stream the sampled frames one at a time (never the whole clip).

OpenCV's FFmpeg backend reads what its build supports (mp4, avi, webm, mov, mkv here). A file it cannot
open, whose first frame does not decode, or that is longer or larger than the caps becomes a
:class:`VideoError` with a message a person can act on; a file that stops decoding part-way through
(truncated, corrupt tail) ends the stream early and :attr:`SampledFrames.warnings` says where.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer.video.limits import MAX_DURATION_S, MAX_SIDE

__all__ = ["MAX_DURATION_S", "MAX_SIDE", "VideoError", "VideoInfo", "probe", "read_frame"]
FALLBACK_FPS = 25.0  # some containers carry no frame rate; times are then estimates and a warning says so
COUNT_SLACK = 0.02  # a container's frame count is often an estimate (duration x fps): 2% short is not a truncation


class VideoError(ValueError):
    """A clip that cannot be analysed: missing, unreadable, corrupt, unsupported, too long or too large."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a clip."""

    path: str
    fps: float
    frame_count: int | None  # None where the container does not say
    width: int
    height: int

    @property
    def duration_s(self) -> float | None:
        return None if self.frame_count is None else self.frame_count / self.fps


@dataclass(frozen=True)
class Frame:
    """One sampled frame: its index in the clip, its time and its pixels (RGB uint8)."""

    index: int
    time_s: float
    rgb: np.ndarray = field(repr=False)


def _open(path: str | os.PathLike) -> cv2.VideoCapture:
    p = Path(path)
    if not p.is_file():
        raise VideoError(f"no such video file: {p}")
    if p.stat().st_size == 0:
        raise VideoError(f"{p.name} is empty (0 bytes)")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise VideoError(
            f"could not open {p.name} as a video: the file is corrupt or truncated, or its format is one this "
            f"OpenCV {cv2.__version__} build cannot decode (it reads mp4, avi, webm, mov and mkv)"
        )
    return cap


def probe(path: str | os.PathLike) -> VideoInfo:
    """The clip's frame rate, frame count and size, from its header (no frame decoded)."""
    cap = _open(path)
    try:
        return _info(cap, path)
    finally:
        cap.release()


def _info(cap: cv2.VideoCapture, path: str | os.PathLike) -> VideoInfo:
    fps = cap.get(cv2.CAP_PROP_FPS)
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    return VideoInfo(
        path=str(path),
        fps=float(fps) if math.isfinite(fps) and 0 < fps < 1000 else 0.0,
        frame_count=int(count) if math.isfinite(count) and count > 0 else None,
        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )


def check_limits(info: VideoInfo, max_duration_s: float | None, max_side: int | None) -> None:
    """Refuse clips over the caps before decoding anything, saying how to get past them."""
    name = Path(info.path).name
    if max_side is not None and max(info.width, info.height) > max_side:
        raise VideoError(
            f"{name} is {info.width}x{info.height}: larger than the {max_side}-pixel cap on the longer side. "
            "Downscale it (e.g. ffmpeg -vf scale=-2:720) or raise the cap (max_side / --max-side)."
        )
    duration = info.duration_s if info.fps > 0 else None
    if max_duration_s is not None and duration is not None and duration > max_duration_s:
        raise VideoError(
            f"{name} lasts {duration:.0f} s: longer than the {max_duration_s:.0f} s cap. "
            "Trim it or raise the cap (max_duration_s / --max-duration)."
        )


def sample_step(fps: float, every: int | None, per_second: float | None) -> float:
    """Frames between samples: ``every`` frames, or the clip's fps / ``per_second`` (at least 1)."""
    if every is not None:
        if every < 1:
            raise ValueError(f"every must be a positive number of frames, got {every}")
        return float(every)
    if per_second is None or per_second <= 0:
        raise ValueError(f"per_second must be a positive rate, got {per_second}")
    return max(1.0, fps / per_second)


class SampledFrames:
    """Iterates over a clip's sampled frames, decoding only those (the others are grabbed and dropped).

    Use as a context manager or call :meth:`close`. After iteration, ``frames_read`` is the number of
    frames decoded or skipped and ``warnings`` says whether the clip ended early or hit the duration cap.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        every: int | None = None,
        per_second: float | None = 2.0,
        max_duration_s: float | None = MAX_DURATION_S,
        max_side: int | None = MAX_SIDE,
    ) -> None:
        self._cap = _open(path)
        try:
            info = _info(self._cap, path)
            check_limits(info, max_duration_s, max_side)
            self.warnings: list[str] = []
            if info.fps <= 0:
                self.warnings.append(f"the clip states no frame rate: times assume {FALLBACK_FPS:g} frames/s")
                info = VideoInfo(info.path, FALLBACK_FPS, info.frame_count, info.width, info.height)
            self.info = info
            self.step = sample_step(info.fps, every, per_second)
            self.max_duration_s = max_duration_s
            self.frames_read = 0
            ok, first = self._cap.read()
            if not ok or first is None:
                raise VideoError(
                    f"{Path(path).name} opened but no frame could be decoded: the file is corrupt, truncated or "
                    "uses a codec this OpenCV build lacks"
                )
            self._first: np.ndarray | None = first
        except BaseException:
            self._cap.release()
            raise

    @property
    def sample_rate(self) -> float:
        """Sampled frames per second of clip."""
        return self.info.fps / self.step

    @property
    def expected_samples(self) -> int | None:
        if self.info.frame_count is None:
            return None
        return math.ceil(self.info.frame_count / self.step)

    def __iter__(self) -> Iterator[Frame]:
        index, next_sample = 0, 0.0
        while True:
            if index == 0 and self._first is not None:
                ok, bgr = True, self._first
                self._first = None
            elif index + 1e-6 >= next_sample:
                ok, bgr = self._cap.read()
            else:
                ok, bgr = self._cap.grab(), None  # grab: demux + decode, no colour conversion or copy out
            if not ok:
                self._check_end(index)
                return
            time_s = index / self.info.fps
            if self.max_duration_s is not None and time_s > self.max_duration_s:
                self.warnings.append(f"stopped at the {self.max_duration_s:.0f} s cap; the rest was not analysed")
                return
            self.frames_read = index + 1
            if bgr is not None:
                next_sample += self.step
                yield Frame(index, time_s, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1

    def _check_end(self, index: int) -> None:
        count = self.info.frame_count
        if count is not None and index < count * (1 - COUNT_SLACK) - 1:
            self.warnings.append(
                f"decoding stopped at frame {index} of the {count} the header announces "
                f"({index / self.info.fps:.1f} s of {count / self.info.fps:.1f} s): the file looks truncated or "
                "corrupt; results cover the part that decoded"
            )

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> SampledFrames:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_frame(path: str | os.PathLike, index: int) -> np.ndarray:
    """Frame ``index`` of the clip as RGB uint8 (seeks; for showing one sampled frame again)."""
    cap = _open(path)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = cap.read()
        if not ok or bgr is None:
            raise VideoError(f"frame {index} of {Path(path).name} could not be decoded")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
