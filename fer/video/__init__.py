"""Video: emotions over time for every face in a clip (``fer.analyze_video``, ``python -m fer video``)."""

from typing import TYPE_CHECKING

from fer.lazy import lazy_getattr

if TYPE_CHECKING:
    from fer.video.analyze import FrameExplanation, VideoResult, analyze_video, boxes_at, explain_frame, nearest_sample
    from fer.video.reader import VideoError, VideoInfo, probe, read_frame
    from fer.video.timeline import read_timeline, smooth, summary_markdown
    from fer.video.tracker import IoUTracker

# OpenCV, pandas and the models load on first use: `python -m fer` builds its parser from fer.video.cli,
# and its training commands must not import them (PEP 562).
_WHERE = {
    **dict.fromkeys(
        ("FrameExplanation", "VideoResult", "analyze_video", "boxes_at", "explain_frame", "nearest_sample"),
        "fer.video.analyze",
    ),
    **dict.fromkeys(("VideoError", "VideoInfo", "probe", "read_frame"), "fer.video.reader"),
    **dict.fromkeys(("read_timeline", "smooth", "summary_markdown"), "fer.video.timeline"),
    "IoUTracker": "fer.video.tracker",
}

__all__ = [
    "FrameExplanation",
    "IoUTracker",
    "VideoError",
    "VideoInfo",
    "VideoResult",
    "analyze_video",
    "boxes_at",
    "explain_frame",
    "nearest_sample",
    "probe",
    "read_frame",
    "read_timeline",
    "smooth",
    "summary_markdown",
]


__getattr__ = lazy_getattr("fer.video", _WHERE, globals())
