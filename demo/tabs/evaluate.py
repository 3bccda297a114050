"""Evaluate your data: a zip of labelled folders, the four models run over it, results in the other tabs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

import fer
from demo.limits import EVALUATE_TIME_LIMIT_S, HEAVY, HEAVY_SLOTS, MAX_UPLOAD, request_budget
from demo.messages import friendly, user_message
from demo.studio import UPLOAD_SOURCE, Studio
from demo.views import accuracy_text
from fer.budget import BudgetExceeded
from fer.data import DataError
from fer.data.upload import MAX_FILES, faces_from_zip
from fer.evaluation.evaluate import evaluate_to_artifact


def evaluate_upload(
    studio: Studio,
    zip_path: str | None,
    uploads: dict,
    progress: gr.Progress = gr.Progress(),
    skip_bad: bool = True,
) -> tuple[dict, pd.DataFrame | None, str]:
    """Read the zip (per-image progress), run the four models, all within one time budget."""
    if not zip_path:
        return uploads, None, "Upload a .zip whose folders are class names (angry/, happy/, ...)."
    progress(0, desc="Reading the zip")
    out = studio.new_upload_dir()  # this session's artifacts; other users never see them
    try:
        with request_budget(EVALUATE_TIME_LIMIT_S, "The evaluation"):
            faces = faces_from_zip(
                zip_path,
                skip_bad=skip_bad,
                progress=lambda done, total: progress((done, total), desc="Reading images", unit="images"),
            )
            new, rows = _run_models(studio, faces, out, progress)
    except (DataError, BudgetExceeded) as exc:
        shutil.rmtree(out, ignore_errors=True)
        return uploads, None, user_message(exc)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    studio.remove_uploads(uploads)  # the session's previous evaluation: replaced, so deleted
    counts = ", ".join(f"{k} {v}" for k, v in faces.class_counts().items() if v)
    notes = "".join(f"\n- {n}" for n in faces.notes)
    return (
        new,
        pd.DataFrame(rows),
        (
            f"Read {len(faces)} faces ({counts}).{notes}\n\nExplore them in the Compare, Embeddings and "
            "Confusion tabs (*your data*; they switch to it when the trained checkpoints have no evaluation)."
        ),
    )


def results(evaluated: tuple[dict, pd.DataFrame | None, str]) -> tuple[dict, dict, str]:
    """``evaluate_upload``'s outputs with the table as one update: its rows, shown only when there are some (no
    second event that sends the whole table back to the server just to show it)."""
    uploads, table, note = evaluated
    return uploads, gr.update(value=table, visible=table is not None and len(table) > 0), note


def source_after_evaluation(studio: Studio, uploads: dict, current: str, model: str | None) -> str:
    """Where an artifact tab's source goes after an evaluation: a tab already on *your data* stays there (it now
    shows the new upload); any other opens on data it can show (``Studio.default_source``)."""
    if current == UPLOAD_SOURCE and any(
        studio.has_artifact(m, UPLOAD_SOURCE, uploads) for m in ([model] if model else fer.list_models())
    ):
        return UPLOAD_SOURCE
    return studio.default_source(uploads, model)


def _run_models(studio: Studio, faces: Any, out: Path, progress: gr.Progress) -> tuple[dict, list]:
    new, rows = {}, []
    for name in progress.tqdm(fer.list_models(), desc="Running the models"):
        loaded = studio.zoo.get(name)
        metrics = evaluate_to_artifact(
            loaded.model,
            faces,
            out / name,
            class_names=loaded.class_names,
            batch_size=32,
            info={"checkpoint": loaded.note, "trained": loaded.trained},
            temperature=loaded.meta.get("temperature") if loaded.trained else None,  # ECE before/after its T
        )
        new[name] = str(out / name)
        rows.append(
            {
                "model": fer.get_spec(name).display_name,
                "accuracy": accuracy_text(metrics),  # beside its chance and majority-class baselines
                "macro-F1": round(metrics["macro_f1"], 3),
                "faces": metrics["n_samples"],
                "weights": "trained" if loaded.trained else "⚠️ untrained",
            }
        )
    return new, rows


def build(studio: Studio, shared: dict[str, Any]) -> None:
    gr.Markdown(
        "Upload a **zip of labelled folders** (`happy/001.jpg`, `sad/...`; FER2013, CK+ or your own). Folders of "
        "face crops (up to 128 px) are used as they are; larger photos go through face detection.\n\n"
        f"Limits: a zip of at most {MAX_UPLOAD.upper()} with up to {MAX_FILES:,} images, standard (deflate) "
        f"compression; the whole evaluation stops after {EVALUATE_TIME_LIMIT_S / 60:.0f} minutes or when you "
        "leave the page. Results are kept for your session only."
    )
    upload = gr.File(label="Zip of labelled folders", file_types=[".zip"], type="filepath", elem_id="evaluate-upload")
    skip = gr.Checkbox(value=True, label="Skip unreadable files (and list them) instead of stopping")
    run = gr.Button("Evaluate the four models", variant="primary")
    table = gr.Dataframe(label="Results", interactive=False, visible=False, elem_id="evaluate-results")
    note = gr.Markdown(elem_id="evaluate-note")
    # The artifact tabs' (source, model) controls: after an evaluation each opens on data it can show.
    sources = shared.get("sources", [])
    radios, models = [s for s, _ in sources], [m for _, m in sources if m is not None]

    def switch_sources(ups: dict, *values: str) -> list:
        current, picks = iter(values[: len(radios)]), iter(values[len(radios) :])
        return [
            source_after_evaluation(studio, ups, next(current), next(picks) if m is not None else None)
            for _, m in sources
        ]

    # A tab whose source stays on *your data* fires no change: the tabs clear their selections on the uploads'.
    run.click(
        friendly(lambda z, u, sk, progress=gr.Progress(): results(evaluate_upload(studio, z, u, progress, sk))),
        [upload, shared["uploads"], skip],
        [shared["uploads"], table, note],
        api_name=False,
        concurrency_limit=HEAVY_SLOTS,
        concurrency_id=HEAVY,
    ).then(switch_sources, [shared["uploads"], *radios, *models], radios, api_name=False, show_progress="hidden")
