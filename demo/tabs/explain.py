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
from fer.explain.overlay import COLORMAPS, DEFAULT_COLORMAP, DISPLAY_SIZE, cam_display
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
    colormap: str = DEFAULT_COLORMAP,
    alpha: float = 0.5,
) -> tuple[list, str]:
    """(map, caption) per CAM method for the chosen face, every map at the display size; and a note."""
    maps, note = explain_maps(studio, state, face_index, model_name, layer, target, with_score_cam, progress)
    return list(draw_maps(maps, colormap, alpha).values()), note


def draw_maps(maps: dict | None, colormap: str = DEFAULT_COLORMAP, alpha: float = 0.5) -> dict[str, tuple]:
    """Method -> (map drawn over the face at the display size, caption), from :func:`explain_maps`' raw maps."""
    if not maps:
        return {}
    return {
        method: (cam_display(maps["face"], cam, alpha=alpha, colormap=colormap), caption)
        for method, (cam, caption) in maps["cams"].items()
    }


def explain_maps(
    studio: Studio,
    state: dict | None,
    face_index: int,
    model_name: str,
    layer: str,
    target: str,
    with_score_cam: bool,
    progress: gr.Progress = gr.Progress(),
) -> tuple[dict | None, str]:
    """The raw maps, kept so a new colour map or opacity redraws them without recomputing:
    ``{"face": gray crop, "cams": {method: (map, caption)}}`` (None when there is none), and a note."""
    if not state or not state.get("faces"):
        return None, "Analyze a photo first (Analyze tab); its selected face is explained here."
    face = state["faces"][min(face_index or 0, len(state["faces"]) - 1)].face
    loaded = studio.zoo.get(model_name)
    model, classes = loaded.model, loaded.class_names
    if target != TOP and target not in classes:
        return None, f"{model.spec.display_name} has no class {target!r}."
    x = face_tensor(face, model.spec.input).contiguous(memory_format=torch.channels_last)
    if with_score_cam and (refusal := studio.score_cam_refusal(model_name)):
        return None, "⚠️ " + refusal
    methods = [m for m in CAM_LABELS if with_score_cam or m != "scorecam"]
    maps: dict[str, Any] = {"face": face.gray, "cams": {}}
    try:
        with request_budget(ANALYZE_TIME_LIMIT_S, "Explain"):
            for method in progress.tqdm(methods, desc="CAM methods"):
                result = compute_cam(
                    model, x, method, targets=None if target == TOP else classes.index(target), layer=layer or None
                )
                score = float(road_score(model, x, result.cams, result.targets)[0])
                caption = f"{CAM_LABELS[method]} · ROAD {score:+.3f} · explains '{classes[result.targets[0]]}'"
                maps["cams"][method] = (result.cams[0], caption)
    except (ValueError, AttributeError, BudgetExceeded) as exc:
        return maps, user_message(exc)
    note = "" if loaded.trained else "⚠️ Untrained weights: these maps explain a model that has learned nothing.\n\n"
    return maps, note + (
        "ROAD (higher is better): how much the class's confidence drops when the pixels the map ranks most "
        "relevant are removed, against removing the least relevant ones, with noisy linear imputation."
    )


def panels(maps: dict | None, with_score_cam: bool, colormap: str, alpha: float) -> list[Any]:
    """One update per method's panel after Explain: its map and caption, or empty (Score-CAM's shown when asked)."""
    drawn = draw_maps(maps, colormap or DEFAULT_COLORMAP, float(alpha))
    return [
        gr.update(value=drawn[k][0], label=drawn[k][1], alt_text=drawn[k][1], visible=True)
        if k in drawn
        else gr.update(value=None, label=label, visible=with_score_cam or k != "scorecam")
        for k, label in CAM_LABELS.items()
    ]


def redraw(maps: dict | None, colormap: str, alpha: float) -> list[Any]:
    """The kept maps in a new colour map or opacity: nothing is recomputed, panels without a map are left alone."""
    drawn = draw_maps(maps, colormap or DEFAULT_COLORMAP, float(alpha))
    return [gr.update(value=drawn[k][0]) if k in drawn else gr.skip() for k in CAM_LABELS]


