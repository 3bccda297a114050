"""The Gradio Blocks of the studio: tabs laid out over one shared :class:`Studio`. Building it loads no model."""

from __future__ import annotations

import gradio as gr

from demo import api
from demo.examples import example_photos
from demo.limits import DELETE_CACHE, HEAVY, HEAVY_SLOTS
from demo.messages import friendly
from demo.studio import Studio
from demo.tabs import about, analyze, compare, confusion, embeddings, evaluate, explain, live, video

TITLE = "FER explainability studio"
# Gradio's default orange (primary_500, 2.8:1 on white) fails WCAG AA; its 700 shade gives 5.2:1 for white button
# text and for the selected tab's text on white (tests/test_app.py computes both from these colours).
THEME = gr.themes.Default(primary_hue="orange").set(
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover_dark="*primary_800",
    button_primary_text_color="white",
    button_primary_text_color_dark="white",
    color_accent="*primary_700",
)
DARK_ACCENT = THEME.primary_400  # the theme has no dark accent: on a dark page the selected tab needs a light one
CSS = (
    ".dark {--color-accent: %s !important}" % DARK_ACCENT  # noqa: UP031 - the CSS below is full of braces
    + """
#agreement {font-size: 1.1em}
#status-banner {padding: 2px 10px; border-left: 4px solid var(--color-accent); font-size: 0.95em}
#status-banner p {margin: 2px 0}
#status-banner h1 {font-size: 1.3em; margin: 0}
/* An untrained model's top class is no finding: a small grey line, not a big bold headline over its bars. */
.untrained .output-class {font-size: var(--text-md); font-weight: normal; color: var(--body-text-color-subdued);
                          padding: var(--size-8) var(--size-2) var(--size-2)}
.model-cam img, .explain-map img {object-fit: contain}
/* Wide screens: input and options on the left, results on the right, the maps below. Narrow screens keep
   the page order: input, results, maps, options, so a phone shows results right after the photo. */
@media (min-width: 1024px) {
  #analyze-main {display: grid !important; grid-template-columns: minmax(320px, 1fr) 2fr; gap: var(--layout-gap);
                 align-items: start}
  #analyze-input {grid-column: 1; grid-row: 1}
  #analyze-options {grid-column: 1; grid-row: 2}
  #analyze-results {grid-column: 2; grid-row: 1 / span 2}
  #analyze-models {grid-column: 1 / span 2; grid-row: 3}
}
@media (max-width: 640px) {
  #agreement table {font-size: 0.75em}
  #agreement td, #agreement th {padding: 2px 4px}
}
"""
)


def build_demo(checkpoints: str | None = None, studio: Studio | None = None) -> gr.Blocks:
    """The studio's page. ``checkpoints``: a directory or Hub id (default ``FER_CHECKPOINTS`` or ./checkpoints)."""
    studio = studio or Studio(checkpoints)
    # delete_cache: Gradio's copies of uploads and outputs are removed once they are old (they were kept forever).
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
        # One compact banner instead of a line per model; the details fold away.
        gr.Markdown(
            f"# {TITLE}\nFour published expression models side by side: what they predict, where they look. "
            f"{studio.checkpoint_banner()}",
            elem_id="status-banner",
        )
        with gr.Accordion("Checkpoints", open=False):
            gr.Markdown(
                studio.checkpoint_status() + "\n\nFor trained weights: train with `train.py` (see the README) or start "
                "the app with `--checkpoints DIR_OR_HUB_ID`."
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
            with gr.Tab("Explain", id="explain") as explain_tab:
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
        fn, inputs, outputs = shared["explain_refresh"]
        explain_tab.select(fn, inputs, outputs, api_name=False)
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
