"""Evaluate your data: a zip of labelled folders, the four models run over it, results in the other tabs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

import fer
from demo.studio import Studio
from fer.data import DataError
from fer.data.upload import faces_from_zip
from fer.evaluation.evaluate import evaluate_to_artifact


def evaluate_upload(
    studio: Studio,
    zip_path: str | None,
    uploads: dict,
    progress: gr.Progress = gr.Progress(),
) -> tuple[dict, pd.DataFrame | None, str]:
    if not zip_path:
        return uploads, None, "Upload a .zip whose folders are class names (angry/, happy/, ...)."
    progress(0, desc="Reading the zip")
    try:
        faces = faces_from_zip(zip_path)
    except DataError as exc:
        return uploads, None, f"⚠️ {exc}"
    out = Path(tempfile.mkdtemp(prefix="fer-upload-"))  # this session's artifacts; other users never see them
    new, rows = {}, []
    for name in progress.tqdm(fer.list_models(), desc="Running the models"):
        loaded = studio.zoo.get(name)
        metrics = evaluate_to_artifact(
            loaded.model,
            faces,
            out / name,
            class_names=loaded.class_names,
            batch_size=32,
            info={"checkpoint": loaded.note},
        )
        new[name] = str(out / name)
        rows.append(
            {
                "model": fer.get_spec(name).display_name,
                "accuracy": f"{metrics['accuracy']:.2%}",
                "macro-F1": round(metrics["macro_f1"], 3),
                "faces": metrics["n_samples"],
                "weights": "trained" if loaded.trained else "untrained",
            }
        )
    counts = ", ".join(f"{k} {v}" for k, v in faces.class_counts().items() if v)
    notes = "".join(f"\n- {n}" for n in faces.notes)
    return (
        new,
        pd.DataFrame(rows),
        (
            f"Read {len(faces)} faces ({counts}).{notes}\n\nChoose *your data* in the "
            "Compare, Embeddings and Confusion tabs to explore them."
        ),
    )


def build(studio: Studio, shared: dict[str, Any]) -> None:
    gr.Markdown(
        "Upload a **zip of labelled folders** (`happy/001.jpg`, `sad/...`; FER2013, CK+ or your own). Folders of "
        "face crops (up to 128 px) are used as they are; larger photos go through face detection."
    )
    upload = gr.File(label="Zip of labelled folders", file_types=[".zip"], type="filepath")
    run = gr.Button("Evaluate the four models", variant="primary")
    table = gr.Dataframe(label="Results", interactive=False)
    note = gr.Markdown()
    run.click(
        lambda z, u, progress=gr.Progress(): evaluate_upload(studio, z, u, progress),
        [upload, shared["uploads"]],
        [shared["uploads"], table, note],
        api_name=False,
        concurrency_limit=1,
    )
