"""The Video tab's handlers without a browser: a run fills the timeline, the frame view and the downloads."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import pytest
from tiny_model import tiny_model_registered

from demo.studio import Studio
from demo.tabs.video import NO_CAM, plot, run_video, show_frame, show_results
from fer.video.democlip import write_demo_clip

MODEL = "tiny_cnn"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    with tiny_model_registered():
        yield Studio(str(tmp_path_factory.mktemp("no-checkpoints")))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_demo_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=2, fps=10, faces=2))


@pytest.fixture(scope="module")
def state(studio: Studio, clip: str) -> dict:
    state, message = run_video(studio, clip, [MODEL], 2.0, MODEL, "gradcam")
    assert state is not None, message
    assert message.startswith("4 frames sampled, 2 face(s) tracked, 8 rows")
    assert "Untrained weights" in message
    return state


def test_results_fill_the_picker_summary_and_downloads(state: dict) -> None:
    message, picker, slider, summary, files, overlay = show_results(state, "done")
    assert picker["choices"] == [("face 1", 1), ("face 2", 2)] and picker["value"] == 1
    assert slider["maximum"] == pytest.approx(1.5)
    assert "**Face 2**" in summary
    assert [Path(f).name for f in files] == ["timeline.csv", "summary.json", "overlay.webm"]
    assert overlay.endswith("overlay.webm")


def test_timeline_plot_has_a_line_per_class_and_the_time_marker(state: dict) -> None:
    fig = plot(state, 2, 3, 0.5)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 7 and {t.name for t in fig.data} >= {"happy", "sad"}
    assert len(fig.data[0].x) == 4
    assert "moving average over 3 samples" in fig.layout.title.text
    assert fig.layout.shapes[0].x0 == 0.5


def test_a_time_shows_that_frame_with_a_map_per_face(studio: Studio, state: dict) -> None:
    frame, maps, note = show_frame(studio, state, 0.6)
    assert frame.shape == (240, 320, 3)
    assert note.startswith("Frame 5 at 0.5 s")
    assert len(maps) == 2
    assert maps[0][1].startswith("face 1 · Tiny CNN (tests only) ⚠️ untrained:")
    assert maps[0][0].ndim == 3  # a coloured CAM overlay, not the bare gray crop


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "Upload a clip"), (b"not a video", "⚠️ could not open"), (b"", "⚠️ clip.webm is empty")],
)
def test_bad_clips_get_a_message(studio: Studio, tmp_path: Path, content, message: str) -> None:  # noqa: ANN001
    path = None
    if content is not None:
        path = tmp_path / "clip.webm"
        path.write_bytes(content)
    state, text = run_video(studio, str(path) if path else None, [MODEL], 2.0, NO_CAM, "gradcam")
    assert state is None and text.startswith(message)
    assert show_results(None, text)[0] == text
    assert run_video(studio, None, [], 2.0, NO_CAM, "gradcam")[1].startswith("Upload")
