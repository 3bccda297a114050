"""Explain: one face, one model, every CAM method side by side, each with its ROAD faithfulness score; below, the
dataset-level view (``demo/tabs/dataset_view.py``)."""

from __future__ import annotations

from typing import Any

import gradio as gr
import torch

import fer
from demo.limits import ANALYZE_TIME_LIMIT_S, HEAVY, HEAVY_SLOTS, request_budget
from demo.messages import friendly, user_message
from demo.studio import Studio
from demo.tabs import dataset_view
from fer.budget import BudgetExceeded
from fer.explain.cam import compute_cam
from fer.explain.faithfulness import road_score
from fer.explain.methods import CAM_LABELS
from fer.explain.overlay import overlay_on_crop
from fer.faces import face_tensor

TOP = "top class"


def explain_face(
    studio: Studio,
    state: dict | None,
    face_index: int,
    model_name: str,
    layer: str,
    target: str,
    with_score_cam: bool,
    progress: gr.Progress = gr.Progress(),
) -> tuple[list, str]:
    if not state or not state.get("faces"):
        return [], "Analyze a photo first (Analyze tab); its selected face is explained here."
    face = state["faces"][min(face_index or 0, len(state["faces"]) - 1)].face
    loaded = studio.zoo.get(model_name)
    model, classes = loaded.model, loaded.class_names
    if target != TOP and target not in classes:
        return [], f"{model.spec.display_name} has no class {target!r}."
    x = face_tensor(face, model.spec.input).contiguous(memory_format=torch.channels_last)
    if with_score_cam and (refusal := studio.score_cam_refusal(model_name)):
        return [], "⚠️ " + refusal
    methods = [m for m in CAM_LABELS if with_score_cam or m != "scorecam"]
    gallery = []
    try:
        with request_budget(ANALYZE_TIME_LIMIT_S, "Explain"):
            for method in progress.tqdm(methods, desc="CAM methods"):
                result = compute_cam(
                    model, x, method, targets=None if target == TOP else classes.index(target), layer=layer or None
                )
                score = float(road_score(model, x, result.cams, result.targets)[0])
                caption = f"{CAM_LABELS[method]} · ROAD {score:+.3f} · explains '{classes[result.targets[0]]}'"
                gallery.append((overlay_on_crop(face.gray, result.cams[0]), caption))
    except (ValueError, AttributeError, BudgetExceeded) as exc:
        return gallery, user_message(exc)
    note = "" if loaded.trained else "⚠️ Untrained weights: these maps explain a model that has learned nothing.\n\n"
    return gallery, note + (
        "ROAD (higher is better): how much the class's confidence drops when the pixels the map ranks most "
        "relevant are removed, against removing the least relevant ones, with noisy linear imputation."
    )


def build(studio: Studio, shared: dict[str, Any]) -> None:
    gr.Markdown("Explains the face selected in the **Analyze** tab with every CAM method of pytorch-grad-cam.")
    with gr.Row():
        model = gr.Dropdown(
            [(fer.get_spec(m).display_name, m) for m in fer.list_models()], value="resemotenet", label="Model"
        )
        layer = gr.Textbox(value=fer.get_spec("resemotenet").cam_target_layer, label="Layer (module name)")
        target = gr.Dropdown([TOP, *fer.FERPLUS_CLASSES], value=TOP, label="Class")
        score_cam = gr.Checkbox(label="Include Score-CAM (one forward pass per channel: slow on CPU)", value=False)
    run = gr.Button("Explain", variant="primary")
    gallery = gr.Gallery(label="CAM methods", columns=4, height="auto")
    note = gr.Markdown()
    model.change(lambda m: fer.get_spec(m).cam_target_layer, model, layer, api_name=False)

    @friendly
    def explain(s, i, m, lay, t, sc, progress=gr.Progress()):  # noqa: ANN001, ANN202, B008
        return explain_face(studio, s, i, m, lay, t, sc, progress)

    run.click(
        explain,
        [shared["analysis"], shared["face_picker"], model, layer, target, score_cam],
        [gallery, note],
        api_name=False,
        concurrency_limit=HEAVY_SLOTS,
        concurrency_id=HEAVY,
    )
    dataset_view.build(studio, shared)
