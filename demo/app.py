"""The Gradio Blocks of the studio: tabs laid out over one shared :class:`Studio`. Building it loads no model."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from demo import api
from demo.studio import Studio
from demo.tabs import about, analyze, compare, confusion, embeddings, evaluate, explain, live, video

TITLE = "FER explainability studio"
CSS = "#agreement {font-size: 1.1em}"


def example_photos() -> list[str]:
    """scikit-image's public-domain photos with people, written once to a temp folder (nothing shipped)."""
    from PIL import Image
    from skimage import data

    folder = Path(tempfile.gettempdir()) / "fer-studio-examples"
    folder.mkdir(exist_ok=True)
    paths = []
    for name in ("astronaut", "camera"):
        path = folder / f"{name}.png"
        if not path.exists():
            Image.fromarray(getattr(data, name)()).save(path)
        paths.append(str(path))
    return paths


def build_demo(checkpoints: str | None = None, studio: Studio | None = None) -> gr.Blocks:
    """The studio's page. ``checkpoints``: a directory or Hub id (default ``FER_CHECKPOINTS`` or ./checkpoints)."""
    studio = studio or Studio(checkpoints)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(
            f"# {TITLE}\nFour published facial-expression-recognition models side by side: what they predict "
            f"and where they look.\n\n{studio.checkpoint_status()}"
        )
        shared = {"analysis": gr.State(None), "uploads": gr.State({})}
        with gr.Tabs():
            with gr.Tab("Analyze", id="analyze"):
                analyze.build(studio, shared, example_photos())
            with gr.Tab("Live webcam", id="live"):
                live.build(studio, shared)
            with gr.Tab("Video", id="video"):
                video.build(studio, shared)
            with gr.Tab("Compare models", id="compare") as compare_tab:
                compare.build(studio, shared)
            with gr.Tab("Explain", id="explain"):
                explain.build(studio, shared)
            with gr.Tab("Embeddings", id="embeddings"):
                embeddings.build(studio, shared)
            with gr.Tab("Confusion matrix", id="confusion"):
                confusion.build(studio, shared)
            with gr.Tab("Evaluate your data", id="evaluate"):
                evaluate.build(studio, shared)
            with gr.Tab("About", id="about") as about_tab:
                about.build(studio, shared)
        fn, inputs, outputs = shared["compare_refresh"]
        compare_tab.select(fn, inputs, outputs, api_name=False, concurrency_limit=1)
        fn, inputs, outputs = shared["about_refresh"]
        about_tab.select(fn, inputs, outputs, api_name=False)
        with gr.Row(visible=False):  # the /predict endpoint for gradio_client
            image_in, models_in, cam_in = gr.File(type="filepath"), gr.Textbox(), gr.Textbox()
            result = gr.JSON()
            gr.Button().click(
                lambda i, m, c: api.predict(studio, i, m, c),
                [image_in, models_in, cam_in],
                result,
                api_name="predict",
                concurrency_limit=2,
            )
    demo.studio = studio
    return demo
