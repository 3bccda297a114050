"""fer.analyze_video on clips made here: tracks keep their ids, the timeline has a row per sample x face x model,
the overlay plays back, bad files give a VideoError, and memory does not grow with the clip's length."""

from __future__ import annotations

import json
import tracemalloc

import cv2
import numpy as np
import pandas as pd
import pytest
from tiny_model import tiny_model_registered

import fer
from fer.__main__ import main as fer_main
from fer.faces import detect_faces
from fer.inference import Analyzer
from fer.video import (
    IoUTracker,
    VideoError,
    analyze_video,
    boxes_at,
    explain_frame,
    nearest_sample,
    read_frame,
    smooth,
    summary_markdown,
)
from fer.video.democlip import write_demo_clip
from fer.video.reader import SampledFrames
from fer.video.timeline import SummaryBuilder
from fer.zoo import ModelZoo

MODEL = "tiny_cnn"
FPS, SECONDS = 10.0, 3.0  # 30 frames; 2 samples per second -> frames 0, 5, ..., 25


@pytest.fixture(scope="module")
def tiny():
    with tiny_model_registered():
        yield


@pytest.fixture(scope="module")
def analyzer(tiny, tmp_path_factory) -> Analyzer:
    return Analyzer(ModelZoo(tmp_path_factory.mktemp("no-checkpoints")))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_demo_clip(tmp_path_factory.mktemp("clip") / "two_faces.mp4", seconds=SECONDS, fps=FPS, faces=2)


@pytest.fixture(scope="module")
def result(clip, analyzer, tmp_path_factory):
    return analyze_video(clip, [MODEL], per_second=2, out=tmp_path_factory.mktemp("out"), analyzer=analyzer)


def test_the_detector_finds_both_generated_faces(clip) -> None:
    with SampledFrames(clip, every=10) as frames:
        counts = [len(detect_faces(f.rgb)) for f in frames]
    assert counts == [2, 2, 2]


def test_one_track_per_face_with_stable_ids(result) -> None:
    assert [t.id for t in result.tracks] == [1, 2]
    assert [t.samples for t in result.tracks] == [6, 6]
    timeline = result.timeline()
    assert sorted(timeline["face_id"].unique()) == [1, 2]
    # Ids are given in reading order and follow the faces: face 1 stays in the top lane moving right,
    # face 2 in the bottom lane moving left (write_demo_clip's lanes).
    one, two = (timeline[timeline["face_id"] == i].sort_values("time_s") for i in (1, 2))
    assert one["y"].max() < two["y"].min()
    assert np.all(np.diff(one["x"].to_numpy()) > 0) and np.all(np.diff(two["x"].to_numpy()) < 0)


def test_timeline_rows_and_columns(result) -> None:
    timeline = result.timeline()
    assert result.samples == 6 and result.rows == len(timeline) == 6 * 2 * 1
    assert list(timeline.columns[:5]) == ["time_s", "frame", "face_id", "model", "top"]
    assert sorted(timeline["frame"].unique()) == [0, 5, 10, 15, 20, 25]
    assert np.allclose(sorted(timeline["time_s"].unique()), [0, 0.5, 1, 1.5, 2, 2.5])
    classes = list(fer.FER2013_CLASSES)
    assert list(timeline.columns[5:12]) == classes
    assert np.allclose(timeline[classes].sum(axis=1), 1, atol=1e-3)
    assert (timeline["top"] == timeline[classes].idxmax(axis=1)).all()
    assert not result.warnings


def test_overlay_plays_back(result) -> None:
    assert result.overlay.suffix == ".webm"
    cap = cv2.VideoCapture(str(result.overlay))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == result.samples == 6
    assert frames[0].shape == (240, 320, 3)
    assert not np.array_equal(frames[0], frames[-1])  # the faces move


def test_summary_file(result) -> None:
    summary = json.loads(result.summary_json.read_text())
    assert summary["samples"] == 6 and summary["rows"] == 12 and summary["sample_rate"] == 2
    assert [f["face_id"] for f in summary["faces"]] == [1, 2]
    for face in summary["faces"]:
        shares = face["share_of_time"][MODEL]
        assert sum(shares.values()) == pytest.approx(1)
        assert face["seconds_seen"] == pytest.approx(3.0)
    assert summary["trained"] == {MODEL: False}
    assert "Face 2" in summary_markdown(summary)


def test_every_kth_frame_and_a_cam_overlay(clip, analyzer, tmp_path) -> None:
    result = analyze_video(clip, [MODEL], every=3, out=tmp_path, cam_model=MODEL, overlay="mp4", analyzer=analyzer)
    assert result.samples == 10 and result.rows == 20
    assert result.overlay.name == "overlay.mp4"
    assert cv2.VideoCapture(str(result.overlay)).get(cv2.CAP_PROP_FRAME_COUNT) == 10


