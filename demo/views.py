"""Turning library results into what the UI shows: boxes on photos, agreement lines, captions, tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

import cv2
import gradio as gr
import numpy as np

import fer
from demo.studio import CHECKPOINT_SOURCE, UPLOAD_SOURCE, Artifact
from fer.evaluation import baselines_of
from fer.explain.regions import ALL_REGIONS, REGIONS, region_masks, scale_points
from fer.faces import Face
from fer.inference import FaceResult, ModelResult

BOX_COLOR = (255, 200, 0)
LANDMARK_COLOR = (0, 255, 120)
REGION_COLOR = (255, 255, 255)
MEANINGFUL_DROP = 0.01  # occlusion drops below this are noise: the map and the test cannot disagree on them


def draw_boxes(
    photo: np.ndarray, faces: list[FaceResult], selected: int | None = None, landmarks: bool = False
) -> np.ndarray:
    """The photo with a box per face, labelled with its number (left to right) and the models' majority emotion;
    the selected face drawn thicker; with ``landmarks``, the five landmarks of faces that have them."""
    out = photo.copy()
    thick = max(2, round(max(photo.shape[:2]) / 300))
    scale = max(0.5, max(photo.shape[:2]) / 1000)
    for i, face in enumerate(faces):
        x, y, w, h = face.box
        cv2.rectangle(out, (x, y), (x + w, y + h), BOX_COLOR, thick * 2 if i == selected else thick)
        label = f"{i + 1} {face_label(face)}".strip()
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        tall = th + base + 2 * thick
        # Under the chin (the top of a photo sits under the panel's own label); above the box at the bottom edge.
        top = y + h if y + h + tall <= out.shape[0] else max(0, y - tall)
        cv2.rectangle(out, (x, top), (x + tw + 2 * thick, top + th + base + 2 * thick), BOX_COLOR, -1)
        cv2.putText(out, label, (x + thick, top + th + thick), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick)
        if landmarks and face.face.landmarks is not None:
            radius = max(2, round(w / 40))
            for px, py in np.rint(face.face.landmarks).astype(int):
                cv2.circle(out, (int(px), int(py)), radius, LANDMARK_COLOR, -1, lineType=cv2.LINE_AA)
    return out


def face_label(face: FaceResult) -> str:
    """The models' majority emotion for a face ('' without models)."""
    tops = Counter(result.top for result in face.models.values())
    return tops.most_common(1)[0][0] if tops else ""


def face_at(faces: list[FaceResult], x: float, y: float) -> int | None:
    """The face a click at photo pixel (x, y) means: the smallest box holding it, else the nearest box within
    half a box's size; None when the click is far from every face."""
    holding = [
        i for i, f in enumerate(faces) if f.box[0] <= x <= f.box[0] + f.box[2] and f.box[1] <= y <= f.box[1] + f.box[3]
    ]
    if holding:
        return min(holding, key=lambda i: faces[i].box[2] * faces[i].box[3])
    best, best_d = None, float("inf")
    for i, f in enumerate(faces):
        bx, by, bw, bh = f.box
        d = max(abs(x - (bx + bw / 2)) - bw / 2, abs(y - (by + bh / 2)) - bh / 2)
        if d <= max(bw, bh) / 2 and d < best_d:
            best, best_d = i, d
    return best


def agreement_line(face: FaceResult) -> str:
    """'3 of 4 models: happy' (plus the dissenters), with a warning when some weights are untrained."""
    tops = Counter(result.top for result in face.models.values())
    (label, votes), n = tops.most_common(1)[0], len(face.models)
    others = ", ".join(f"{fer.get_spec(m).display_name}: {r.top}" for m, r in face.models.items() if r.top != label)
    untrained = [fer.get_spec(m).display_name for m, r in face.models.items() if not r.trained]
    if len(untrained) == n:  # nothing to report: no bold headline over guesses
        return f"{votes} of {n} models: {label}, but every one runs ⚠️ untrained weights: a guess, not a reading."
    line = f"**{votes} of {n} models: {label}**" + (f" (others: {others})" if others else "")
    if untrained:
        line += (
            f"\n\n⚠️ Untrained weights (no checkpoint found): {', '.join(untrained)}. Their outputs are not meaningful."
        )
    return line


