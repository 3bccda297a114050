"""Compare models: size, cost, speed, reported vs measured accuracy, per-class F1, pairwise agreement."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

import fer
from demo.studio import CHECKPOINT_SOURCE, UPLOAD_SOURCE, Studio
from fer.evaluation.compare import pairwise_agreement


def model_table(studio: Studio, source: str, uploads: dict, measure: bool = False) -> pd.DataFrame:
    artifacts = studio.artifacts(source, uploads)
    rows = []
    for name in fer.list_models():
        spec, stats = fer.get_spec(name), studio.stats(name, measure)
        art = artifacts.get(name)
        trained = studio.zoo.get(name).trained
        rows.append(
            {
                "model": spec.display_name,
                "paper": f"{spec.paper.authors} ({spec.paper.year or 'n.d.'})",
                "params (M)": round(stats["params_m"], 1),
                "GMACs": round(stats["gmacs"], 2),
                "CPU latency (ms)": round(stats["latency_ms"]) if "latency_ms" in stats else None,
                "paper reports": ", ".join(f"{k} {v:.2f}%" for k, v in spec.reported.items()),
                "measured accuracy": f"{art.metrics['accuracy']:.2%}" if art else "no artifact",
                "on": art.label if art else ("" if trained else "untrained weights"),
            }
        )
    return pd.DataFrame(rows)


def f1_table(studio: Studio, source: str, uploads: dict) -> pd.DataFrame:
    artifacts = studio.artifacts(source, uploads)
    if not artifacts:
        return pd.DataFrame({"": ["No evaluation artifacts: train with train.py or use 'Evaluate your data'."]})
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


def agreement_table(studio: Studio, source: str, uploads: dict) -> pd.DataFrame:
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
    return pd.DataFrame(
        rows or [{"model A": "", "model B": "", "agree": "needs two models' artifacts", "common faces": 0}]
    )


def build(studio: Studio, shared: dict[str, Any]) -> gr.Tab:
    uploads = shared["uploads"]
    with gr.Row():
        source = gr.Radio([CHECKPOINT_SOURCE, UPLOAD_SOURCE], value=CHECKPOINT_SOURCE, label="Evaluation data")
        measure = gr.Button("Measure CPU latency (loads all four models)")
    table = gr.Dataframe(label="The four models", interactive=False, wrap=True)
    f1 = gr.Dataframe(label="Per-class F1 on the evaluation data", interactive=False)
    agree = gr.Dataframe(label="How often two models give the same label", interactive=False)

    def refresh(src: str, ups: dict, with_latency: bool = False) -> tuple:
        return (
            model_table(studio, src, ups, with_latency),
            f1_table(studio, src, ups),
            agreement_table(studio, src, ups),
        )

    shared["compare_refresh"] = (refresh, [source, uploads], [table, f1, agree])
    source.change(refresh, [source, uploads], [table, f1, agree], api_name=False)
    measure.click(
        lambda s, u: refresh(s, u, True), [source, uploads], [table, f1, agree], api_name=False, concurrency_limit=1
    )