def test_a_frame_shown_again_keeps_its_ids_and_maps(clip, result, analyzer) -> None:
    timeline = result.timeline()
    frame, time_s = nearest_sample(timeline, 1.2)
    assert (frame, time_s) == (10, 1.0)
    shown = explain_frame(clip, frame, [MODEL], boxes_at(timeline, frame), cam="gradcam", analyzer=analyzer)
    assert list(shown.faces) == [1, 2]
    for face_id, face in shown.faces.items():
        row = timeline[(timeline["frame"] == frame) & (timeline["face_id"] == face_id)].iloc[0]
        assert face.box == (row.x, row.y, row.w, row.h)
        assert face.models[MODEL].cam.shape == (48, 48)
        assert face.models[MODEL].top == row.top


def test_read_frame_seeks_to_the_same_pixels(clip) -> None:
    with SampledFrames(clip, every=1) as frames:
        sequential = [f.rgb for f in frames if f.index in (0, 17)]
    assert np.array_equal(read_frame(clip, 17), sequential[1])
    assert np.array_equal(read_frame(clip, 0), sequential[0])


@pytest.mark.parametrize("fourcc,suffix", [("mp4v", ".mp4"), ("VP80", ".webm"), ("MJPG", ".avi")])
def test_truncated_files_give_an_error_or_a_warning_never_a_crash(tmp_path, fourcc, suffix, analyzer) -> None:
    good = write_demo_clip(tmp_path / f"clip{suffix}", seconds=2, fps=10, faces=1, fourcc=fourcc)
    data = good.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    try:
        result = analyze_video(cut, [MODEL], every=5, out=tmp_path / "out", analyzer=analyzer)
    except VideoError as exc:  # mp4 keeps its index at the end: a cut file cannot be opened at all
        assert suffix == ".mp4"
        assert "corrupt or truncated" in str(exc)
    else:  # streams that decode until the cut: the part before it is analysed and a warning says where
        assert suffix != ".mp4"
        assert 0 < result.samples < 4
        assert "truncated" in result.warnings[0]
        assert json.loads(result.summary_json.read_text())["warnings"] == result.warnings


@pytest.mark.parametrize(
    "content,message",
    [(b"", "empty"), (b"\x00\x01garbage" * 500, "could not open"), (b"just text, not a video", "could not open")],
)
def test_corrupt_or_unsupported_files(tmp_path, content, message, analyzer) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError, match=message):
        analyze_video(path, [MODEL], analyzer=analyzer)
    with pytest.raises(VideoError, match="no such video"):
        analyze_video(tmp_path / "missing.webm", [MODEL], analyzer=analyzer)


def test_caps_on_duration_and_resolution(clip, analyzer, tmp_path) -> None:
    with pytest.raises(VideoError, match=r"lasts 3 s: longer than the 2 s cap"):
        analyze_video(clip, [MODEL], max_duration_s=2, out=tmp_path, analyzer=analyzer)
    with pytest.raises(VideoError, match=r"320x240: larger than the 200-pixel cap"):
        analyze_video(clip, [MODEL], max_side=200, out=tmp_path, analyzer=analyzer)
    assert not (tmp_path / "timeline.csv").exists()  # refused before anything is written


def test_memory_stays_flat_whatever_the_clip_length(tmp_path) -> None:
    def peak_mb(seconds: float) -> float:
        path = write_demo_clip(tmp_path / f"{seconds}.mp4", seconds=seconds, fps=25, size=(320, 240), faces=1)
        tracemalloc.start()
        with SampledFrames(path, per_second=5) as frames:
            n = sum(1 for _ in frames)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert n == round(seconds * 5)
        return peak

    short, long = peak_mb(1), peak_mb(12)
    frame_mb = 320 * 240 * 3 / 2**20
    assert long < short + frame_mb and long < 4 * frame_mb


def test_tracker_keeps_ids_through_a_missed_detection_and_ends_lost_tracks() -> None:
    tracker = IoUTracker(min_iou=0.3, max_missed=1)
    assert tracker.update([(100, 0, 50, 50), (0, 0, 50, 50)], 0.0) == [2, 1]  # new ids in reading order
    assert tracker.update([(5, 0, 50, 50)], 0.5) == [1]  # face 2 missed once
    assert tracker.update([(10, 0, 50, 50), (104, 0, 50, 50)], 1.0) == [1, 2]
    assert tracker.update([(15, 0, 50, 50)], 1.5) == [1]
    assert tracker.update([(20, 0, 50, 50)], 2.0) == [1]  # face 2 missed twice: its track ends
    assert tracker.update([(20, 0, 50, 50), (108, 0, 50, 50)], 2.5) == [1, 3]
    assert [(t.id, t.samples) for t in tracker.tracks()] == [(1, 6), (2, 2), (3, 1)]


def test_tracker_follows_a_jump_of_under_a_face_width_and_not_further() -> None:
    tracker = IoUTracker(min_iou=0.3, max_jump=1.0)
    assert tracker.update([(0, 0, 50, 50), (0, 200, 50, 50)], 0.0) == [1, 2]
    # both move 40 px (IoU 0.11): the second pass matches them by centre distance, each to its own
    assert tracker.update([(40, 0, 50, 50), (40, 200, 50, 50)], 0.5) == [1, 2]
    assert tracker.update([(40, 0, 50, 50), (240, 200, 50, 50)], 1.0) == [1, 3]  # 200 px: 4 widths, a new face
    assert tracker.update([(60, 0, 150, 150)], 1.5) == [4]  # 3x larger: not the same face either