def model_caption(name: str, trained: bool, extra: str = "") -> str:
    spec = fer.get_spec(name)
    state = "" if trained else " ⚠️ untrained"
    return f"{spec.display_name}{state}{extra}"


def source_radio(shared: dict[str, Any], tab: str = "", model: gr.Dropdown | None = None) -> gr.Radio:
    """Which evaluation data an artifact tab shows (elem_id ``{tab}-source``), registered in ``shared`` so that
    *Evaluate your data* can point it at the new data (for ``model``'s choice, or any model)."""
    source = gr.Radio(
        [CHECKPOINT_SOURCE, UPLOAD_SOURCE],
        value=CHECKPOINT_SOURCE,
        label="Evaluation data",
        elem_id=f"{tab}-source" if tab else None,
    )
    shared.setdefault("sources", []).append((source, model))
    return source


def source_and_model(
    shared: dict[str, Any], default_model: str = "resemotenet", tab: str = ""
) -> tuple[gr.Radio, gr.Dropdown]:
    """The controls the artifact tabs share: which evaluation data, which model (elem_ids ``{tab}-source``...)."""
    sources = shared.setdefault("sources", [])
    source = source_radio(shared, tab)
    model = gr.Dropdown(
        [(fer.get_spec(m).display_name, m) for m in fer.list_models()],
        value=default_model,
        label="Model",
        elem_id=f"{tab}-model" if tab else None,
    )
    sources[-1] = (source, model)  # the default source then follows this tab's model
    return source, model


def accuracy_text(metrics: dict) -> str:
    """'41.4% (chance 14.3%, majority class neutral 25.7%)': an accuracy beside what it must beat (from the
    metrics' per-class support: no predictions read)."""
    b = baselines_of(metrics)
    majority = f"majority class {b['majority_class']} {b['majority']:.1%}"
    return f"{metrics['accuracy']:.1%} (chance {b['chance']:.1%}, {majority})"


def weights_note(art: Artifact) -> str:
    """Whether the outputs built on ``art`` come from trained weights: a warning when not."""
    if art.trained:
        return "Weights: trained."
    return "⚠️ **Untrained weights**: these predictions are random, not what the model learns."


def empty_state(what: str, source: str) -> str:
    """The message an artifact tab shows instead of an empty table or plot: what is missing, what to do next."""
    if source == UPLOAD_SOURCE:
        step = "upload a zip of labelled faces in the **Evaluate your data** tab first"
    else:
        step = (
            "train one with `train.py` (it writes the evaluation next to the checkpoint), "
            "or upload a zip of labelled faces in **Evaluate your data** and choose *your data* here"
        )
    return f"No evaluation results for {what} on *{source}* yet: {step}."


# Plotly's selection and hover events, which gr.Plot does not forward, sent to Python: this empty gr.HTML finds
# the plot's graph div (gr.Plot draws it with Plotly.react, so handlers survive updates; a re-mounted div is
# hooked again) and triggers 'select' with the chosen points' customdata[0] (their rows) and 'hover' with one.
_BRIDGE_JS = """
const hook = () => {
  const gd = document.querySelector('#PLOT .js-plotly-plot');
  if (!gd || !gd.on || gd.__ferBridge) return;
  gd.__ferBridge = true;
  gd.dataset.ferBridge = 'on';  // a redrawn plot is a new element: tests wait for this before pointing at it
  const rows = (e) => (e && e.points ? e.points.map((p) => parseInt(p.customdata[0])) : []);
  gd.on('plotly_selected', (e) => { const r = rows(e); trigger('select', {index: r, value: r.length}); });
  gd.on('plotly_deselect', () => trigger('select', {index: [], value: 0}));
  gd.on('plotly_click', (e) => { const r = rows(e); if (r.length) trigger('click', {index: r[0], value: 1}); });
  gd.on('plotly_hover', (e) => { const r = rows(e); if (r.length) trigger('hover', {index: r[0], value: 1}); });
};
setInterval(hook, 200);
"""


