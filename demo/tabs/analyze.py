"""Analyze: a photo in, the four models side by side: probabilities, top class, CAM overlay, agreement."""

from __future__ import annotations

from dataclasses import dataclass
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
    draw_boxes,
    draw_regions,
    face_at,
    face_label,
    model_caption,
    region_bars,
)
from fer.budget import BudgetExceeded
from fer.explain.methods import CAM_LABELS
from fer.explain.overlay import COLORMAPS, DEFAULT_COLORMAP, DISPLAY_SIZE, cam_display
from fer.faces import color_crop, largest_faces
from fer.images import DETECT_MAX_SIDE, ImageError, load_image

TOP = "top class"
MODEL_IDS = fer.list_models()
FILE, SNAPSHOT = "file", "snapshot"  # which input came last: the one analysed


@dataclass(frozen=True)
class Display:
    """How the maps are drawn: nothing here re-runs a model."""

    landmarks: bool = False
    outlines: bool = False
    colormap: str = DEFAULT_COLORMAP
    alpha: float = 0.5
    on_color: bool = False


def model_choices() -> list[tuple[str, str]]:
    return [(fer.get_spec(m).display_name, m) for m in MODEL_IDS]


def cam_choices() -> list[tuple[str, str]]:
    return [(label, key) for key, label in CAM_LABELS.items()]


def class_choices(studio: Studio, models: list[str]) -> list[str]:
    """'top class' and every class some chosen model has, in FERPlus order: contempt only with an 8-class model."""
    have = {c for m in models or MODEL_IDS for c in studio.class_names(m)}
    return [TOP, *[c for c in fer.FERPLUS_CLASSES if c in have], *sorted(have - set(fer.FERPLUS_CLASSES))]


def _explain(
    studio: Studio, photo: np.ndarray, faces: list, method: str, target: str, models: list[str], note: str
) -> tuple[dict[str, Any] | None, str]:
    """Run the models on detected faces (inside the caller's time budget): the analysis state and a message."""
    if method == SCORE_CAM:
        refusal = score_cam_refusal(models, len(faces)) or studio.score_cam_refusal(models[0])
        if refusal:
            return None, "⚠️ " + refusal
    results = studio.analyzer.analyze_faces(faces, models, method, target=None if target == TOP else target)
    return {"photo": photo, "faces": results, "method": method, "target": target}, note


def run_analysis(
    studio: Studio,
    upload: str | None,
    snapshot: np.ndarray | None,
    method: str,
    target: str,
    models: list[str],
    whole: bool,
    align: bool = True,
    latest: str = FILE,
) -> tuple[dict[str, Any] | None, str]:
    """The session's analysis state (photo + faces), or None and a message saying what went wrong.

    With both a file and a snapshot, ``latest`` (the one given last) is analysed, and the message says so.
    """
    use_snapshot = snapshot is not None and (upload is None or latest == SNAPSHOT)
    source = snapshot if use_snapshot else upload
    if source is None:
        return None, "Upload a photo (or pick an example), take a webcam snapshot or paste one."
    if not models:
        return None, "Choose at least one model."
    both = upload is not None and snapshot is not None
    note = (
        f"Analysed the {'webcam snapshot' if use_snapshot else 'uploaded file'} (the newer input).\n\n" if both else ""
    )
    try:
        photo = load_image(source, max_side=DETECT_MAX_SIDE)  # detection needs no more; memory stays bounded
    except ImageError as exc:
        return None, user_message(exc)
    try:
        with request_budget(ANALYZE_TIME_LIMIT_S, "The analysis"):
            _, faces = studio.analyzer.faces(photo, whole_image=whole, align=align)
            if not faces:
                return {"photo": photo, "faces": []}, note + (
                    "No face found. Tick *No face found? Analyse the whole image* (options) to read the whole "
                    "photo as one face."
                )
            if len(faces) > MAX_FACES:
                note += f"{len(faces)} faces found; the {MAX_FACES} largest are analysed.\n\n"
                faces = largest_faces(faces, MAX_FACES)
            return _explain(studio, photo, faces, method, target, models, note)
    except (BudgetExceeded, ValueError) as exc:
        return None, user_message(exc)