def test_summary_shares_and_disagreements() -> None:
    builder = SummaryBuilder(["a", "b"], sample_period_s=0.5)
    tops = ["happy", "happy", "sad", "sad", "happy", "sad"]
    other = ["happy", "sad", "happy", "sad", "neutral", "sad"]
    for i, (a, b) in enumerate(zip(tops, other)):
        builder.add(i * 0.5, 1, {"a": a, "b": b})
    face = builder.build()["faces"][0]
    assert face["share_of_time"]["a"] == {"happy": 0.5, "sad": 0.5}
    assert face["disagreement_share"] == 0.5
    # samples 1-2 disagree in a row (one interval), 3 agrees, 4 disagrees alone
    assert [(s["start_s"], s["end_s"], s["samples"]) for s in face["disagreements"]] == [(0.5, 1.5, 2), (2.0, 2.5, 1)]
    assert face["disagreements"][1]["tops"] == {"a": "happy", "b": "neutral"}


def test_smoothing_is_a_centred_moving_average_per_face_and_model() -> None:
    raw = pd.DataFrame(
        {
            "time_s": [0, 0.5, 1, 1.5] * 2,
            "frame": [0, 5, 10, 15] * 2,
            "face_id": [1] * 4 + [2] * 4,
            "model": ["m"] * 8,
            "top": ["happy"] * 8,
            "happy": [1.0, 0.0, 1.0, 0.0, 0.2, 0.2, 0.2, 0.2],
            "sad": [0.0, 1.0, 0.0, 1.0, 0.8, 0.8, 0.8, 0.8],
            "x": 0,
            "y": 0,
            "w": 1,
            "h": 1,
        }
    )
    smoothed = smooth(raw, 3)
    face1 = smoothed[smoothed["face_id"] == 1]
    assert np.allclose(face1["happy"], [0.5, 2 / 3, 1 / 3, 0.5])
    assert list(face1["top"]) == ["happy", "happy", "sad", "happy"]
    assert np.allclose(smoothed[smoothed["face_id"] == 2]["happy"], 0.2)  # faces are not mixed
    assert raw["happy"].tolist()[:4] == [1.0, 0.0, 1.0, 0.0]  # the input is untouched
    assert smooth(raw, 1) is raw


def test_cli_writes_the_outputs(clip, tiny, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    argv = ["video", str(clip), "--out", str(out), "--models", MODEL, "--every", "5", "--checkpoints", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_:
        fer_main(argv)
    assert exit_.value.code == 0
    assert {p.name for p in out.iterdir()} == {"timeline.csv", "summary.json", "overlay.webm"}
    assert len(pd.read_csv(out / "timeline.csv")) == 12
    assert "2 face track(s), 12 rows" in capsys.readouterr().out


def test_cli_reports_a_bad_file(tmp_path, tiny, capsys) -> None:
    bad = tmp_path / "bad.webm"
    bad.write_bytes(b"not a video")
    with pytest.raises(SystemExit) as exit_:
        fer_main(["video", str(bad), "--out", str(tmp_path / "o"), "--models", MODEL, "--checkpoints", str(tmp_path)])
    assert exit_.value.code == 2
    assert "error: could not open bad.webm" in capsys.readouterr().err


def test_batching_faces_across_frames_changes_no_number(clip, analyzer, result, tmp_path, monkeypatch) -> None:
    import fer.video.analyze as video_analyze

    monkeypatch.setattr(video_analyze, "BATCH_FACES", 1)  # every frame on its own
    single = analyze_video(clip, [MODEL], per_second=2, out=tmp_path, analyzer=analyzer).timeline()
    batched = result.timeline()
    classes = list(fer.FER2013_CLASSES)
    assert (single["top"] == batched["top"]).all()
    assert np.allclose(single[classes], batched[classes], atol=1e-4)


def test_two_models_summary_matches_the_timeline(clip, analyzer, tmp_path) -> None:
    result = analyze_video(clip, [MODEL, "resemotenet"], every=10, out=tmp_path, overlay=None, analyzer=analyzer)
    timeline = result.timeline()
    assert result.overlay is None and result.rows == len(timeline) == 3 * 2 * 2
    assert [t.samples for t in result.tracks] == [3, 3]  # 1 sample/s: faces move 0.6 widths between samples
    tops = timeline.pivot_table(index=["frame", "face_id"], columns="model", values="top", aggfunc="first")
    for face in result.summary["faces"]:
        mine = tops.xs(face["face_id"], level="face_id")
        disagree = (mine[MODEL] != mine["resemotenet"]).mean()
        assert face["disagreement_share"] == pytest.approx(disagree)
        assert sum(s["samples"] for s in face["disagreements"]) == round(disagree * len(mine))
        for model in (MODEL, "resemotenet"):
            expected = mine[model].value_counts(normalize=True).round(4).to_dict()
            assert face["share_of_time"][model] == expected
