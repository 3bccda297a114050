"""Compare models: size, cost, speed, reported vs measured accuracy, calibration, per-class F1, pairwise agreement."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

import fer
from demo.studio import Artifact, Studio
from demo.views import accuracy_text, empty_state, source_radio
from fer.evaluation.calibration import calibration
from fer.evaluation.compare import pairwise_agreement


def artifact_calibration(art: Artifact) -> dict[str, Any]:
    """The artifact's calibration: from metrics.json, or from its predictions when it predates the field."""
    return art.metrics.get("calibration") or calibration(art.arrays["probs"], art.arrays["y_true"])


def temperature_ece(art: Artifact | None) -> str | None:
    """ "0.031 (T=1.70)" when the checkpoint has temperature scaling (fitted on validation data), else None."""
    scaling = art.metrics.get("temperature_scaling") if art else None
    return f"{scaling['ece_after']:.3f} (T={scaling['temperature']:.2f})" if scaling else None


def model_table(studio: Studio, source: str, uploads: dict, measure: bool = False) -> pd.DataFrame:
    """A row per model: size, cost, speed, weights, reported vs measured accuracy (beside its baselines)."""
    artifacts = studio.artifacts(source, uploads)
    rows = []
    for name in fer.list_models():
        spec, stats = fer.get_spec(name), studio.stats(name, measure)
        art = artifacts.get(name)
        trained = art.trained if art else studio.zoo.get(name).trained
        rows.append(
            {
                "model": f"{spec.display_name} ({first_author(spec.paper.authors)}, {spec.paper.year or 'n.d.'})",
                "weights": "trained" if trained else "⚠️ untrained",
                "params (M)": round(stats["params_m"], 1),
                "GMACs": round(stats["gmacs"], 2),
                "CPU ms": round(stats["latency_ms"]) if "latency_ms" in stats else "-",
                "paper reports": ", ".join(f"{k} {v:.2f}%" for k, v in spec.reported.items()),
                "measured accuracy": accuracy_text(art.metrics) if art else "-",
                "ECE (15 bins)": round(artifact_calibration(art)["ece"], 3) if art else "-",
                "ECE after T": temperature_ece(art) or "-",
                "on": art.label if art else "-",
            }
        )
    return pd.DataFrame(rows)


def first_author(authors: str) -> str:
    """'A. K. Roy et al.' for 'A. K. Roy, H. K. Kathania, ...': the full list made the table wider than the page."""
    names = [a.strip() for a in authors.split(",") if a.strip()]
    return names[0] + (" et al." if len(names) > 1 else "") if names else "?"


# Widths that fit 1440 px (and never squeeze a header to one letter per line).
MODEL_TABLE_WIDTHS = ["16%", "8%", "6%", "6%", "6%", "15%", "16%", "6%", "8%", "13%"]  # model .. ECE, ECE after T, on


def f1_table(studio: Studio, source: str, uploads: dict) -> pd.DataFrame | None:
    artifacts = studio.artifacts(source, uploads)
    if not artifacts:
        return None
    classes = list(fer.FERPLUS_CLASSES)
    rows = []
    for name, art in artifacts.items():
        per_class = art.metrics["per_class"]
        rows.append(
            {
                "model": fer.get_spec(name).display_name,
                **{c: round(per_class[c]["f1"], 3) if c in per_class else None for c in classes},
                "macro-F1": round(art.metrics["macro_f1"], 3),
            }
        )
    return pd.DataFrame(rows).dropna(axis=1, how="all")


def agreement_table(studio: Studio, source: str, uploads: dict) -> pd.DataFrame | None:
    artifacts = studio.artifacts(source, uploads)
    preds = {name: (art.arrays["ids"], art.arrays["y_pred"]) for name, art in artifacts.items()}
    rows = [
        {
            "model A": fer.get_spec(a).display_name,
            "model B": fer.get_spec(b).display_name,
            "agree": "n/a" if np.isnan(agree) else f"{agree:.1%}",
            "common faces": n,
        }
        for a, b, agree, n in pairwise_agreement(preds)
    ]
    return pd.DataFrame(rows) if rows else None


def reliability_figure(studio: Studio, source: str, uploads: dict) -> go.Figure | None:
    """Reliability diagrams side by side: per confidence bin, how often the model is right (bars) against
    how confident it is (the diagonal is perfect calibration)."""
    artifacts = studio.artifacts(source, uploads)
    if not artifacts:
        return None
    names = list(artifacts)
    titles = [f"{fer.get_spec(n).display_name}: ECE {artifact_calibration(artifacts[n])['ece']:.3f}" for n in names]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=titles, shared_yaxes=True)
    for col, name in enumerate(names, start=1):
        bins = [b for b in artifact_calibration(artifacts[name])["bins"] if b["count"]]
        fig.add_trace(
            go.Bar(
                x=[(b["lower"] + b["upper"]) / 2 for b in bins],
                y=[b["accuracy"] for b in bins],
                width=[b["upper"] - b["lower"] for b in bins],
                customdata=[b["count"] for b in bins],
                hovertemplate="confidence %{x:.2f}: right %{y:.0%} of %{customdata} faces<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash"}, showlegend=False, hoverinfo="skip"),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="confidence", range=[0, 1], row=1, col=col)
    fig.update_yaxes(title_text="accuracy", range=[0, 1], row=1, col=1)
    fig.update_layout(height=320, margin={"t": 40, "b": 40, "l": 40, "r": 10})
    return fig


def build(studio: Studio, shared: dict[str, Any]) -> gr.Tab:
    uploads = shared["uploads"]
    with gr.Row():
        source = source_radio(shared, "compare")
        measure = gr.Button("Measure CPU latency (loads all four models)")
    table = gr.Dataframe(
        label="The four models (CPU ms: one face, batch 1; '-' until measured)",
        interactive=False,
        wrap=True,
        column_widths=MODEL_TABLE_WIDTHS,
        elem_id="compare-models",
    )
    empty = gr.Markdown(elem_id="compare-empty")
    f1 = gr.Dataframe(label="Per-class F1 on the evaluation data", interactive=False, visible=False)
    agree = gr.Dataframe(label="How often two models give the same label", interactive=False, visible=False)
    reliability = gr.Plot(
        label="Calibration: reliability diagrams (bars on the diagonal = trustworthy probabilities)", visible=False
    )
    outputs = [table, empty, f1, agree, reliability]

    def refresh(src: str, ups: dict, with_latency: bool = False) -> tuple:
        f1_rows, agree_rows = f1_table(studio, src, ups), agreement_table(studio, src, ups)
        message = "" if f1_rows is not None else empty_state("any model", src)
        if f1_rows is not None and agree_rows is None:
            message = "Pairwise agreement needs the evaluations of two models."
        return (
            model_table(studio, src, ups, with_latency),
            message,
            gr.update(value=f1_rows, visible=f1_rows is not None),
            gr.update(value=agree_rows, visible=agree_rows is not None),
            gr.update(value=reliability_figure(studio, src, ups), visible=f1_rows is not None),
        )

    shared["compare_refresh"] = (refresh, [source, uploads], outputs)
    source.change(refresh, [source, uploads], outputs, api_name=False)
    measure.click(lambda s, u: refresh(s, u, True), [source, uploads], outputs, api_name=False, concurrency_limit=1)