def rerun(
    studio: Studio, state: dict[str, Any] | None, method: str, target: str, models: list[str]
) -> tuple[dict[str, Any] | None, str]:
    """The same faces again with another method, class or model set (no new detection). A refusal keeps the old
    results and says they are from before."""
    if not state or not state.get("faces"):
        return state, ""
    if not models:
        return state, "Choose at least one model."
    faces = [f.face for f in state["faces"]]
    try:
        with request_budget(ANALYZE_TIME_LIMIT_S, "The analysis"):
            new, message = _explain(studio, state["photo"], faces, method, target, models, "")
    except (BudgetExceeded, ValueError) as exc:
        new, message = None, user_message(exc)
    if new is None:
        before = CAM_LABELS.get(state.get("method"), "the previous method")
        return state, f"{message}\n\n(The results below are still {before}'s.)\n\n"
    return new, message


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


def cam_view(state: dict[str, Any], face: Any, cam: np.ndarray, display: Display) -> np.ndarray:
    """One map at the display size, over the gray crop the model saw or the colour photo cut the same way."""
    crop = color_crop(state["photo"], face.face) if display.on_color else face.face.gray
    image = cam_display(crop, cam, alpha=display.alpha, colormap=display.colormap)
    if display.outlines:
        image[:DISPLAY_SIZE] = draw_regions(np.ascontiguousarray(image[:DISPLAY_SIZE]), face.face)
    return image


def render(
    state: dict[str, Any] | None,
    face_index: int,
    message: str,
    landmarks: bool = False,
    outlines: bool = False,
    display: Display | None = None,
) -> list[Any]:
    """Outputs for the chosen face: boxes (and ``landmarks``), face picker, summary, then (label, CAM, region
    bars) per model slot, then the consensus map; with ``outlines``, the facial regions drawn on each CAM."""
    display = Display(landmarks, outlines) if display is None else display
    slots: list[Any] = []
    if not state or not state["faces"]:
        photo = None if not state else state["photo"]
        for name in MODEL_IDS:
            slots += [
                gr.update(value=None, visible=True, label=fer.get_spec(name).display_name),
                gr.update(value=None, visible=True),
                gr.update(value="", visible=True),
            ]
        hidden = gr.update(value=None, visible=False)
        return [photo, gr.update(choices=[], value=None, visible=False), message, *slots, hidden]
    faces = state["faces"]
    face_index = min(max(face_index, 0), len(faces) - 1)
    face = faces[face_index]
    method = CAM_LABELS.get(state.get("method"), "CAM")
    for name in MODEL_IDS:
        result = face.models.get(name)
        if result is None:
            slots += [gr.update(visible=False), gr.update(visible=False), gr.update(visible=False)]
            continue
        overlay = cam_view(state, face, result.cam, display) if result.cam is not None else None
        caption = model_caption(name, result.trained, calibration_caption(result))
        cam_label = f"Face {face_index + 1}: {method} for '{result.cam_class}' ({caption})"
        # Untrained: no big headline over flat bars (CSS hides it), the panel's label says what it is worth.
        headline = f"{caption}: {result.top}" if result.trained else caption
        slots += [
            gr.update(
                value=result.probs,
                label=headline,
                visible=True,
                elem_classes=["model-probs"] + ([] if result.trained else ["untrained"]),
            ),
            gr.update(value=overlay, label=cam_label, alt_text=cam_label, visible=True),
            gr.update(value=region_bars(result), visible=True),
        ]
    picker = gr.update(
        choices=[(f"face {i + 1}", i) for i in range(len(faces))], value=face_index, visible=len(faces) > 1
    )
    lead = "Analysed the whole image (no face detected).\n\n" if face.whole_image else ""
    count = f"{len(faces)} faces found, numbered left to right (click one on the photo); " if len(faces) > 1 else ""
    summary = message + lead + f"{count}showing face {face_index + 1}.\n\n" + agreement_line(face)
    table = agreement_table(face)
    summary += "\n\n" + table if table else ""
    labels = ", ".join(f"{i + 1} {face_label(f)}" for i, f in enumerate(faces))
    photo = gr.update(
        value=draw_boxes(state["photo"], faces, face_index, display.landmarks),
        alt_text=f"The photo with {len(faces)} face(s) boxed, numbered left to right: {labels}",
    )
    # The models' consensus map (mean of their normalised maps), drawn like theirs; hidden with fewer than two.
    agreement = face.cam_agreement
    consensus = (
        gr.update(value=cam_view(state, face, agreement.consensus, display), visible=True)
        if agreement is not None
        else gr.update(value=None, visible=False)
    )
    return [photo, picker, summary, *slots, consensus]


