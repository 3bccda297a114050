"""The studio in headless Chromium: upload a photo, read four models, the dataset view, a confusion cell, embeddings.

Screenshots of each tab land in test-artifacts/screenshots/ (the README's come from here).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from skimage import data as skdata
from wcag import contrast

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


def loaded(page, selector: str) -> None:  # noqa: ANN001
    """Wait until the first row of images matched is decoded (a screenshot taken earlier shows empty frames;
    images further down load lazily, only when scrolled to)."""
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].slice(0, 6).every(i => i.complete && i.naturalWidth > 0)",
        arg=selector,
    )


def gallery_images(page, elem_id: str) -> int:  # noqa: ANN001
    return page.locator(f"#{elem_id} img").count()


def test_confusion_cell_shows_its_faces_and_a_new_show_clears_them(page) -> None:  # noqa: ANN001
    tab(page, "Confusion matrix")
    page.get_by_role("button", name="Show").last.click()
    table = page.locator("#confusion-table")
    table.get_by_text("true \\ predicted").wait_for()
    assert page.locator("#confusion-note").get_by_text("chance 14.3%").count() == 1  # accuracy beside baselines
    cells = table.locator("[role=gridcell]")  # Gradio's virtual table: rows of 8 cells, the class name first
    target = None
    for i in range(cells.count()):
        text = cells.nth(i).inner_text().strip()
        if text.isdigit() and int(text) > 0 and i % 8 != 0:
            target = cells.nth(i)
            break
    assert target is not None
    # One matrix: the cells are the heatmap (shaded by count), and clicking one drills down.
    assert "rgb(" in target.evaluate("c => getComputedStyle(c.closest('td') || c).backgroundColor")
    target.click()
    page.locator("#cell-gallery img").first.wait_for()
    assert gallery_images(page, "cell-gallery") >= 1
    caption = page.locator("#cell-gallery").inner_text()
    assert "true " in caption and "/ predicted " in caption and "%" in caption and ".png" not in caption
    loaded(page, "#cell-gallery img")
    page.screenshot(path=str(SHOTS / "confusion.png"), full_page=True)
    page.locator("#confusion-model input").click()  # another model: the old cell's faces go
    page.get_by_role("option", name="Conv-cut").click()
    page.locator("#cell-gallery img").first.wait_for(state="detached")
    assert page.locator("#confusion-table").is_hidden()


def wait_points(page, n: int) -> None:  # noqa: ANN001
    page.wait_for_function("n => document.querySelectorAll('#embedding-plot .scatterlayer .point').length === n", arg=n)


def test_embeddings_legend_every_colouring_and_box_selection(page) -> None:  # noqa: ANN001
    tab(page, "Embeddings")
    page.get_by_role("button", name="Show").nth(0).click()
    page.get_by_text("t-SNE of 70 faces").wait_for()
    wait_points(page, 70)
    legend = page.locator("#embedding-plot .legend")
    assert "happy" in legend.text_content() and "color" not in legend.text_content()  # class names, not a colour bar
    colour = page.locator("#embeddings-colour")
    # The bug this guards: colouring by "correct?" after another colouring drew an empty plot.
    for choice in ("predicted label", "correct?", "true label", "correct?"):
        colour.get_by_label(choice, exact=True).check()
        legend.get_by_text(choice).wait_for()  # the legend's title: the redraw arrived
        wait_points(page, 70)
    assert "wrong" in legend.text_content() or "correct" in legend.text_content()
    # Hover a point: its face appears beside the plot (once the bridge has hooked the redrawn plot).
    page.locator("#embedding-plot .js-plotly-plot[data-fer-bridge=on]").wait_for(state="attached")
    box = page.locator("#embedding-plot .scatterlayer .point").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#embedding-hover img").wait_for()
    # Box selection over the whole plot area picks every face.
    page.locator("#embedding-plot .modebar-btn[data-title='Box Select']").click()
    area = page.locator("#embedding-plot .nsewdrag").first.bounding_box()
    page.mouse.move(area["x"] + 2, area["y"] + 2)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] / 2, area["y"] + area["height"] / 2, steps=5)
    page.mouse.move(area["x"] + area["width"] - 2, area["y"] + area["height"] - 2, steps=5)
    page.mouse.up()
    page.locator("#embedding-selected").get_by_text("70 faces selected").wait_for()
    page.locator("#embedding-gallery img").first.wait_for()
    loaded(page, "#embedding-gallery img")
    page.screenshot(path=str(SHOTS / "embeddings.png"), full_page=True)
    # Another map: the plot and its selection go.
    page.locator("#embeddings-method").get_by_label("UMAP", exact=True).check()
    page.locator("#embedding-gallery img").first.wait_for(state="detached")
    assert page.locator("#embedding-selected").inner_text().strip() == ""


def test_compare_and_about_tabs(page) -> None:  # noqa: ANN001
    tab(page, "Compare models")
    page.get_by_text("GMACs").first.wait_for()
    # The model table fits the page: no horizontal scroll, no header squeezed to one letter per line.
    table = page.locator("#compare-models")
    assert table.evaluate("t => t.getBoundingClientRect().right") <= page.viewport_size["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= page.viewport_size["width"]
    header = table.get_by_text("CPU ms").first.bounding_box()
    assert header["width"] > header["height"]
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


def test_evaluating_data_points_the_empty_tabs_at_it(page, tmp_path) -> None:  # noqa: ANN001
    from datagen import zip_of_synthetic_faces

    tab(page, "Confusion matrix")
    page.locator("#confusion-model input").click()
    page.get_by_role("option", name="PSA-ResNet50").click()  # no trained checkpoint, so no evaluation yet
    page.get_by_role("button", name="Show").last.click()
    # An empty state is a pointer to the next step, not an empty table with "1 2 3" headers.
    page.locator("#confusion-note").get_by_text("Evaluate your data").wait_for()
    assert page.locator("#confusion-table").is_hidden()
    zpath = zip_of_synthetic_faces(tmp_path / "mine.zip", 14, folder="mine")
    tab(page, "Evaluate your data")
    page.locator("#evaluate-upload input[type=file]").set_input_files(str(zpath))
    page.get_by_role("button", name="Evaluate the four models").click()
    page.locator("#evaluate-note").get_by_text("Read 14 faces").wait_for()
    assert "chance 14.3%" in page.locator("#evaluate-results").inner_text()
    page.screenshot(path=str(SHOTS / "evaluate.png"), full_page=True)
    # Confusion (PSA-ResNet50) has no checkpoint evaluation: it now opens on the uploaded data.
    tab(page, "Confusion matrix")
    page.locator("#confusion-source").get_by_label("your data").wait_for()
    page.wait_for_function("() => document.querySelector('#confusion-source input[value=\"your data\"]').checked")
    page.get_by_role("button", name="Show").last.click()
    page.locator("#confusion-table").get_by_text("true \\ predicted").wait_for()
    assert "Untrained weights" in page.locator("#confusion-note").inner_text()
    # Compare keeps the trained checkpoints' evaluations, which exist.
    tab(page, "Compare models")
    assert page.locator("#compare-source").get_by_label("trained checkpoints").is_checked()
    # A second evaluation: Confusion stays on your data (its radio fires no change) and still drops the first
    # upload's matrix, whose cells would pair faces with the wrong rows.
    tab(page, "Confusion matrix")
    cells = page.locator("#confusion-table [role=gridcell]")  # rows of 8 cells, the class name first
    cells.nth(8 * 7 - 1).wait_for()  # drawn again now that the tab shows: every row is there
    counts = [(i, cells.nth(i).inner_text().strip()) for i in range(cells.count()) if i % 8]
    cells.nth(next(i for i, t in counts if t.isdigit() and int(t) > 0)).click()
    page.locator("#cell-gallery img").first.wait_for()
    tab(page, "Evaluate your data")
    page.get_by_role("button", name="Evaluate the four models").click()
    tab(page, "Confusion matrix")
    page.locator("#confusion-note").get_by_text("Press Show for this choice").wait_for()
    assert page.locator("#confusion-source").get_by_label("your data").is_checked()
    assert page.locator("#confusion-table").is_hidden() and page.locator("#cell-gallery img").count() == 0


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
    assert contrast(*colours) >= 4.5, colours
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
    assert contrast(*colours) >= 4.5, colours
    page.screenshot(path=str(SHOTS / "explain.png"), full_page=True)
    # Another colour map redraws the kept maps at once: no Explain press, the same captions (no new ROAD).
    before = maps.evaluate_all("imgs => imgs.map(i => [i.src, i.alt])")
    page.locator("#explain-colormap input").click()
    page.get_by_role("option", name="magma").click()
    page.wait_for_function(
        "old => [...document.querySelectorAll('.explain-map img')].every((i, k) => i.src !== old[k][0])", arg=before
    )
    assert [alt for _, alt in before] == maps.evaluate_all("imgs => imgs.map(i => i.alt)")
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


def test_score_cam_on_the_group_photo_is_refused_at_once_and_keeps_the_results(page) -> None:  # noqa: ANN001
    """Issue 14, point 1 as a user meets it: Score-CAM chosen with four models on a three-face photo (loaded by
    the test above) is refused with its reason well within the minute, and the Grad-CAM results stay."""
    import time

    tab(page, "Analyze")
    page.locator("#agreement").get_by_text("3 faces found").wait_for()
    page.get_by_label("CAM method").click()
    start = time.monotonic()
    page.get_by_role("option", name="Score-CAM").click()
    page.locator("#cam-cost").get_by_text("one model").wait_for(timeout=60_000)  # the cost note, before anything runs
    summary = page.locator("#agreement")
    summary.get_by_text("offered for one model").wait_for(timeout=60_000)
    assert time.monotonic() - start < 60
    assert "still Grad-CAM's" in summary.inner_text()  # the previous maps stay, and say whose they are
    assert page.locator(".model-cam img").count() == 4
