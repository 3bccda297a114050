"""Embeddings: t-SNE or UMAP of a model's features on its evaluation artifact; select a range to see the faces."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

import fer
from demo.studio import Studio
from demo.views import source_and_model

COLOR_BY = ["true label", "predicted label", "correct?"]
MAX_GALLERY = 60


def embedding_frame(studio: Studio, source: str, uploads: dict, model: str, method: str, color: str) -> tuple:
    art = studio.artifact(model, source, uploads)
    if art is None:
        return None, f"No evaluation artifact for {fer.get_spec(model).display_name} ({source}).", None
    a = art.arrays
    coords = studio.embeddings.get(
        model, art.path / "predictions.npz", a["features"], "umap" if method == "UMAP" else "tsne"
    )
    names = [str(c) for c in a["class_names"]]
    true = [names[i] for i in a["y_true"]]
    pred = [names[i] for i in a["y_pred"]]
    frame = pd.DataFrame(
        {
            "x": coords[:, 0],
            "y": coords[:, 1],
            "id": a["ids"],
            "true": true,
            "predicted": pred,
            "confidence": a["probs"].max(1).round(3),
            "correct?": np.where(a["y_true"] == a["y_pred"], "correct", "wrong"),
            "row": np.arange(len(true)),
        }
    )
    frame["color"] = frame[{"true label": "true", "predicted label": "predicted", "correct?": "correct?"}[color]]
    note = f"{method} of {len(frame)} faces ({art.label}). Drag across the plot to select a range of x."
    return frame, note, frame


def faces_in_range(
    studio: Studio, frame: pd.DataFrame | None, source: str, uploads: dict, model: str, selection: gr.SelectData
) -> tuple[list, str]:
    if frame is None or not isinstance(selection.index, (list, tuple)) or len(selection.index) != 2:
        return [], "Drag across the plot to select faces."
    lo, hi = sorted(float(v) for v in selection.index)
    picked = frame[(frame["x"] >= lo) & (frame["x"] <= hi)]
    art = studio.artifact(model, source, uploads)
    thumbs = art.arrays["thumbnails"]
    gallery = [
        (thumbs[r.row], f"true {r.true} · predicted {r.predicted} ({r.confidence:.0%})")
        for r in picked.head(MAX_GALLERY).itertuples()
    ]
    return gallery, f"{len(picked)} faces with x in [{lo:.1f}, {hi:.1f}]" + (
        f"; showing {MAX_GALLERY}" if len(picked) > MAX_GALLERY else ""
    )


def build(studio: Studio, shared: dict[str, Any]) -> None:
    uploads = shared["uploads"]
    with gr.Row():
        source, model = source_and_model()
        method = gr.Radio(["t-SNE", "UMAP"], value="t-SNE", label="Method")
        color = gr.Radio(COLOR_BY, value="true label", label="Colour by")
    show = gr.Button("Show", variant="primary")
    note = gr.Markdown()
    plot = gr.ScatterPlot(
        x="x",
        y="y",
        color="color",
        tooltip=["id", "true", "predicted", "confidence"],
        height=480,
        label="Features the last linear layer sees",
        elem_id="embedding-plot",
    )
    frame = gr.State(None)
    gallery = gr.Gallery(label="Selected faces", columns=10, height="auto")
    selected = gr.Markdown()
    inputs = [source, uploads, model, method, color]
    show.click(lambda *a: embedding_frame(studio, *a), inputs, [plot, note, frame], api_name=False, concurrency_limit=2)

    def on_select(f: pd.DataFrame | None, s: str, u: dict, m: str, evt: gr.SelectData) -> tuple:
        return faces_in_range(studio, f, s, u, m, evt)

    plot.select(on_select, [frame, source, uploads, model], [gallery, selected], api_name=False)