def build(studio: Studio, shared: dict[str, Any], examples: list[str]) -> None:
    state = shared["analysis"]
    latest = gr.State(FILE)
    # DOM order = the phone's order: input, results, maps, options; on a wide screen CSS puts options under input.
    with gr.Column(elem_id="analyze-main"):
        with gr.Column(elem_id="analyze-input"):
            upload = gr.File(
                label="Photo (any image file)",
                file_types=["image"],
                type="filepath",
                elem_id="analyze-upload",
            )
            # A loaded gr.File takes no new drop until it is cleared: this button replaces the photo in one step.
            another = gr.UploadButton(
                "Upload another photo", file_types=["image"], type="filepath", size="sm", elem_id="analyze-another"
            )
            if examples:
                # Not pre-computed: nothing heavy at start-up (Spaces would otherwise run every example at launch).
                gr.Examples(
                    examples,
                    inputs=[upload],
                    label="Examples (public-domain photos from scikit-image: one face, three faces, one face)",
                    cache_examples=False,
                    elem_id="analyze-examples",
                )
            with gr.Accordion("…or a webcam snapshot / clipboard", open=False):
                snapshot = gr.Image(label="Snapshot", sources=["webcam", "clipboard"], type="numpy")
            run = gr.Button("Analyze", variant="primary", elem_id="analyze-run")
        with gr.Column(elem_id="analyze-results"):
            boxes = gr.Image(
                label="Faces found: click a face to show its maps",
                interactive=False,
                height=360,
                elem_id="analyze-photo",
                alt_text="The photo with a numbered box per face",
            )
            picker = shared["face_picker"] = gr.Radio(label="Face", choices=[], visible=False)
            summary = gr.Markdown(elem_id="agreement")
            consensus = gr.Image(
                label="Consensus map: the mean of the models' normalised maps",
                interactive=False,
                height=260,
                visible=False,
                elem_id="consensus-map",
            )
        slots = []
        with gr.Row(elem_id="analyze-models"):
            for name in MODEL_IDS:
                with gr.Column(min_width=DISPLAY_SIZE + 16):
                    slots.append(
                        gr.Label(num_top_classes=8, label=fer.get_spec(name).display_name, elem_classes=["model-probs"])
                    )
                    slots.append(
                        gr.Image(
                            label="CAM",
                            interactive=False,
                            height=DISPLAY_SIZE + 40,
                            elem_classes=["model-cam"],
                            show_label=True,
                        )
                    )
                    slots.append(gr.Markdown(elem_classes=["model-regions"]))
        with gr.Column(elem_id="analyze-options"):
            method = gr.Dropdown(cam_choices(), value="gradcam", label="CAM method")
            cost = gr.Markdown(elem_id="cam-cost")
            target = gr.Dropdown(class_choices(studio, MODEL_IDS), value=TOP, label="Class to explain")
            models = gr.CheckboxGroup(model_choices(), value=MODEL_IDS, label="Models")
            with gr.Row():
                colormap = gr.Dropdown(list(COLORMAPS), value=DEFAULT_COLORMAP, label="Colour map", min_width=120)
                alpha = gr.Slider(0, 1, value=0.5, step=0.05, label="Map opacity", min_width=160)
            on_color = gr.Checkbox(label="Show maps over the colour photo (the models see gray)", value=False)
            whole = gr.Checkbox(label="No face found? Analyse the whole image", value=False)
            align = gr.Checkbox(label="Align faces (eyes level, same crop for every model)", value=True)
            show_landmarks = gr.Checkbox(label="Show landmarks (eyes, nose, mouth corners)", value=False)
            show_regions = gr.Checkbox(label="Outline the facial regions on the maps", value=False)
    outputs = [boxes, picker, summary, *slots, consensus]
    looks = [show_landmarks, show_regions, colormap, alpha, on_color]

    def view(marks, outlines, cmap, a, colour) -> Display:  # noqa: ANN001
        return Display(bool(marks), bool(outlines), cmap or DEFAULT_COLORMAP, float(a), bool(colour))

    def analyze_from(which: str | None):  # noqa: ANN202
        @friendly
        def analyze(upload, snapshot, last, method, target, models, whole, align, *look):  # noqa: ANN001, ANN202
            last = which or last
            new_state, message = run_analysis(studio, upload, snapshot, method, target, models, whole, align, last)
            return [new_state, last, *render(new_state, 0, message, display=view(*look))]

        return analyze

    inputs = [upload, snapshot, latest, method, target, models, whole, align, *looks]
    heavy = {"api_name": False, "concurrency_limit": HEAVY_SLOTS, "concurrency_id": HEAVY}
    run.click(analyze_from(None), inputs, [state, latest, *outputs], **heavy)
    another.upload(lambda f: f, another, upload, api_name=False)  # upload.change below analyses it
    # A new file (dropped, chosen or an example) or a new snapshot is analysed at once; the newest input wins.
    upload.change(analyze_from(FILE), inputs, [state, latest, *outputs], **heavy)
    snapshot.input(analyze_from(SNAPSHOT), inputs, [state, latest, *outputs], **heavy)
    for control in (whole, align):  # they change what is detected: the whole analysis again
        control.input(analyze_from(None), inputs, [state, latest, *outputs], **heavy)

    @friendly
    def again(s, i, method, target, models, *look):  # noqa: ANN001, ANN202
        choices = class_choices(studio, models)  # contempt only while a chosen model has it
        target = target if target in choices else TOP
        new_state, message = rerun(studio, s, method, target, models)
        return [
            new_state,
            gr.update(choices=choices, value=target),
            *render(new_state, i or 0, message, display=view(*look)),
        ]

    # Method, class or models changed: the same faces again, so results are never stale.
    for control in (method, target, models):
        control.input(again, [state, picker, method, target, models, *looks], [state, target, *outputs], **heavy)
    for control in (method, models):
        control.change(friendly(lambda m, ms: score_cam_note(studio, m, ms)), [method, models], cost, **heavy)

    def redraw(s, i, *look):  # noqa: ANN001, ANN202
        return render(s, i or 0, "", display=view(*look))

    for control in (picker, *looks):
        control.input(redraw, [state, picker, *looks], outputs, api_name=False)

    def pick(s, marks, outlines, cmap, a, colour, evt: gr.SelectData):  # noqa: ANN001, ANN202
        look = (marks, outlines, cmap, a, colour)
        if not s or not s.get("faces") or not isinstance(evt.index, (list, tuple)):
            return [gr.skip()] * len(outputs)
        index = face_at(s["faces"], *evt.index[:2])
        if index is None:
            return [gr.skip()] * len(outputs)
        return render(s, index, "", display=view(*look))

    boxes.select(pick, [state, *looks], outputs, api_name=False)
