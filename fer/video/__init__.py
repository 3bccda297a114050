"""Video: emotions over time for every face in a clip (``fer.analyze_video``, ``python -m fer video``)."""

from fer.video.analyze import FrameExplanation, VideoResult, analyze_video, boxes_at, explain_frame, nearest_sample
from fer.video.reader import VideoError, VideoInfo, probe, read_frame
from fer.video.timeline import read_timeline, smooth, summary_markdown
from fer.video.tracker import IoUTracker

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
