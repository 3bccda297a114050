"""The studio in headless Chromium: upload a photo, read four models, drill into a confusion cell, see embeddings.

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
    page.screenshot(path=str(SHOTS / "analyze.png"), full_page=True)


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


def _luminance(rgb: str) -> float:
    """Relative luminance of a CSS 'rgb(r, g, b)' colour (WCAG 2)."""
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_another_photo_replaces_the_first_and_a_click_picks_a_face(page, tmp_path) -> None:  # noqa: ANN001
    from PIL import Image

    from demo.examples import group_photo

    tab(page, "Analyze")
    group = tmp_path / "group.png"
    Image.fromarray(group_photo()).save(group)
    # Another photo replaces the one loaded by the first test in one step (no clearing first).
    with page.expect_file_chooser() as chooser:
        page.locator("#analyze-another").click()
    chooser.value.set_files(str(group))
    page.locator("#agreement").get_by_text("3 faces found").wait_for()
    assert "group" in page.locator("#analyze-upload").inner_text()
    photo = page.locator("#analyze-photo img")
    photo.wait_for()
    box = photo.bounding_box()
    width, height = photo.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    scale = min(box["width"] / width, box["height"] / height)  # object-fit: contain
    left = box["x"] + (box["width"] - width * scale) / 2
    top = box["y"] + (box["height"] - height * scale) / 2
    # The rightmost face of the group photo (its mirrored astronaut): about x 990, y 120 of 1152 x 512.
    page.mouse.click(left + 990 * scale, top + 120 * scale)
    page.locator("#agreement").get_by_text("showing face 3").wait_for()
    cams = page.locator(".model-cam img")
    cams.nth(3).wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.model-cam img')].every(i => i.alt.includes('Face 3'))"
    )
    assert "3 face(s) boxed" in photo.get_attribute("alt")  # result images have alt text
    # The primary button's text meets WCAG AA (4.5:1) as rendered.
    run = page.locator("#analyze-run")
    colours = run.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert _contrast(*colours) >= 4.5, colours
    page.screenshot(path=str(SHOTS / "analyze-group.png"), full_page=True)


def test_explain_shows_its_face_and_every_map(page) -> None:  # noqa: ANN001
    tab(page, "Explain")
    page.locator("#explain-face").get_by_text("face 3 of 3").wait_for()
    page.get_by_role("button", name="Explain", exact=True).click()
    maps = page.locator(".explain-map img")
    maps.nth(5).wait_for()
    assert maps.count() == 6  # every method but Score-CAM, in panels that wrap, no inner scroll
    page.wait_for_function(
        "() => [...document.querySelectorAll('.explain-map img')].every(i => i.alt.includes('ROAD'))"
    )
    selected = page.get_by_role("tab", name="Explain")
    # The text's colour against the first opaque background behind it.
    colours = selected.evaluate(
        """t => {
          let e = t, bg = 'rgba(0, 0, 0, 0)';
          const clear = (c) => c.startsWith('rgba') && c.endsWith(', 0)');
          while (e && clear(bg = getComputedStyle(e).backgroundColor)) e = e.parentElement;
          return [getComputedStyle(t).color, e ? bg : 'rgb(255, 255, 255)'];
        }"""
    )
    assert _contrast(*colours) >= 4.5, colours
    page.screenshot(path=str(SHOTS / "explain.png"), full_page=True)
    tab(page, "Live webcam")
    page.locator("#live-weights").get_by_text("ResEmoteNet").wait_for()  # trained or not, said beside the model


def test_phone_shows_results_right_after_the_photo(page, studio_server) -> None:  # noqa: ANN001
    phone = page.context.browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        phone.set_default_timeout(180_000)
        phone.goto(studio_server.url)
        phone.locator("#analyze-examples").get_by_text("group.png").click()  # the multi-face example
        phone.locator("#agreement").get_by_text("3 faces found").wait_for()
        photo = phone.locator("#analyze-photo").bounding_box()
        summary = phone.locator("#agreement").bounding_box()
        assert photo["y"] < 844 and summary["y"] < 2 * 844, (photo, summary)  # not two screens down
        assert phone.locator("#analyze-options").bounding_box()["y"] > summary["y"]  # options after results
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing wider than the phone
        phone.screenshot(path=str(SHOTS / "analyze-phone.png"), full_page=True)
    finally:
        phone.close()
