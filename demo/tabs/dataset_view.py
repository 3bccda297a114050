"""Dataset-level view (a section of Explain): per class, where a model looks over a whole evaluation artifact."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

import fer
from demo.limits import EVALUATE_TIME_LIMIT_S, HEAVY, HEAVY_SLOTS, request_budget
from demo.messages import friendly, user_message
from demo.studio import Studio
from demo.views import outline_regions, source_and_model
from fer.budget import BudgetExceeded
from fer.explain.dataset_view import PER_CLASS, DatasetView, layout_masks
from fer.explain.overlay import DISPLAY_SIZE, cam_display
from fer.explain.regions import ALL_REGIONS

INTRO = (
    "Per true class, the mean Grad-CAM of the class over the evaluation data's faces and the mean share of the "
    f"map in each facial region. **At most {PER_CLASS} faces per class** (a fixed random sample) keep the cost "
    "bounded; the result is cached beside the artifact, so a second look is instant. Dataset crops have no "
    "landmarks: the regions come from FER2013's average landmark layout (white outlines), the same for every face."
)


def view_gallery(view: DatasetView) -> list[tuple]:
    """Per class, the mean map over the class's mean face with the regions outlined, captioned with its top region."""
    gallery = []
    masks = layout_masks(DISPLAY_SIZE)  # the same layout for every class
    for c, name in enumerate(view.class_names):
        if not view.counts[c]:
            continue
        image = outline_regions(cam_display(view.mean_faces[c], view.mean_cams[c], colorbar=False), masks)
        top = view.top_region(name)
        gallery.append((image, f"{name}: {view.share(name, top):.0%} on the {top} ({view.counts[c]} faces)"))
    return gallery


def view_table(view: DatasetView) -> pd.DataFrame:
    """Class x region: mean share of the map (and its lift over a uniform map)."""
    lift = view.lift
    rows = []
    for c, name in enumerate(view.class_names):
        cells = {
            region: f"{view.shares[c, i]:.0%} ({lift[c, i]:.1f}x)" if view.counts[c] else "-"
            for i, region in enumerate(ALL_REGIONS)
        }
        rows.append({"class": name, "faces": f"{view.counts[c]} of {view.totals[c]}", **cells})
    return pd.DataFrame(rows)


def dataset_view_outputs(
    studio: Studio, source: str, uploads: dict, model: str, progress: gr.Progress = gr.Progress()
) -> tuple[list, pd.DataFrame | None, str]:
    display = fer.get_spec(model).display_name
    try:
        with request_budget(EVALUATE_TIME_LIMIT_S, "The dataset view"):
            found = studio.dataset_view(model, source, uploads, progress=lambda f, d: progress(f, desc=d))
    except (BudgetExceeded, ValueError) as exc:
        return [], None, user_message(exc)
    if found is None:
        return (
            [],
            None,
            (
                f"No evaluation artifact for {display} ({source}): train it with train.py, or evaluate a labelled "
                "zip in **Evaluate your data** and choose *your data*."
            ),
        )
    view, art, cached = found
    sentences = []
    for c, name in enumerate(view.class_names):
        if view.counts[c]:
            top = view.top_region(name)
            sentences.append(f"for *{name}*, {display} puts {view.share(name, top):.0%} of its map on the {top}")
    warning = "" if studio.zoo.get(model).trained else "⚠️ Untrained weights: these maps explain a model that has "
    warning += "learned nothing.\n\n" if warning else ""
    how = "from the cache" if cached else "computed now and cached"
    summary = "; ".join(sentences)
    note = (
        f"{warning}{display} on {art.label}: {int(view.counts.sum())} faces explained ({how}). "
        + summary[:1].upper()
        + summary[1:]
        + ". In brackets: the share over the region's share of the crop (1.0x = no preference)."
    )
    return view_gallery(view), view_table(view), note


def build(studio: Studio, shared: dict[str, Any]) -> None:
    uploads = shared["uploads"]
    gr.Markdown("### Dataset-level view: where each model looks, class by class\n\n" + INTRO)
    with gr.Row():
        source, model = source_and_model(shared)
    run = gr.Button("Compute the dataset view", elem_id="dataset-view-run")
    note = gr.Markdown(elem_id="dataset-view-note")
    gallery = gr.Gallery(label="Mean Grad-CAM per class", columns=7, height=260, elem_id="dataset-view-maps")
    table = gr.Dataframe(label="Mean share of the map per region", interactive=False, elem_id="dataset-view-table")

    @friendly
    def compute(s, u, m, progress=gr.Progress()):  # noqa: ANN001, ANN202, B008
        return dataset_view_outputs(studio, s, u, m, progress)

    run.click(
        compute,
        [source, uploads, model],
        [gallery, table, note],
        api_name=False,
        concurrency_limit=HEAVY_SLOTS,
        concurrency_id=HEAVY,
    )
