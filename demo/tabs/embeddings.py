"""Embeddings: t-SNE or UMAP of a model's features on its evaluation artifact; lasso or box faces to see them."""

from __future__ import annotations

from typing import Any

import cv2
import gradio as gr
import numpy as np
import pandas as pd

import fer
from demo.studio import UPLOAD_SOURCE, Studio
from demo.views import accuracy_text, empty_state, plotly_bridge, source_and_model, weights_note
from fer.embeddings import embedding_figure

COLOR_BY = ["true label", "predicted label", "correct?"]
COLUMN = {"true label": "true", "predicted label": "predicted", "correct?": "correct?"}
MAX_GALLERY = 60
HOVER_SIZE = 160
UNTOUCHED = tuple(gr.skip() for _ in range(7))  # the map's seven outputs (plot, note, frame, selection, hover) kept
SELECT_HINT = "Draw a lasso (or pick the box in the plot's toolbar) around points to see their faces."


def embedding_frame(studio: Studio, source: str, uploads: dict, model: str, method: str, color: str) -> tuple:
    """The map's points as a table (x, y, id, true, predicted, confidence, correct?, row) and a note; (None,
    message) when there is no artifact."""
    art = studio.artifact(model, source, uploads)
    if art is None:
        return None, empty_state(fer.get_spec(model).display_name, source)
    a = art.arrays
    coords = studio.embeddings.get(
        model, art.path / "predictions.npz", a["features"], "umap" if method == "UMAP" else "tsne"
    )
    names = [str(c) for c in a["class_names"]]
    frame = pd.DataFrame(
        {
            "x": coords[:, 0],
            "y": coords[:, 1],
            "id": a["ids"],
            "true": [names[i] for i in a["y_true"]],
            "predicted": [names[i] for i in a["y_pred"]],
            "confidence": a["probs"].max(1),
            "correct?": np.where(a["y_true"] == a["y_pred"], "correct", "wrong"),
            "row": np.arange(len(a["y_true"])),
        }
    )
    frame["color"] = frame[COLUMN[color]]
    note = (
        f"{method} of {len(frame)} faces ({art.label}); {fer.get_spec(model).display_name} accuracy "
        f"{accuracy_text(art.metrics)}. {weights_note(art)}\n\n{SELECT_HINT}"
    )
    return frame, note


def figure(frame: pd.DataFrame, color: str, class_names: list[str]) -> Any:
    """The plotly map: a legend entry per class (or correct/wrong), rounded values on hover."""
    order = ["correct", "wrong"] if color == "correct?" else class_names
    hover = {
        "id": frame["id"].to_numpy(),
        "true": frame["true"].to_numpy(),
        "predicted": frame["predicted"].to_numpy(),
        "confidence": np.char.mod("%.0f%%", 100 * frame["confidence"].to_numpy()),
    }
    return embedding_figure(frame[["x", "y"]].to_numpy(), frame["color"], hover, order, title=color)


def show(studio: Studio, source: str, uploads: dict, model: str, method: str, color: str) -> tuple:
    """Plot, note, frame state, and the selection cleared (gallery, its note, the hovered face and its caption)."""
    frame, note = embedding_frame(studio, source, uploads, model, method, color)
    cleared = ([], "", None, "")
    if frame is None:
        return gr.update(value=None, visible=False), note, None, *cleared
    names = [str(c) for c in studio.artifact(model, source, uploads).arrays["class_names"]]
    return gr.update(value=figure(frame, color, names), visible=True), note, frame, *cleared


def taken_down(frame: pd.DataFrame | None) -> tuple:
    """The drawn map (and any selection on it) belonged to another choice or data: take it down rather than
    mislead (its rows no longer match the artifact). Nothing drawn: nothing to do."""
    if frame is None:
        return UNTOUCHED
    return (
        gr.update(value=None, visible=False),
        "Press **Show** to draw the map for this choice.",
        None,
        [],
        "",
        None,
        "",
    )


def after_new_uploads(frame: pd.DataFrame | None, source: str) -> tuple:
    """A new *Evaluate your data* replaced the uploaded artifacts: a map of the old upload is taken down, even when
    the source stays on *your data* (the radio then fires no change of its own)."""
    return taken_down(frame) if source == UPLOAD_SOURCE else UNTOUCHED


