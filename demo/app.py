"""The Gradio Blocks of the studio: tabs laid out over one shared :class:`Studio`. Building it loads no model."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from demo import api
from demo.limits import DELETE_CACHE, HEAVY, HEAVY_SLOTS
from demo.messages import friendly
from demo.studio import Studio
from demo.tabs import about, analyze, compare, confusion, embeddings, evaluate, explain, live, video

TITLE = "FER explainability studio"
CSS = "#agreement {font-size: 1.1em}"


def example_photos(folder: Path) -> list[str]:
    """scikit-image's public-domain photos with people, written into ``folder`` (the studio's private one)."""
    from PIL import Image
    from skimage import data

    paths = []
    for name in ("astronaut", "camera"):
        path = folder / f"{name}.png"
        Image.fromarray(getattr(data, name)()).save(path)
        paths.append(str(path))
    return paths


def build_demo(checkpoints: str | None = None, studio: Studio | None = None) -> gr.Blocks:
    """The studio's page. ``checkpoints``: a directory or Hub id (default ``FER_CHECKPOINTS`` or ./checkpoints)."""
    studio = studio or Studio(checkpoints)
    # delete_cache: Gradio's copies of uploads and outputs are removed once they are old (they were kept forever).
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(
            f"# {TITLE}\nFour published facial-expression-recognition models side by side: what they predict "
            f"and where they look.\n\n{studio.checkpoint_status()}"
        )
        shared = {
            "analysis": gr.State(None),
            # A closed session's evaluation folders are deleted with its state. A function, not the bound
            # method: Gradio deep-copies State per session, and a bound method would copy the whole Studio.
            "uploads": gr.State({}, delete_callback=lambda uploads: studio.remove_uploads(uploads)),
        }
        with gr.Tabs():
            with gr.Tab("Analyze", id="analyze"):
                analyze.build(studio, shared, example_photos(studio.scratch))
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
                friendly(lambda i, m, c: api.predict(studio, i, m, c)),
                [image_in, models_in, cam_in],
                result,
                api_name="predict",
                concurrency_limit=HEAVY_SLOTS,
                concurrency_id=HEAVY,
            )
    demo.studio = studio
    return demo
