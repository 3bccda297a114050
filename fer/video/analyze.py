"""``fer.analyze_video``: a clip in; a timeline CSV, an overlay video and a per-face summary out.

Frames are streamed (a few sampled frames in memory at a time, never the clip), faces are detected on each
sampled frame and tracked by IoU, the chosen models read the faces of a few frames at once, and rows go to
disk as they are made.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from fer.atomic import atomic_write
from fer.faces import Face
from fer.inference import Analyzer, FaceResult, default_analyzer
from fer.registry import list_models
from fer.video.overlay import OverlayWriter, draw_face
from fer.video.reader import MAX_DURATION_S, MAX_SIDE, Frame, SampledFrames, read_frame
from fer.video.timeline import SummaryBuilder, TimelineWriter, read_timeline
from fer.video.tracker import Box, IoUTracker, Track, iou_matrix

TIMELINE_FILE = "timeline.csv"
SUMMARY_FILE = "summary.json"
BATCH_FACES = 16  # faces gathered over successive frames before the models run on them together
MAX_PENDING_FRAMES = 16  # ...or this many frames held (faceless frames still need their overlay written)
MAX_PENDING_BYTES = 64 * 2**20  # ...or this many bytes of frames (10 frames of 1080p), whichever comes first
Progress = Callable[[int, int | None], None]  # (frames done, frames in the clip or None)


@dataclass(frozen=True)
class VideoResult:
    """Where the outputs are and what the run found. The timeline itself stays on disk: see :meth:`timeline`."""

    out_dir: Path
    timeline_csv: Path
    summary_json: Path
    overlay: Path | None
    summary: dict[str, Any] = field(repr=False)
    models: list[str]
    samples: int  # sampled frames analysed
    rows: int  # timeline rows: samples x faces x models
    tracks: list[Track]
    warnings: list[str]

    def timeline(self) -> pd.DataFrame:
        return read_timeline(self.timeline_csv)


def analyze_video(
    path: str | os.PathLike,
    models: Sequence[str] | None = None,
    *,
    every: int | None = None,
    per_second: float | None = 2.0,
    out: str | os.PathLike | None = None,
    cam_model: str | None = None,
    cam: str = "gradcam",
    overlay: str | None = "webm",
    max_duration_s: float | None = MAX_DURATION_S,
    max_side: int | None = MAX_SIDE,
    min_iou: float = 0.3,
    max_jump: float = 1.0,
    analyzer: Analyzer | None = None,
    progress: Progress | None = None,
) -> VideoResult:
    """Emotions over time for every face in the clip at ``path``, read by ``models`` (None: all four).

    Samples every ``every``-th frame, else ``per_second`` frames per second of clip. Writes to ``out``
    (default: a new temporary folder) ``timeline.csv`` (time_s, frame, face_id, model, top, one column per
    class probability, the box), ``summary.json`` (per face: share of time per emotion per model, and where
    the models disagree) and, unless ``overlay`` is None, ``overlay.webm`` (VP8, plays in browsers) or
    ``overlay.mp4`` (``overlay="mp4"``, mp4v) with boxes, ids, labels and the ``cam`` map of ``cam_model``.

    Raises :class:`fer.video.VideoError` for a missing, corrupt or unsupported file and for clips over
    ``max_duration_s`` or with a side over ``max_side`` (None lifts a cap). A clip that stops decoding
    part-way is analysed up to there and ``warnings`` says so. ``progress(frames_done, frames_total)`` is
    called after each batch of sampled frames (up to ``MAX_PENDING_FRAMES``) is written.
    Tracking: :class:`fer.video.IoUTracker` with ``min_iou`` and ``max_jump``.
    """
    names = list(models) if models is not None else list_models()
    if not names:
        raise ValueError("choose at least one model")
    if cam_model is not None and cam_model not in names:
        raise ValueError(f"cam_model {cam_model!r} is not among the models analysed ({', '.join(names)})")
    analyzer = analyzer or default_analyzer()
    loaded = {name: analyzer.zoo.get(name) for name in names}  # unknown names fail here, before any decoding
    classes = list(dict.fromkeys(c for m in loaded.values() for c in m.class_names))
    out_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="fer-video-"))

    with SampledFrames(
        path, every=every, per_second=per_second, max_duration_s=max_duration_s, max_side=max_side
    ) as frames:
        out_dir.mkdir(parents=True, exist_ok=True)
        info = frames.info
        tracker = IoUTracker(min_iou=min_iou, max_jump=max_jump)
        summary = SummaryBuilder(names, 1 / frames.sample_rate)
        timeline = TimelineWriter(out_dir / TIMELINE_FILE, classes)
        video = OverlayWriter(out_dir, (info.width, info.height), frames.sample_rate, overlay) if overlay else None
        pending: list[tuple[Frame, list[int], list[Face]]] = []

        def flush() -> None:
            # All faces of the pending frames go through each model in one batch: resemotenet's 80 M
            # weights are read once per batch, not once per frame (4x fewer ms per face at 16 than at 2).
            results = iter(_read_faces(analyzer, [f for _, _, faces in pending for f in faces], names, cam_model, cam))
            for frame, ids, faces in pending:
                canvas = frame.rgb.copy() if video else None
                for face_id, result in sorted(zip(ids, [next(results) for _ in faces]), key=lambda pair: pair[0]):
                    for name, r in result.models.items():
                        timeline.write(frame.time_s, frame.index, face_id, name, r.probs, r.top, result.box)
                    summary.add(frame.time_s, face_id, {name: r.top for name, r in result.models.items()})
                    if canvas is not None:
                        _draw(canvas, face_id, result, cam_model)
                if video is not None:
                    video.write(canvas)
            timeline.flush()
            pending.clear()
            if progress is not None:
                progress(frames.frames_read, info.frame_count)

        samples = 0
        try:
            for frame in frames:
                _, faces = analyzer.faces(frame.rgb)
                ids = tracker.update([face.box for face in faces], frame.time_s)
                pending.append((frame, ids, faces))
                samples += 1
                held = sum(f.rgb.nbytes for f, _, _ in pending)
                n_faces = sum(len(f) for _, _, f in pending)
                if n_faces >= BATCH_FACES or len(pending) >= MAX_PENDING_FRAMES or held >= MAX_PENDING_BYTES:
                    flush()
            if pending:
                flush()
        finally:
            timeline.close()
            if video is not None:
                video.close()
        warnings = list(frames.warnings)

    tracks = tracker.tracks()
    report = summary.build()
    report.update(
        source={"path": str(path), "fps": info.fps, "frames": info.frame_count, "size": [info.width, info.height]},
        sample_rate=round(frames.sample_rate, 4),
        samples=samples,
        rows=timeline.rows,
        classes=classes,
        trained={name: m.trained for name, m in loaded.items()},
        notes={name: m.note for name, m in loaded.items()},
        cam={"model": cam_model, "method": cam} if cam_model else None,
        warnings=warnings,
    )
    summary_json = atomic_write(out_dir / SUMMARY_FILE, lambda p: p.write_text(json.dumps(report, indent=2)))
    return VideoResult(
        out_dir=out_dir,
        timeline_csv=timeline.path,
        summary_json=summary_json,
        overlay=video.path if video else None,
        summary=report,
        models=names,
        samples=samples,
        rows=timeline.rows,
        tracks=tracks,
        warnings=warnings,
    )


def _read_faces(
    analyzer: Analyzer, faces: Sequence[Face], names: Sequence[str], cam_model: str | None, cam: str
) -> list[FaceResult]:
    """Every model on every face; the CAM only for ``cam_model`` (maps cost 2-4x a forward pass)."""
    if not faces:
        return []
    plain = [n for n in names if n != cam_model]
    results = analyzer.analyze_faces(faces, plain, cam=None) if plain else None
    if cam_model is None:
        return results
    mapped = analyzer.analyze_faces(faces, [cam_model], cam=cam, regions=False)  # video shows no region bars
    if results is None:
        return mapped
    return [
        FaceResult(box=a.box, face=a.face, models={n: (b.models | a.models)[n] for n in names})
        for a, b in zip(results, mapped)
    ]


def _draw(canvas: np.ndarray, face_id: int, result: FaceResult, cam_model: str | None) -> None:
    labels = [f"{name}: {r.top} {r.probs[r.top]:.0%}" for name, r in result.models.items()]
    mapped = result.models.get(cam_model) if cam_model else None
    cam_map = mapped.cam if mapped is not None else None
    draw_face(canvas, face_id, result.box, labels, cam_map, result.face.region)


@dataclass(frozen=True)
class FrameExplanation:
    """One sampled frame shown again: the frame with boxes, and each face's reading by each model with its map."""

    frame: np.ndarray  # RGB with boxes and labels
    faces: dict[int, FaceResult]  # face id -> results (with CAMs)


