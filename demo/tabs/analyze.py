"""Analyze: a photo in, the four models side by side: probabilities, top class, CAM overlay, agreement."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

import fer
from demo.limits import (
    ANALYZE_TIME_LIMIT_S,
    HEAVY,
    HEAVY_SLOTS,
    MAX_FACES,
    SCORE_CAM,
    request_budget,
    score_cam_refusal,
)
from demo.messages import friendly, user_message
from demo.studio import Studio
from demo.views import (
    agreement_line,
    agreement_table,
    calibration_caption,
    consensus_overlay,
    draw_boxes,
    draw_regions,
    model_caption,
    region_bars,
)
from fer.budget import BudgetExceeded
from fer.explain.methods import CAM_LABELS
from fer.explain.overlay import overlay_on_crop
from fer.faces import largest_faces
from fer.images import DETECT_MAX_SIDE, ImageError, load_image

TOP = "top class"
MODEL_IDS = fer.list_models()


def model_choices() -> list[tuple[str, str]]:
    return [(fer.get_spec(m).display_name, m) for m in MODEL_IDS]


def cam_choices() -> list[tuple[str, str]]:
    return [(label, key) for key, label in CAM_LABELS.items()]


def run_analysis(
    studio: Studio,
    upload: str | None,
    snapshot: np.ndarray | None,
    method: str,
    target: str,
    models: list[str],
    whole: bool,
    align: bool = True,
) -> tuple[dict[str, Any] | None, str]:
    """The session's analysis state (photo + faces), or None and a message saying what went wrong."""
    source = upload if upload is not None else snapshot
    if source is None:
        return None, "Upload a photo, take a webcam snapshot or paste one, then press Analyze."
    if not models:
        return None, "Choose at least one model."
    try:
        photo = load_image(source, max_side=DETECT_MAX_SIDE)  # detection needs no more; memory stays bounded
    except ImageError as exc:
        return None, user_message(exc)
    try:
        with request_budget(ANALYZE_TIME_LIMIT_S, "The analysis"):
            _, faces = studio.analyzer.faces(photo, whole_image=whole, align=align)
            if not faces:
                return {"photo": photo, "faces": []}, (
                    "No face found. Tick *No face found? Analyse the whole image* to read the whole photo as one face."
                )
            note = ""
            if len(faces) > MAX_FACES:
                note = f"{len(faces)} faces found; the {MAX_FACES} largest are analysed.\n\n"
                faces = largest_faces(faces, MAX_FACES)
            if method == SCORE_CAM:
                refusal = score_cam_refusal(models, len(faces)) or studio.score_cam_refusal(models[0])
                if refusal:
                    return None, "⚠️ " + refusal
            results = studio.analyzer.analyze_faces(faces, models, method, target=None if target == TOP else target)
    except (BudgetExceeded, ValueError) as exc:
        return None, user_message(exc)
    return {"photo": photo, "faces": results, "method": method}, note


def score_cam_note(studio: Studio, method: str, models: list[str]) -> str:
    """Shown as soon as Score-CAM is chosen, before anything runs: its cost and when it is offered."""
    if method != SCORE_CAM:
        return ""
    if len(models) != 1:
        return "⏱️ " + (score_cam_refusal(models, 1) or "Choose one model for Score-CAM.")
    seconds = studio.score_cam_seconds(models[0])
    return (
        f"⏱️ Score-CAM with {fer.get_spec(models[0]).display_name}: about {seconds:.0f} s for one face on this "
        f"server (time limit {ANALYZE_TIME_LIMIT_S:.0f} s). Offered for one model and a photo with one face."
    )


def render(
    state: dict[str, Any] | None, face_index: int, message: str, landmarks: bool = False, outlines: bool = False
) -> list[Any]:
    """Outputs for the chosen face: boxes (and ``landmarks``), face picker, summary, then (label, CAM, region
    bars) per model slot; with ``outlines``, the facial regions drawn on each CAM."""
    slots: list[Any] = []
    if not state or not state["faces"]:
        photo = None if not state else state["photo"]
        for name in MODEL_IDS:
            slots += [
                gr.update(value=None, visible=True, label=fer.get_spec(name).display_name),
                gr.update(value=None, visible=True),
                gr.update(value="", visible=True),
            ]
        return [photo, gr.update(choices=[], value=None, visible=False), message, *slots]
    faces = state["faces"]
    face_index = min(max(face_index, 0), len(faces) - 1)
    face = faces[face_index]
    method = CAM_LABELS.get(state.get("method"), "CAM")
    for name in MODEL_IDS:
        result = face.models.get(name)
        if result is None:
            slots += [gr.update(visible=False), gr.update(visible=False), gr.update(visible=False)]
            continue
        overlay = overlay_on_crop(face.face.gray, result.cam) if result.cam is not None else None
        if overlay is not None and outlines:
            overlay = draw_regions(overlay, face.face)
        caption = model_caption(name, result.trained, calibration_caption(result))
        slots += [
            gr.update(value=result.probs, label=f"{caption}: {result.top}", visible=True),
            gr.update(value=overlay, label=f"{method} for '{result.cam_class}' ({caption})", visible=True),
            gr.update(value=region_bars(result), visible=True),
        ]
    picker = gr.update(
        choices=[(f"face {i + 1}", i) for i in range(len(faces))], value=face_index, visible=len(faces) > 1
    )
    lead = "Analysed the whole image (no face detected).\n\n" if face.whole_image else ""
    summary = message + lead + f"{len(faces)} face(s) found; showing face {face_index + 1}.\n\n" + agreement_line(face)
    table = agreement_table(face)
    summary += "\n\n" + table if table else ""
    return [draw_boxes(state["photo"], faces, face_index, landmarks), picker, summary, *slots]


