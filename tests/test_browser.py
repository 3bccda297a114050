"""The studio in headless Chromium: upload a photo, read four models, the dataset view, a confusion cell, embeddings.

Screenshots of each tab land in test-artifacts/screenshots/ (the README's come from here).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from skimage import data as skdata

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def page(studio_server):  # noqa: ANN001, ANN201
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(180_000)
        pg.goto(studio_server.url)
        pg.get_by_text("FER explainability studio").first.wait_for()
        yield pg
        browser.close()


def tab(page, name: str) -> None:  # noqa: ANN001
    page.get_by_role("tab", name=name).click()


def test_upload_shows_four_models_and_four_cams(page) -> None:  # noqa: ANN001
    photo = Path(skdata.__file__).parent / "astronaut.png"
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_text("models:").first.wait_for()  # the agreement line: "k of 4 models: ..."
    cams = page.locator(".model-cam img")
    cams.nth(3).wait_for()
    assert cams.count() == 4
    probs = page.locator(".model-probs")
    assert probs.count() == 4
    for i in range(4):
        assert "%" in probs.nth(i).inner_text()
    # The astronaut's face has landmarks: region bars under each map (Gradio nests the class, so 4 or 8 hits).
    bars = [t for t in page.locator(".model-regions").all_inner_texts() if "mouth" in t and "occl." in t]
    assert len(bars) in (4, 8)
    assert "Do the maps agree?" in page.locator("#agreement").inner_text()
    page.locator("#consensus-map img").wait_for()  # the models' consensus map beside the agreement matrix
    page.screenshot(path=str(SHOTS / "analyze.png"), full_page=True)


def test_explain_tab_shows_the_dataset_level_view(page) -> None:  # noqa: ANN001
    tab(page, "Explain")
    page.locator("#dataset-view-run").click()
    note = page.locator("#dataset-view-note")
    note.get_by_text("faces explained").wait_for()
    assert "puts" in note.inner_text() and "of its map on the" in note.inner_text()
    maps = page.locator("#dataset-view-maps img")
    maps.nth(6).wait_for()  # a mean map per class of the artifact (7 FER2013 classes)
    table = page.locator("#dataset-view-table").inner_text()
    assert "mouth" in table and "eyes" in table and "%" in table
    page.screenshot(path=str(SHOTS / "dataset_view.png"), full_page=True)


def test_confusion_cell_shows_its_faces(page) -> None:  # noqa: ANN001
    tab(page, "Confusion matrix")
    page.get_by_role("button", name="Show").last.click()
    table = page.locator("#confusion-table")
    table.get_by_text("true \\ predicted").wait_for()
    cells = table.locator("[role=gridcell]")  # Gradio's virtual table: rows of 8 cells, the class name first
    clicked = False
    for i in range(cells.count()):
        text = cells.nth(i).inner_text().strip()
        if text.isdigit() and int(text) > 0 and i % 8 != 0:
            cells.nth(i).click()
            clicked = True
            break
    assert clicked
    page.locator("#cell-gallery img").first.wait_for()
    assert page.locator("#cell-gallery img").count() >= 1
    page.screenshot(path=str(SHOTS / "confusion.png"), full_page=True)


def test_embeddings_plot_appears(page) -> None:  # noqa: ANN001
    tab(page, "Embeddings")
    page.get_by_role("button", name="Show").nth(0).click()
    page.get_by_text("t-SNE of 70 faces").wait_for()
    page.locator("#embedding-plot canvas, #embedding-plot svg").first.wait_for()
    page.screenshot(path=str(SHOTS / "embeddings.png"), full_page=True)


def test_compare_and_about_tabs(page) -> None:  # noqa: ANN001
    tab(page, "Compare models")
    page.get_by_text("GMACs").first.wait_for()
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)
    tab(page, "About")
    page.get_by_text("Reported versus reproduced").wait_for()
    page.screenshot(path=str(SHOTS / "about.png"), full_page=True)


def test_video_tab_shows_the_timeline_and_a_playable_overlay(page, tmp_path) -> None:  # noqa: ANN001
    from fer.video.democlip import write_demo_clip

    clip = write_demo_clip(tmp_path / "two_faces.mp4", seconds=2, fps=10, faces=2)
    tab(page, "Video")
    page.locator("#video-upload input[type=file]").set_input_files(str(clip))
    page.get_by_role("button", name="Analyze").last.click()
    page.locator("#video-status").get_by_text("2 face(s) tracked").wait_for()
    page.locator("#video-timeline .js-plotly-plot").wait_for()
    assert page.locator("#video-timeline .scatterlayer .trace").count() >= 7  # a line per class
    page.locator("#video-summary").get_by_text("Face 2").wait_for()
    page.locator("#video-maps img").first.wait_for()  # the frame at time 0 with a map per face
    # The overlay (VP8 WebM) decodes in Chromium: its metadata loads and it has the clip's size.
    video = page.locator("video").last
    video.wait_for()
    page.wait_for_function("v => v.readyState >= 1 && v.videoWidth > 0", arg=video.element_handle())
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [320, 240]
    page.screenshot(path=str(SHOTS / "video.png"), full_page=True)
