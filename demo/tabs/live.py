"""Live webcam: streaming frames, face boxes and labels from one model, and the emotions of the last seconds."""

from __future__ import annotations

import time
from typing import Any

import cv2
import gradio as gr
import numpy as np
import pandas as pd

import fer
from demo.limits import MAX_FACES
from demo.studio import Studio
from demo.views import BOX_COLOR
from fer.images import DETECT_MAX_SIDE, ImageError, load_image
from fer.live import analyze_frame

WINDOW_S = 20.0  # the chart shows this many seconds
STREAM_EVERY_S = 0.5  # frames sent per second = 2: a 2-core CPU keeps up with any one model without CAMs


def live_frame(studio: Studio, frame: np.ndarray | None, model: str, history: list | None) -> tuple[Any, Any, list]:
    """One webcam frame -> the frame with labelled boxes, the chart data, the updated history."""
    history = list(history or [])
    if frame is None:
        return None, _chart(history), history
    try:
        photo = load_image(frame, max_side=DETECT_MAX_SIDE)
    except ImageError:
        return frame, _chart(history), history
    # Detection on a shrunk frame (video rate on 2 cores), at most MAX_FACES faces.
    results = analyze_frame(studio.analyzer, photo, model, max_faces=MAX_FACES)
    out = photo.copy()
    if results:
        for face in results:
            r = face.models[model]
            x, y, w, h = face.box
            cv2.rectangle(out, (x, y), (x + w, y + h), BOX_COLOR, 2)
            text = f"{r.top} {r.probs[r.top]:.0%}" + ("" if r.trained else " (untrained)")
            cv2.putText(out, text, (x, max(y - 8, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.7, BOX_COLOR, 2)
        now = time.monotonic()
        largest = max(results, key=lambda f: f.box[2] * f.box[3])  # faces come left to right
        history.append((now, largest.models[model].probs))  # the largest face drives the chart
        history = [(t, p) for t, p in history if now - t <= WINDOW_S]
    return out, _chart(history), history


def _chart(history: list) -> pd.DataFrame:
    if not history:
        return pd.DataFrame({"seconds ago": [], "probability": [], "emotion": []})
    now = history[-1][0]
    rows = [(round(t - now, 2), p, c) for t, probs in history for c, p in probs.items()]
    return pd.DataFrame(rows, columns=["seconds ago", "probability", "emotion"])


def weights_note(studio: Studio, model: str) -> str:
    """Whether the live labels come from trained weights (checked without loading the model)."""
    name = fer.get_spec(model).display_name
    trained = studio.trained(model)
    if trained is False:
        return f"⚠️ {name} runs **untrained weights**: its labels are guesses, not readings."
    if trained is None:
        return f"{name}: checkpoint from the Hub (loaded on the first frame)."
    return f"✓ {name}: trained checkpoint."


def build(studio: Studio, shared: dict[str, Any]) -> None:
    gr.Markdown(
        "Allow the camera, then press record. Frames go to the server twice a second; boxes and labels come "
        "from the model you pick (no CAMs here, to keep up on a CPU)."
    )
    history = gr.State([])
    with gr.Row():
        with gr.Column():
            camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam")
            model = gr.Dropdown(
                [(fer.get_spec(m).display_name, m) for m in fer.list_models()], value="resemotenet", label="Model"
            )
            state = gr.Markdown(weights_note(studio, "resemotenet"), elem_id="live-weights")
            model.change(lambda m: weights_note(studio, m), model, state, api_name=False)
        with gr.Column():
            labelled = gr.Image(
                label="Faces", interactive=False, alt_text="The latest webcam frame, a box and emotion label per face"
            )
            chart = gr.LinePlot(
                x="seconds ago",
                y="probability",
                color="emotion",
                y_lim=[0, 1],
                label=f"Emotions over the last {WINDOW_S:.0f} s",
                height=260,
            )
    camera.stream(
        lambda frame, m, h: live_frame(studio, frame, m, h),
        [camera, model, history],
        [labelled, chart, history],
        stream_every=STREAM_EVERY_S,
        time_limit=300,
        concurrency_limit=2,
        api_name=False,
    )
