"""Video: a clip in; a timeline per face, the frame at any time with its maps, a summary and the files."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import gradio as gr

import fer
from demo.limits import HEAVY, HEAVY_SLOTS
from demo.studio import Studio
from demo.views import model_caption
from fer.explain.methods import CAM_LABELS
from fer.explain.overlay import cam_display
from fer.video import (
    VideoError,
    analyze_video,
    boxes_at,
    explain_frame,
    nearest_sample,
    read_timeline,
    summary_markdown,
)
from fer.video.democlip import write_demo_clip
from fer.video.plot import timeline_figure

MAX_DURATION_S = 120.0  # a shared server: two minutes of clip is about a minute of CPU for one model
MAX_SIDE = 1280
KEEP_RUNS = 20  # older runs' folders are deleted: disk stays bounded on a long-running server
NO_CAM = "none"
CLIP_TYPES = [".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v"]
RUNS = Path(tempfile.gettempdir()) / "fer-studio-video"


def example_clip() -> str:
    """A 6-second clip with two faces (scikit-image's astronaut), written once to a temp folder."""
    path = RUNS.parent / "fer-studio-examples" / "two_faces.mp4"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_demo_clip(path, seconds=6, fps=15, size=(480, 360), faces=2)
    return str(path)


def _new_run_folder() -> Path:
    RUNS.mkdir(parents=True, exist_ok=True)
    runs = sorted(RUNS.iterdir(), key=lambda p: p.stat().st_mtime)
    for old in runs[: max(0, len(runs) - KEEP_RUNS + 1)]:
        shutil.rmtree(old, ignore_errors=True)
    folder = RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


def run_video(
    studio: Studio,
    clip: str | None,
    models: list[str],
    per_second: float,
    cam_model: str,
    method: str,
    progress: gr.Progress = gr.Progress(),
) -> tuple[dict[str, Any] | None, str]:
    """Analyse the clip; the session's state (paths and settings) or None, and a message."""
    if not clip:
        return None, "Upload a clip (mp4, webm, avi, mov), or pick the example, then press Analyze."
    if not models:
        return None, "Choose at least one model."
    cam_model = None if cam_model == NO_CAM else cam_model
    if cam_model is not None and cam_model not in models:
        models = [*models, cam_model]

    def report(done: int, total: int | None) -> None:
        progress(done / total if total else None, desc=f"frame {done}" + (f" of {total}" if total else ""))

    try:
        result = analyze_video(
            clip,
            models,
            per_second=per_second,
            out=_new_run_folder(),
            cam_model=cam_model,
            cam=method,
            max_duration_s=MAX_DURATION_S,
            max_side=MAX_SIDE,
            analyzer=studio.analyzer,
            progress=report,
        )
    except VideoError as exc:
        return None, f"⚠️ {exc}"
    state = {
        "clip": clip,
        "csv": str(result.timeline_csv),
        "files": [str(p) for p in (result.timeline_csv, result.summary_json, result.overlay) if p],
        "overlay": str(result.overlay) if result.overlay else None,
        "models": result.models,
        "method": method,
        "summary": result.summary,
        "duration": (result.samples - 1) / result.summary["sample_rate"],  # time of the last sampled frame
    }
    untrained = [fer.get_spec(m).display_name for m, ok in result.summary["trained"].items() if not ok]
    lines = [f"{result.samples} frames sampled, {len(result.tracks)} face(s) tracked, {result.rows} rows."]
    lines += [f"⚠️ {w}" for w in result.warnings]
    if untrained:
        lines.append(f"⚠️ Untrained weights (no checkpoint): {', '.join(untrained)}. Their outputs are not meaningful.")
    return state, "\n\n".join(lines)


def show_results(state: dict[str, Any] | None, message: str) -> list[Any]:
    """After a run: message, face picker, time slider, summary, files, overlay (the plot and frame follow)."""
    if state is None:
        return [message, gr.update(choices=[], value=None), gr.update(value=0, maximum=1), "", None, None]
    faces = [f["face_id"] for f in state["summary"]["faces"]]
    picker = gr.update(choices=[(f"face {i}", i) for i in faces], value=faces[0] if faces else None)
    slider = gr.update(value=0, maximum=max(state["duration"], 0.5))
    return [message, picker, slider, summary_markdown(state["summary"]), state["files"], state["overlay"]]


def plot(state: dict[str, Any] | None, face_id: int | None, window: int, time_s: float) -> Any:
    if state is None or face_id is None:
        return None
    return timeline_figure(read_timeline(state["csv"]), int(face_id), int(window), time_s)


def show_frame(studio: Studio, state: dict[str, Any] | None, time_s: float) -> tuple[Any, list, str]:
    """The sampled frame nearest ``time_s`` with its boxes, and every face's map per model."""
    if state is None:
        return None, [], ""
    timeline = read_timeline(state["csv"])
    found = nearest_sample(timeline, time_s)
    if found is None:
        return None, [], "No face in the sampled frames."
    frame, at = found
    method = state["method"]
    shown = explain_frame(
        state["clip"], frame, state["models"], boxes_at(timeline, frame), cam=method, analyzer=studio.analyzer
    )
    maps = []
    for face_id, face in shown.faces.items():
        for name, r in face.models.items():
            image = cam_display(face.face.gray, r.cam) if r.cam is not None else face.face.gray  # one size
            maps.append((image, f"face {face_id} · {model_caption(name, r.trained)}: {r.top} {r.probs[r.top]:.0%}"))
    return shown.frame, maps, f"Frame {frame} at {at:.1f} s; maps: {CAM_LABELS.get(method, method)}"


def build(studio: Studio, shared: dict[str, Any]) -> None:
    gr.Markdown(
        f"Upload a clip: faces are found and followed across frames, each chosen model reads them, and the "
        f"timeline shows every emotion over time. Clips up to {MAX_DURATION_S:.0f} s and {MAX_SIDE} px here "
        "(`python -m fer video` has no such limit). Move the time slider to see that frame with its maps."
    )
    state = gr.State(None)
    model_ids = fer.list_models()
    with gr.Row():
        with gr.Column(scale=1):
            clip = gr.File(label="Clip", file_types=CLIP_TYPES, type="filepath", elem_id="video-upload")
            models = gr.CheckboxGroup(
                [(fer.get_spec(m).display_name, m) for m in model_ids], value=["resemotenet"], label="Models"
            )
            per_second = gr.Slider(0.5, 10, value=2, step=0.5, label="Frames analysed per second")
            cam_model = gr.Dropdown(
                [("none", NO_CAM)] + [(fer.get_spec(m).display_name, m) for m in model_ids],
                value=NO_CAM,
                label="CAM on the overlay video (one model; costs 2-4x its time)",
            )
            method = gr.Dropdown([(label, key) for key, label in CAM_LABELS.items()], value="gradcam", label="CAM")
            run = gr.Button("Analyze", variant="primary")
            gr.Examples([example_clip()], inputs=[clip], label="Example (generated: two faces)", cache_examples=False)
        with gr.Column(scale=2):
            status = gr.Markdown(elem_id="video-status")
            with gr.Row():
                face = gr.Dropdown(choices=[], label="Face", scale=1)
                window = gr.Slider(1, 15, value=1, step=1, label="Smoothing (moving average, samples)", scale=2)
            timeline = gr.Plot(label="Timeline", elem_id="video-timeline")
            time_s = gr.Slider(0, 1, value=0, step=0.1, label="Time (s): show this frame with its maps")
    with gr.Row():
        frame = gr.Image(label="Frame", interactive=False, height=360, elem_id="video-frame")
        with gr.Column():
            frame_note = gr.Markdown()
            maps = gr.Gallery(label="Maps per face and model", columns=4, height=360, elem_id="video-maps")
    with gr.Row():
        summary = gr.Markdown(elem_id="video-summary")
        with gr.Column():
            files = gr.File(label="Downloads: timeline.csv, summary.json, overlay", file_count="multiple")
            overlay = gr.Video(label="Overlay (sampled frames)", interactive=False)

    def analyze_clip(clip, models, per_second, cam_model, method, progress=gr.Progress()):  # noqa: ANN001, ANN202, B008
        new_state, message = run_video(studio, clip, models, per_second, cam_model, method, progress)
        return [new_state, *show_results(new_state, message)]

    run.click(
        analyze_clip,
        [clip, models, per_second, cam_model, method],
        [state, status, face, time_s, summary, files, overlay],
        api_name=False,
        concurrency_limit=HEAVY_SLOTS,
        concurrency_id=HEAVY,  # a clip's models share the one queue of model work with the other tabs
    ).then(plot, [state, face, window, time_s], timeline, api_name=False).then(
        lambda s, t: show_frame(studio, s, t), [state, time_s], [frame, maps, frame_note], api_name=False
    )
    for control in (face, window):
        control.change(plot, [state, face, window, time_s], timeline, api_name=False)
    time_s.release(plot, [state, face, window, time_s], timeline, api_name=False).then(
        lambda s, t: show_frame(studio, s, t), [state, time_s], [frame, maps, frame_note], api_name=False
    )
