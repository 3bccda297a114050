"""Confusion matrix: per model, raw or normalised; choose a cell to see the faces behind it and explain one."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
import torch

import fer
from demo.studio import UPLOAD_SOURCE, Studio
from demo.views import accuracy_text, empty_state, source_and_model, weights_note
from fer.evaluation.confusion import NORMALIZATIONS, cell_indices, confusion
from fer.explain.cam import compute_cam
from fer.explain.overlay import DISPLAY_SIZE, cam_display
from fer.faces import face_tensor, whole_image_face

MAX_GALLERY = 48
CORNER = "true \\ predicted"
CLEARED = ([], [], "", None, "")  # a new matrix (or choice) empties the previous cell's drill-down


def taken_down() -> tuple:
    """Matrix hidden, note, drill-down (gallery, its rows, cell note, map, map note) emptied: for another choice."""
    return gr.update(visible=False), "Press **Show** for this choice.", *CLEARED


def after_new_uploads(source: str) -> tuple:
    """A new *Evaluate your data* replaced the uploaded artifacts: a matrix and cell of the old upload would pair
    faces with the wrong rows, even when the source stays on *your data* (the radio then fires no change)."""
    return taken_down() if source == UPLOAD_SOURCE else tuple(gr.skip() for _ in range(2 + len(CLEARED)))


def heat(table: pd.DataFrame) -> Any:
    """The matrix as a heatmap table: each count's cell shaded from white to mid-blue by its share of the largest
    (black text stays readable on every shade, even on Gradio's white selected cell); class names in bold."""
    values = table.iloc[:, 1:].to_numpy(dtype=float)
    scale = values / values.max() if values.max() > 0 else values

    def shade(frame: pd.DataFrame) -> pd.DataFrame:
        css = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for (i, j), v in np.ndenumerate(scale):
            r, g, b = (round(255 + (c - 255) * v) for c in (66, 146, 198))  # white to a blue 6:1 against black
            css.iloc[i, j + 1] = f"background-color: rgb({r},{g},{b}); color: black; cursor: pointer"
        css.iloc[:, 0] = "font-weight: bold"
        return css

    return table.style.apply(shade, axis=None)


def matrix(studio: Studio, source: str, uploads: dict, model: str, norm: str) -> tuple:
    """The confusion matrix as a table (first column: the true class) and a note; (None, message) without data."""
    art = studio.artifact(model, source, uploads)
    if art is None:
        return None, empty_state(fer.get_spec(model).display_name, source)
    names = [str(c) for c in art.arrays["class_names"]]
    cm = confusion(art.arrays["y_true"], art.arrays["y_pred"], len(names), NORMALIZATIONS[norm])
    fmt = (lambda v: int(v)) if NORMALIZATIONS[norm] is None else (lambda v: round(float(v), 2))
    table = pd.DataFrame([[n, *[fmt(v) for v in row]] for n, row in zip(names, cm)], columns=[CORNER, *names])
    note = (
        f"{fer.get_spec(model).display_name} on {art.label}: accuracy {accuracy_text(art.metrics)}. "
        f"{weights_note(art)}\n\n"
        "Rows: the true class; columns: the predicted one. **Click a cell** to see its faces."
    )
    return table, note


def cell_faces(studio: Studio, source: str, uploads: dict, model: str, evt: gr.SelectData) -> tuple:
    """The faces of the clicked cell, most confident first, captioned true / predicted / confidence."""
    row, col = evt.index
    if col == 0:
        return [], [], "Click a number, not a class name."
    art = studio.artifact(model, source, uploads)
    if art is None:
        return [], [], ""
    names = [str(c) for c in art.arrays["class_names"]]
    t, p = row, col - 1
    idx = cell_indices(art.arrays["y_true"], art.arrays["y_pred"], t, p)
    idx = idx[art.arrays["probs"][idx, p].argsort()[::-1]]  # most confident first
    shown = idx[:MAX_GALLERY]
    gallery = [
        # The confidence first: a narrow caption is cut at its end, and in one cell only the confidence differs.
        (art.arrays["thumbnails"][i], f"{art.arrays['probs'][i, p]:.0%} · true {names[t]} / predicted {names[p]}")
        for i in shown
    ]
    return (
        gallery,
        shown.tolist(),
        f"{len(idx)} faces labelled **{names[t]}**, predicted **{names[p]}**"
        + (f" (showing the {MAX_GALLERY} most confident)" if len(idx) > MAX_GALLERY else "")
        + ("." if len(idx) else ": none. Click another cell.")
        + (" Click a face to explain it." if len(idx) else ""),
    )


def explain_cell_face(studio: Studio, source: str, uploads: dict, model: str, shown: list, evt: gr.SelectData):  # noqa: ANN201
    art = studio.artifact(model, source, uploads)
    i = shown[evt.index]
    thumb = art.arrays["thumbnails"][i]
    face = whole_image_face(thumb)
    loaded = studio.zoo.get(model)
    x = face_tensor(face, loaded.model.spec.input).contiguous(memory_format=torch.channels_last)
    result = compute_cam(loaded.model, x)
    cls = loaded.class_names[result.targets[0]]
    state = "" if loaded.trained else " ⚠️ untrained weights: the map is not meaningful"
    return cam_display(thumb, result.cams[0]), f"Grad-CAM of '{cls}' for {art.arrays['ids'][i]}{state}"


def build(studio: Studio, shared: dict[str, Any]) -> None:
    uploads = shared["uploads"]
    with gr.Row():
        source, model = source_and_model(shared, tab="confusion")
        norm = gr.Radio(list(NORMALIZATIONS), value="raw", label="Values")
    show = gr.Button("Show", variant="primary")
    note = gr.Markdown(elem_id="confusion-note")
    table = gr.Dataframe(
        label="Confusion matrix (click a cell)", interactive=False, visible=False, elem_id="confusion-table"
    )
    cell_note = gr.Markdown(elem_id="cell-note")
    shown = gr.State([])
    with gr.Row():
        gallery = gr.Gallery(
            label="Faces in the cell (click one to explain it)", columns=8, height="auto", elem_id="cell-gallery"
        )
        with gr.Column():
            cam = gr.Image(label="Grad-CAM", interactive=False, height=DISPLAY_SIZE + 60)
            cam_note = gr.Markdown()
    inputs = [source, uploads, model]
    drill = [gallery, shown, cell_note, cam, cam_note]

    def on_show(s: str, u: dict, m: str, n: str) -> tuple:
        frame, text = matrix(studio, s, u, m, n)
        if frame is None:
            return gr.update(value=None, visible=False), text, *CLEARED
        return gr.update(value=heat(frame), visible=True), text, *CLEARED

    def on_cell(s: str, u: dict, m: str, evt: gr.SelectData) -> tuple:
        return *cell_faces(studio, s, u, m, evt), None, ""

    def on_face(s: str, u: dict, m: str, sh: list, evt: gr.SelectData) -> tuple:
        return explain_cell_face(studio, s, u, m, sh, evt)

    show.click(on_show, [*inputs, norm], [table, note, *drill], api_name=False)
    for control in (source, model):
        control.change(taken_down, None, [table, note, *drill], api_name=False, show_progress="hidden")
    uploads.change(after_new_uploads, source, [table, note, *drill], api_name=False, show_progress="hidden")
    norm.change(on_show, [*inputs, norm], [table, note, *drill], api_name=False, show_progress="hidden")
    table.select(on_cell, inputs, drill, api_name=False)
    gallery.select(on_face, [*inputs, shown], [cam, cam_note], api_name=False)