def render_consensus(state: dict[str, Any] | None, face_index: int | None) -> dict:
    """The chosen face's consensus map (mean of the models' normalised maps), hidden with fewer than two maps."""
    faces = (state or {}).get("faces") or []
    face = faces[min(max(face_index or 0, 0), len(faces) - 1)] if faces else None
    overlay = consensus_overlay(face) if face is not None else None
    return gr.update(value=overlay, visible=overlay is not None)


def build(studio: Studio, shared: dict[str, Any], examples: list[str]) -> None:
    state = shared["analysis"]
    with gr.Row():
        with gr.Column(scale=1):
            upload = gr.File(label="Photo (any image file)", file_types=["image"], type="filepath")
            snapshot = gr.Image(
                label="…or a webcam snapshot / clipboard", sources=["webcam", "clipboard"], type="numpy"
            )
            method = gr.Dropdown(cam_choices(), value="gradcam", label="CAM method")
            cost = gr.Markdown(elem_id="cam-cost")
            target = gr.Dropdown([TOP, *fer.FERPLUS_CLASSES], value=TOP, label="Class to explain")
            models = gr.CheckboxGroup(model_choices(), value=MODEL_IDS, label="Models")
            whole = gr.Checkbox(label="No face found? Analyse the whole image", value=False)
            align = gr.Checkbox(label="Align faces (eyes level, same crop for every model)", value=True)
            show_landmarks = gr.Checkbox(label="Show landmarks (eyes, nose, mouth corners)", value=False)
            show_regions = gr.Checkbox(label="Outline the facial regions on the maps", value=False)
            run = gr.Button("Analyze", variant="primary")
        with gr.Column(scale=2):
            boxes = gr.Image(label="Faces found", interactive=False, height=360)
            picker = shared["face_picker"] = gr.Radio(label="Face", choices=[], visible=False)
            summary = gr.Markdown(elem_id="agreement")
            consensus = gr.Image(
                label="Consensus map: the mean of the models' normalised maps",
                interactive=False, height=220, visible=False, elem_id="consensus-map",
            )  # fmt: skip
    slots = []
    with gr.Row():
        for name in MODEL_IDS:
            with gr.Column(min_width=200):
                slots.append(
                    gr.Label(num_top_classes=8, label=fer.get_spec(name).display_name, elem_classes=["model-probs"])
                )
                slots.append(gr.Image(label="CAM", interactive=False, height=220, elem_classes=["model-cam"]))
                slots.append(gr.Markdown(elem_classes=["model-regions"]))
    outputs = [boxes, picker, summary, *slots]

    @friendly
    def analyze(upload, snapshot, method, target, models, whole, align, marks, outlines):  # noqa: ANN001, ANN202
        new_state, message = run_analysis(studio, upload, snapshot, method, target, models, whole, align)
        return [new_state, *render(new_state, 0, message, marks, outlines)]

    inputs = [upload, snapshot, method, target, models, whole, align, show_landmarks, show_regions]
    heavy = {"api_name": False, "concurrency_limit": HEAVY_SLOTS, "concurrency_id": HEAVY}
    show_consensus = {"fn": render_consensus, "inputs": [state, picker], "outputs": consensus, "api_name": False}
    run.click(analyze, inputs, [state, *outputs], **heavy).then(**show_consensus)
    upload.change(analyze, inputs, [state, *outputs], **heavy).then(**show_consensus)
    for control in (method, models):
        control.change(friendly(lambda m, ms: score_cam_note(studio, m, ms)), [method, models], cost, **heavy)

    def redraw(s, i, m, o):  # noqa: ANN001, ANN202
        return render(s, i or 0, "", m, o)

    for control in (picker, show_landmarks, show_regions):
        control.input(redraw, [state, picker, show_landmarks, show_regions], outputs, api_name=False)
    picker.input(**show_consensus)
    if examples:
        # Not pre-computed: nothing heavy at start-up (Spaces would otherwise run every example at launch).
        gr.Examples(
            examples, inputs=[upload], label="Examples (public-domain photos from scikit-image)", cache_examples=False
        )