def faces_selected(
    studio: Studio, frame: pd.DataFrame | None, source: str, uploads: dict, model: str, rows: Any
) -> tuple[list, str]:
    """The faces of the lassoed/boxed points (``rows``: their row numbers), most confident first."""
    if frame is None or not isinstance(rows, (list, tuple)) or not rows:
        return [], ""
    picked = frame[frame["row"].isin([int(r) for r in rows])].sort_values("confidence", ascending=False)
    thumbs = studio.artifact(model, source, uploads).arrays["thumbnails"]
    gallery = [
        (thumbs[r.row], f"{r.confidence:.0%} · true {r.true} / predicted {r.predicted}")
        for r in picked.head(MAX_GALLERY).itertuples()
    ]
    wrong = int((picked["correct?"] == "wrong").sum())
    return gallery, f"{len(picked)} faces selected, {wrong} of them misclassified" + (
        f"; showing the {MAX_GALLERY} most confident" if len(picked) > MAX_GALLERY else ""
    )


def face_at(
    studio: Studio, frame: pd.DataFrame | None, source: str, uploads: dict, model: str, row: Any
) -> tuple[np.ndarray | None, str]:
    """The face under the pointer, enlarged to ``HOVER_SIZE`` px, and its labels."""
    if frame is None or not isinstance(row, int) or not 0 <= row < len(frame):
        return None, ""
    r = frame.iloc[row]
    thumb = studio.artifact(model, source, uploads).arrays["thumbnails"][row]
    big = cv2.resize(thumb, (HOVER_SIZE, HOVER_SIZE), interpolation=cv2.INTER_CUBIC)
    return big, f"`{r['id']}`  \ntrue **{r['true']}**, predicted **{r['predicted']}** ({r['confidence']:.0%})"


def build(studio: Studio, shared: dict[str, Any]) -> None:
    uploads = shared["uploads"]
    with gr.Row():
        source, model = source_and_model(shared, tab="embeddings")
        method = gr.Radio(["t-SNE", "UMAP"], value="t-SNE", label="Method", elem_id="embeddings-method")
        color = gr.Radio(COLOR_BY, value="true label", label="Colour by", elem_id="embeddings-colour")
    show_button = gr.Button("Show", variant="primary")
    note = gr.Markdown(elem_id="embedding-note")
    with gr.Row():
        plot = gr.Plot(label="Features the last linear layer sees", elem_id="embedding-plot", visible=False, scale=4)
        with gr.Column(scale=1, min_width=180):
            hovered = gr.Image(
                label="Face under the pointer", interactive=False, height=HOVER_SIZE + 40, elem_id="embedding-hover"
            )
            hover_note = gr.Markdown(elem_id="embedding-hover-note")
    bridge = plotly_bridge("embedding-plot")
    frame = gr.State(None)
    selected = gr.Markdown(elem_id="embedding-selected")
    gallery = gr.Gallery(label="Selected faces", columns=8, height="auto", elem_id="embedding-gallery")
    inputs = [source, uploads, model, method, color]
    outputs = [plot, note, frame, gallery, selected, hovered, hover_note]

    def on_show(*args: Any) -> tuple:
        return show(studio, *args)

    def on_color(f: pd.DataFrame | None, *args: Any) -> tuple:
        # A new colouring reuses the cached map: redraw at once. Before the first Show there is nothing to redraw.
        return tuple(gr.skip() for _ in outputs) if f is None else show(studio, *args)

    show_button.click(on_show, inputs, outputs, api_name=False, concurrency_limit=2)
    color.change(on_color, [frame, *inputs], outputs, api_name=False, concurrency_limit=2, trigger_mode="always_last")
    for control in (source, model, method):
        control.change(taken_down, frame, outputs, api_name=False, show_progress="hidden")
    uploads.change(after_new_uploads, [frame, source], outputs, api_name=False, show_progress="hidden")

    def on_select(f: pd.DataFrame | None, s: str, u: dict, m: str, evt: gr.SelectData) -> tuple:
        return faces_selected(studio, f, s, u, m, evt.index)

    def on_hover(f: pd.DataFrame | None, s: str, u: dict, m: str, evt: gr.EventData) -> tuple:
        return face_at(studio, f, s, u, m, evt.index)

    bridge.select(on_select, [frame, source, uploads, model], [gallery, selected], api_name=False)
    bridge.hover(
        on_hover,
        [frame, source, uploads, model],
        [hovered, hover_note],
        api_name=False,
        trigger_mode="always_last",
        show_progress="hidden",
    )
