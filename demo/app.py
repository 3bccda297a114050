"""The Gradio Blocks of the studio. Building it is cheap: models load when first used."""

from __future__ import annotations

import gradio as gr

import fer
from fer.zoo import checkpoint_root, locate


def model_table(root: str | None = None) -> list[list[str]]:
    """One row per model: name, paper, year, input, reported accuracy, checkpoint status."""
    rows = []
    for name in fer.list_models():
        spec = fer.get_spec(name)
        where = locate(name, root)
        status = {
            True: f"trained ({where.source})",
            False: "untrained weights (no checkpoint)",
            None: f"on the Hub: {where.source}",
        }[where.found]
        reported = ", ".join(f"{k} {v:.2f}%" for k, v in spec.reported.items())
        rows.append(
            [
                spec.display_name,
                spec.paper.title,
                str(spec.paper.year or "n/a"),
                f"{spec.input.size}x{spec.input.size}",
                reported,
                status,
            ]
        )
    return rows


def build_demo(checkpoints: str | None = None) -> gr.Blocks:
    """The studio's page. ``checkpoints``: a directory or Hub id (default ``FER_CHECKPOINTS`` or ./checkpoints)."""
    root = checkpoint_root(checkpoints)
    with gr.Blocks(title="FER explainability studio") as demo:
        gr.Markdown(
            "# FER explainability studio\n"
            "Four published facial-expression-recognition models, side by side. "
            f"Checkpoints are read from `{root}`."
        )
        gr.Dataframe(
            value=model_table(root),
            headers=["model", "paper", "year", "input", "paper reports", "checkpoint"],
            interactive=False,
            label="Models",
        )
    return demo