def plotly_bridge(plot_elem_id: str) -> gr.HTML:
    """An invisible gr.HTML whose ``select`` (``evt.index``: list of rows), ``click`` and ``hover`` (``evt.index``:
    one row) events report the plotly figure in the gr.Plot with ``elem_id=plot_elem_id``."""
    return gr.HTML("", js_on_load=_BRIDGE_JS.replace("PLOT", plot_elem_id), elem_id=f"{plot_elem_id}-bridge")


def region_bars(result: ModelResult) -> str:
    """Small text bars under a CAM: each facial region's share of the map, its lift over chance and the
    occlusion drop; a warning where the map and the occlusion test point at different regions."""
    if result.regions is None:
        return ""
    lift, drops = result.region_lift or {}, result.occlusion or {}
    lines = []
    for name in ALL_REGIONS:
        share = result.regions[name]
        bar = "█" * round(share * 10) + "░" * (10 - round(share * 10))
        drop = f" · occl. {drops[name]:+.2f}" if name in drops else ""
        lines.append(f"`{name:<5} {bar}` {share:4.0%} · {lift.get(name, 0):.1f}x{drop}")
    text = "  \n".join(lines)
    if drops:
        looked = max(REGIONS, key=lambda r: result.regions[r])
        mattered = max(REGIONS, key=lambda r: drops[r])
        if drops[mattered] < MEANINGFUL_DROP:  # nothing to disagree about: no region matters on its own
            text += f"  \nGreying out any one region costs under {MEANINGFUL_DROP:.0%} of the probability."
        elif looked != mattered:
            text += f"  \n⚠️ The map points at the {looked}, but greying out the {mattered} costs most."
    return text


def calibration_caption(result: ModelResult) -> str:
    """ " · calibrated T=1.70" for a checkpoint with temperature scaling (its probabilities are softmax(z / T))."""
    return f" · calibrated T={result.temperature:.2f}" if result.temperature is not None else ""


def agreement_table(face: FaceResult) -> str:
    """The models' map agreement as a Markdown table: Spearman's rho / IoU of the top-20% pixels."""
    agreement = face.cam_agreement
    if agreement is None:
        return ""
    names = [fer.get_spec(m).display_name for m in agreement.models]
    rows = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for i, name in enumerate(names):
        cells = [f"{agreement.spearman[i, j]:.2f} / {agreement.top_iou[i, j]:.2f}" for j in range(len(names))]
        rows.append(f"| **{name}** | " + " | ".join(cells) + " |")
    return "**Do the maps agree?** Spearman's ρ / IoU of the top-20% pixels (1 = same map)\n\n" + "\n".join(rows)


def draw_regions(image: np.ndarray, face: Face) -> np.ndarray:
    """The facial regions' outlines (:mod:`fer.explain.regions`) over an RGB image of the face's crop (any
    size, e.g. a CAM overlay); the image unchanged for a face without landmarks."""
    points = face.crop_landmarks
    if points is None:
        return image
    size = image.shape[0]
    return outline_regions(image, region_masks(scale_points(points, face.gray.shape[0], size), image.shape[:2]))


def outline_regions(image: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    """The outlines of the facial regions ``masks`` (name -> boolean mask, the image's size) over a copy of
    ``image`` (RGB), in :data:`REGION_COLOR`; ``rest`` is not drawn."""
    out = image.copy()
    thick = max(1, round(image.shape[0] / 150))
    for name in REGIONS:
        contours, _ = cv2.findContours(masks[name].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, REGION_COLOR, thick, lineType=cv2.LINE_AA)
    return out