def explain_frame(
    path: str | os.PathLike,
    frame: int,
    models: Sequence[str],
    boxes: Mapping[int, Box] | None = None,
    cam: str | None = "gradcam",
    analyzer: Analyzer | None = None,
) -> FrameExplanation:
    """Frame ``frame`` of the clip decoded again, its faces detected and read by ``models`` with ``cam`` maps.

    ``boxes`` (face id -> box, from the timeline's rows of that frame) gives the faces their track ids:
    each detection takes the id of the box it overlaps most. Without it, ids count from 1.
    """
    analyzer = analyzer or default_analyzer()
    rgb = read_frame(path, frame)
    _, faces = analyzer.faces(rgb)
    ids = list(range(1, len(faces) + 1))
    if boxes and faces:
        known = list(boxes.items())
        iou = iou_matrix([b for _, b in known], [f.box for f in faces])
        unmatched = max(boxes) + 1
        ids = [0] * len(faces)
        for r, c in zip(*linear_sum_assignment(-iou)):
            if iou[r, c] > 0:
                ids[c] = known[r][0]
        for c in range(len(faces)):
            if not ids[c]:
                ids[c], unmatched = unmatched, unmatched + 1
    results = analyzer.analyze_faces(faces, list(models), cam=cam, regions=False)
    canvas = rgb.copy()
    for face_id, result in zip(ids, results):
        labels = [f"{name}: {r.top} {r.probs[r.top]:.0%}" for name, r in result.models.items()]
        draw_face(canvas, face_id, result.box, labels)
    return FrameExplanation(canvas, dict(sorted(zip(ids, results), key=lambda pair: pair[0])))


def boxes_at(timeline: pd.DataFrame, frame: int) -> dict[int, Box]:
    """Face id -> box of the timeline's rows for ``frame``."""
    rows = timeline[timeline["frame"] == frame].drop_duplicates("face_id")
    return {int(r.face_id): (int(r.x), int(r.y), int(r.w), int(r.h)) for r in rows.itertuples()}


def nearest_sample(timeline: pd.DataFrame, time_s: float) -> tuple[int, float] | None:
    """(frame, time) of the sampled frame closest to ``time_s``; None for an empty timeline."""
    if timeline.empty:
        return None
    frames = timeline.drop_duplicates("frame")
    i = int(np.abs(frames["time_s"].to_numpy() - time_s).argmin())
    return int(frames["frame"].iloc[i]), float(frames["time_s"].iloc[i])