def face_shown(state: dict | None, face_index: int | None) -> tuple[Any, str]:
    """The face Explain works on: its crop (what the models see) and which face of the photo it is."""
    if not state or not state.get("faces"):
        return None, "No face yet: analyse a photo in the **Analyze** tab first."
    faces = state["faces"]
    i = min(face_index or 0, len(faces) - 1)
    thumb = gr.update(value=faces[i].face.gray, alt_text=f"Face {i + 1} of {len(faces)}: the crop the models see")
    return thumb, f"Explaining **face {i + 1} of {len(faces)}** from the Analyze tab (choose another there)."


def build(studio: Studio, shared: dict[str, Any]) -> None:
    with gr.Row(equal_height=False):
        thumb = gr.Image(label="Face", buttons=[], interactive=False, height=120, width=120, min_width=130, scale=0)
        with gr.Column(scale=4):
            which = gr.Markdown("No face yet: analyse a photo in the **Analyze** tab first.", elem_id="explain-face")
            with gr.Row():
                model = gr.Dropdown(
                    [(fer.get_spec(m).display_name, m) for m in fer.list_models()], value="resemotenet", label="Model"
                )
                layer = gr.Textbox(value=fer.get_spec("resemotenet").cam_target_layer, label="Layer (module name)")
                target = gr.Dropdown([TOP, *studio.class_names("resemotenet")], value=TOP, label="Class")
            with gr.Row():
                colormap = gr.Dropdown(
                    list(COLORMAPS),
                    value=DEFAULT_COLORMAP,
                    label="Colour map",
                    min_width=120,
                    elem_id="explain-colormap",
                )
                alpha = gr.Slider(0, 1, value=0.5, step=0.05, label="Map opacity", min_width=160)
                score_cam = gr.Checkbox(
                    label="Include Score-CAM (one forward pass per channel: slow on CPU)", value=False
                )
    run = gr.Button("Explain", variant="primary")
    kept = gr.State(None)  # this session's raw maps from the last Explain: the look controls redraw them
    note = gr.Markdown()
    # One fixed panel per method, wrapping onto new lines on narrow screens: nothing hides in an inner scroll.
    images = []
    with gr.Row(elem_id="explain-maps"):
        for key, label in CAM_LABELS.items():
            images.append(
                gr.Image(
                    label=label,
                    interactive=False,
                    height=DISPLAY_SIZE + 40,
                    min_width=DISPLAY_SIZE + 16,
                    visible=key != "scorecam",
                    elem_classes=["explain-map"],
                )
            )

    def model_changed(m, t):  # noqa: ANN001, ANN202
        choices = [TOP, *studio.class_names(m)]  # contempt only for a model that has it
        return fer.get_spec(m).cam_target_layer, gr.update(choices=choices, value=t if t in choices else TOP)

    model.change(model_changed, [model, target], [layer, target], api_name=False)
    picked = [shared["analysis"], shared["face_picker"]]
    # Which face: shown when the tab opens and when another face is picked (the analysis State itself has no
    # change event here: Gradio hashes a State to see a change, and the results hold numpy arrays).
    shared["face_picker"].change(lambda s, i: face_shown(s, i), picked, [thumb, which], api_name=False)
    shared["explain_refresh"] = (lambda s, i: face_shown(s, i), picked, [thumb, which])

    @friendly
    def explain(s, i, m, lay, t, sc, cmap, a, progress=gr.Progress()):  # noqa: ANN001, ANN202, B008
        maps, text = explain_maps(studio, s, i, m, lay, t, sc, progress)
        return [maps, *face_shown(s, i), text, *panels(maps, sc, cmap, a)]

    run.click(
        explain,
        [*picked, model, layer, target, score_cam, colormap, alpha],
        [kept, thumb, which, note, *images],
        api_name=False,
        concurrency_limit=HEAVY_SLOTS,
        concurrency_id=HEAVY,
    )
    for control in (colormap, alpha):  # only the drawing changes: no CAM or ROAD score is computed again
        control.input(redraw, [kept, colormap, alpha], images, api_name=False)
    dataset_view.build(studio, shared)
