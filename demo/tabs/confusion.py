"""Confusion matrix: per model, raw or normalised; choose a cell to see the faces behind it and explain one."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd
import plotly.express as px
import torch

import fer
from demo.studio import Studio
from demo.views import source_and_model
from fer.evaluation.confusion import NORMALIZATIONS, cell_indices, confusion
from fer.explain.cam import compute_cam
from fer.explain.overlay import overlay_on_crop
from fer.faces import face_tensor, whole_image_face

MAX_GALLERY = 48


def matrix(studio: Studio, source: str, uploads: dict, model: str, norm: str) -> tuple:
    art = studio.artifact(model, source, uploads)
    if art is None:
        return None, None, f"No evaluation artifact for {fer.get_spec(model).display_name} ({source})."
    names = [str(c) for c in art.arrays["class_names"]]
    cm = confusion(art.arrays["y_true"], art.arrays["y_pred"], len(names), NORMALIZATIONS[norm])
    fmt = (lambda v: int(v)) if NORMALIZATIONS[norm] is None else (lambda v: round(float(v), 3))
    table = pd.DataFrame(
        [[n, *[fmt(v) for v in row]] for n, row in zip(names, cm)], columns=["true \\ predicted", *names]
    )
    fig = px.imshow(
        cm,
        x=names,
        y=names,
        text_auto=".2f" if NORMALIZATIONS[norm] else True,
        color_continuous_scale="Blues",
        labels={"x": "predicted", "y": "true", "color": norm},
    )
    fig.update_layout(height=460, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return (
        fig,
        table,
        (
            f"{fer.get_spec(model).display_name} on {art.label}: accuracy "
            f"{art.metrics['accuracy']:.2%}. Click a cell of the table to see its faces."
        ),
    )


def cell_faces(studio: Studio, source: str, uploads: dict, model: str, evt: gr.SelectData) -> tuple:
    row, col = evt.index
    if col == 0:
        return [], [], "Click a number, not a class name."
    art = studio.artifact(model, source, uploads)
    names = [str(c) for c in art.arrays["class_names"]]
    t, p = row, col - 1
    idx = cell_indices(art.arrays["y_true"], art.arrays["y_pred"], t, p)
    idx = idx[art.arrays["probs"][idx, p].argsort()[::-1]]  # most confident first
    shown = idx[:MAX_GALLERY]
    gallery = [
        (art.arrays["thumbnails"][i], f"{art.arrays['ids'][i]} ({art.arrays['probs'][i, p]:.0%})") for i in shown
    ]
    return (
        gallery,
        shown.tolist(),
        f"{len(idx)} faces labelled **{names[t]}**, predicted **{names[p]}**"
        + (f" (showing the {MAX_GALLERY} most confident)" if len(idx) > MAX_GALLERY else ""),
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
    return overlay_on_crop(thumb, result.cams[0]), f"Grad-CAM of '{cls}' for {art.arrays['ids'][i]}"


def build(studio: Studio, shared: dict[str, Any]) -> None:
    uploads = shared["uploads"]
    with gr.Row():
        source, model = source_and_model()
        norm = gr.Radio(list(NORMALIZATIONS), value="raw", label="Values")
    show = gr.Button("Show", variant="primary")
    note = gr.Markdown()
    with gr.Row():
        heat = gr.Plot(label="Confusion matrix")
        table = gr.Dataframe(label="Click a cell", interactive=False, elem_id="confusion-table")
    cell_note = gr.Markdown()
    shown = gr.State([])
    with gr.Row():
        gallery = gr.Gallery(
            label="Faces in the cell (click one to explain it)", columns=8, height="auto", elem_id="cell-gallery"
        )
        with gr.Column():
            cam = gr.Image(label="Grad-CAM", interactive=False, height=240)
            cam_note = gr.Markdown()
    inputs = [source, uploads, model]
    show.click(lambda s, u, m, n: matrix(studio, s, u, m, n), [*inputs, norm], [heat, table, note], api_name=False)

    def on_cell(s: str, u: dict, m: str, evt: gr.SelectData) -> tuple:
        return cell_faces(studio, s, u, m, evt)

    def on_face(s: str, u: dict, m: str, sh: list, evt: gr.SelectData) -> tuple:
        return explain_cell_face(studio, s, u, m, sh, evt)

    table.select(on_cell, inputs, [gallery, shown, cell_note], api_name=False)
    gallery.select(on_face, [*inputs, shown], [cam, cam_note], api_name=False)
