"""The studio's handlers without a browser: every bad upload gets a message, tabs read the artifacts."""

from __future__ import annotations

import dataclasses
import io
import struct
import zipfile
import zlib
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest
from appserver import prepare_checkpoints
from datagen import zip_of_synthetic_faces
from PIL import Image
from skimage import data as skdata
from wcag import contrast

from demo.studio import CHECKPOINT_SOURCE, UPLOAD_SOURCE, Studio
from demo.tabs import compare, confusion, embeddings, evaluate
from demo.tabs.analyze import MODEL_IDS, TOP, render, rerun, run_analysis


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return Studio(str(prepare_checkpoints(tmp_path_factory.mktemp("ckpt"))))


def png_header(width: int, height: int) -> bytes:
    """A small real PNG whose header is patched to claim ``width`` x ``height``: decoding would need gigabytes."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def save(tmp_path: Path, name: str, writer) -> str:  # noqa: ANN001
    path = tmp_path / name
    writer(path)
    return str(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.png", b"hello, not an image", "not an image"),
        ("broken.jpg", None, "corrupt"),
        ("dot.png", "1x1", "too small"),
        ("huge.png", png_header(20000, 20000), "too large"),
    ],
)
def test_bad_uploads_get_a_clear_message(studio: Studio, tmp_path: Path, name: str, content, message: str) -> None:  # noqa: ANN001
    path = tmp_path / name
    if content == "1x1":
        Image.new("RGB", (1, 1)).save(path)
    elif content is None:
        buf = io.BytesIO()
        Image.fromarray(skdata.astronaut()).save(buf, "JPEG")
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])  # truncated JPEG
    else:
        path.write_bytes(content)
    state, text = run_analysis(studio, str(path), None, "gradcam", TOP, ["resemotenet"], False)
    assert state is None and text.startswith("⚠️")
    assert message in text.lower() or message in text
    assert str(tmp_path) not in text and "/tmp" not in text  # the file's name at most, never the server's folder
    outputs = render(state, 0, text)
    assert outputs[2] == text  # the message is what the page shows


@pytest.mark.parametrize("kind", ["animated", "cmyk", "16bit"])
def test_unusual_but_valid_images_are_analysed(studio: Studio, tmp_path: Path, kind: str) -> None:
    photo = skdata.astronaut()
    path = tmp_path / f"{kind}.{'gif' if kind == 'animated' else 'tif' if kind == 'cmyk' else 'png'}"
    if kind == "animated":
        frames = [Image.fromarray(photo), Image.fromarray(255 - photo)]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    elif kind == "cmyk":
        Image.fromarray(photo).convert("CMYK").save(path)
    else:
        gray16 = (skdata.astronaut().mean(2) * 200 + 1000).astype(np.uint16)
        Image.fromarray(gray16).save(path)
    state, text = run_analysis(studio, str(path), None, "gradcam", TOP, ["resemotenet"], False)
    assert text == "" and len(state["faces"]) == 1


def test_render_shows_every_chosen_model(studio: Studio) -> None:
    state, _ = run_analysis(studio, None, skdata.astronaut(), "gradcam", TOP, ["resemotenet", "convcut"], False)
    out = render(state, 0, "")
    assert out[0]["value"].shape == skdata.astronaut().shape  # the photo with its box
    assert "1 face(s) boxed" in out[0]["alt_text"]
    assert "of 2 models" in out[2]
    slots, consensus = out[3:-1], out[-1]
    assert consensus["visible"] and consensus["value"] is not None  # two maps: their consensus is drawn
    shown = [MODEL_IDS[i // 3] for i, s in enumerate(slots) if i % 3 == 0 and s.get("visible")]
    assert shown == ["convcut", "resemotenet"]
    # The astronaut's face has landmarks: region bars under each map, the agreement matrix in the summary.
    bars = [s["value"] for i, s in enumerate(slots) if i % 3 == 2 and s.get("visible")]
    assert len(bars) == 2 and all("mouth" in b and "occl." in b for b in bars)
    assert "Do the maps agree?" in out[2] and "Spearman" in out[2]
    outlined = render(state, 0, "", outlines=True)[3:-1]
    cam_plain, cam_outlined = slots[1]["value"], outlined[1]["value"]  # convcut's map, without and with regions
    assert cam_plain.shape == cam_outlined.shape and not np.array_equal(cam_plain, cam_outlined)
    assert (cam_outlined == 255).all(-1).sum() > (cam_plain == 255).all(-1).sum()  # white outlines drawn


def test_region_bars_say_when_map_and_occlusion_disagree() -> None:
    from demo.views import region_bars
    from fer.inference import ModelResult

    shares = {"brows": 0.05, "eyes": 0.1, "nose": 0.05, "mouth": 0.6, "rest": 0.2}
    result = ModelResult(
        probs={"happy": 1.0},
        top="happy",
        cam=None,
        cam_class="happy",
        trained=False,
        note="",
        regions=shares,
        region_lift={name: 1.0 for name in shares},
        occlusion={"brows": 0.0, "eyes": 0.3, "nose": 0.0, "mouth": 0.1},
    )
    text = region_bars(result)
    assert "60%" in text and "occl. +0.30" in text
    assert "points at the mouth, but greying out the eyes costs most" in text
    agreeing = region_bars(dataclasses.replace(result, occlusion={**result.occlusion, "mouth": 0.5}))
    assert "⚠️" not in agreeing
    assert region_bars(dataclasses.replace(result, regions=None)) == ""
    flat = region_bars(dataclasses.replace(result, occlusion=dict.fromkeys(result.occlusion, 0.001)))
    assert "⚠️" not in flat and "under 1%" in flat


def test_no_photo_and_no_face(studio: Studio) -> None:
    assert run_analysis(studio, None, None, "gradcam", TOP, MODEL_IDS, False)[0] is None
    blank = np.full((120, 120, 3), 200, np.uint8)
    state, text = run_analysis(studio, None, blank, "gradcam", TOP, ["convcut"], False)
    assert state["faces"] == [] and "No face found" in text
    state, text = run_analysis(studio, None, blank, "gradcam", TOP, ["convcut"], True)
    assert state["faces"][0].whole_image


def test_confusion_cells_and_embeddings_read_the_artifacts(studio: Studio) -> None:
    table, note = confusion.matrix(studio, CHECKPOINT_SOURCE, {}, "resemotenet", "raw")
    assert table.shape == (7, 8) and table.iloc[:, 1:].to_numpy().sum() == 70
    assert "chance 14.3%" in note and "Weights: trained" in note  # the accuracy beside its baselines
    styled = confusion.heat(table).to_html()
    assert "background-color: rgb(66,146,198)" in styled  # the largest cell is the darkest: one matrix, a heatmap
    row = int(np.argmax(table.iloc[:, 1:].to_numpy().max(1)))
    col = int(np.argmax(table.iloc[row, 1:].to_numpy())) + 1

    class Evt:
        index = (row, col)

    gallery, shown, text = confusion.cell_faces(studio, CHECKPOINT_SOURCE, {}, "resemotenet", Evt())
    assert len(gallery) == table.iloc[row, col] == len(shown)
    names = list(table.columns[1:])
    assert gallery[0][1].endswith(f"% · true {names[row]} / predicted {names[col - 1]}")  # not a path
    frame, note = embeddings.embedding_frame(studio, CHECKPOINT_SOURCE, {}, "resemotenet", "t-SNE", "correct?")
    assert len(frame) == 70 and set(frame["color"]) <= {"correct", "wrong"}
    missing = confusion.matrix(studio, CHECKPOINT_SOURCE, {}, "psa_resnet50", "raw")
    assert missing[0] is None and "Evaluate your data" in missing[1]


def test_compare_says_what_is_missing_and_which_weights_are_trained(studio: Studio) -> None:
    # No uploaded data: no empty tables, the tab shows a message instead.
    assert compare.f1_table(studio, UPLOAD_SOURCE, {}) is None
    assert compare.agreement_table(studio, UPLOAD_SOURCE, {}) is None
    table = compare.model_table(studio, CHECKPOINT_SOURCE, {})
    weights = dict(zip(table["model"].str.split(" ").str[0], table["weights"]))
    assert weights["ResEmoteNet"] == "trained" and weights["PSA-ResNet50"] == "⚠️ untrained"
    assert table["measured accuracy"].str.contains("chance").sum() == 2  # the two models with an evaluation
    assert len(table.columns) == len(compare.MODEL_TABLE_WIDTHS)


def test_embedding_map_has_a_legend_per_group_in_every_colouring(studio: Studio) -> None:
    """Each colouring is a legend entry per class (or correct/wrong) holding all 70 points, after any other."""
    names = [str(c) for c in studio.artifact("resemotenet").arrays["class_names"]]
    for color in ("true label", "predicted label", "correct?", "true label"):
        plot, note, frame, gallery, selected, hovered, hover_note = embeddings.show(
            studio, CHECKPOINT_SOURCE, {}, "resemotenet", "t-SNE", color
        )
        fig = plot["value"]
        legend = [trace.name for trace in fig.data]
        assert sum(len(trace.x) for trace in fig.data) == 70
        expected = ["correct", "wrong"] if color == "correct?" else names
        assert legend == [g for g in expected if (frame["color"] == g).any()]
        assert fig.layout.legend.title.text == color and fig.layout.dragmode == "lasso"
        assert "%{customdata[4]}" in fig.data[0].hovertemplate and fig.data[0].customdata[0][4].endswith("%")
        assert (gallery, selected, hovered, hover_note) == ([], "", None, "")  # a new plot clears the old selection
    rows = frame["row"][frame["correct?"] == "wrong"].tolist()[:5]
    gallery, text = embeddings.faces_selected(studio, frame, CHECKPOINT_SOURCE, {}, "resemotenet", rows)
    assert len(gallery) == len(rows) and f"{len(rows)} faces selected, {len(rows)} of them misclassified" in text
    assert embeddings.faces_selected(studio, frame, CHECKPOINT_SOURCE, {}, "resemotenet", []) == ([], "")
    face, caption = embeddings.face_at(studio, frame, CHECKPOINT_SOURCE, {}, "resemotenet", rows[0])
    assert face.shape[:2] == (embeddings.HOVER_SIZE,) * 2 and "predicted" in caption


def test_evaluate_your_data_zip(studio: Studio, tmp_path: Path) -> None:
    zpath = zip_of_synthetic_faces(tmp_path / "mine.zip", 14, folder="mine")
    with zipfile.ZipFile(zpath, "a") as z:
        z.writestr("mine/.DS_Store", b"junk")

    class NoProgress:
        def __call__(self, *a, **k) -> None:
            pass

        def tqdm(self, it, **k):  # noqa: ANN001, ANN201
            return it

    uploads, table, note = evaluate.evaluate_upload(studio, str(zpath), {}, NoProgress())
    assert set(uploads) == set(MODEL_IDS) and len(table) == 4
    assert "Read 14 faces" in note
    assert table["accuracy"].str.contains("chance 14.3%").all()  # every accuracy beside its baselines
    # The checkpoints have ResEmoteNet's evaluation but not PSA-ResNet50's: that tab opens on the upload.
    assert studio.default_source(uploads, "resemotenet") == CHECKPOINT_SOURCE
    assert studio.default_source(uploads, "psa_resnet50") == UPLOAD_SOURCE
    assert studio.default_source({}, "psa_resnet50") == CHECKPOINT_SOURCE
    tables = (
        compare.model_table(studio, UPLOAD_SOURCE, uploads),
        compare.agreement_table(studio, UPLOAD_SOURCE, uploads),
    )
    assert (tables[0]["on"].str.contains("14 faces")).all()
    assert len(tables[1]) == 6  # every pair of the four models
    assert tables[0]["ECE (15 bins)"].between(0, 1).all()  # calibration per model, from the new artifacts
    figure = compare.reliability_figure(studio, UPLOAD_SOURCE, uploads)
    assert len(figure.data) == 8 and "ECE" in figure.layout.annotations[0].text  # a diagram per model
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK not really")
    assert evaluate.evaluate_upload(studio, str(bad), {}, NoProgress())[2].startswith("⚠️")


def test_live_frames_label_faces_and_keep_a_short_history(studio: Studio) -> None:
    from demo.tabs import live

    frame = skdata.astronaut()
    history: list = []
    for _ in range(3):
        out, chart, history = live.live_frame(studio, frame, "resemotenet", history)
    assert out.shape == frame.shape and not np.array_equal(out, frame)  # a box and a label were drawn
    assert len(history) == 3 and set(chart["emotion"]) == set(history[0][1])
    assert chart["seconds ago"].max() == 0 and (chart["probability"].between(0, 1)).all()
    old = [(t - live.WINDOW_S - 1, p) for t, p in history]
    _, chart, history = live.live_frame(studio, frame, "resemotenet", old)
    assert len(history) == 1  # frames older than the window are dropped
    assert live.live_frame(studio, None, "resemotenet", history)[0] is None


def test_artifacts_are_read_once_per_version(studio: Studio) -> None:
    first = studio.artifact("resemotenet")
    assert studio.artifact("resemotenet") is first  # a cell click does not re-read predictions.npz
    metrics = first.path / "metrics.json"
    metrics.write_text(metrics.read_text())  # a new version (train.py rewrote it)
    import os

    os.utime(metrics, ns=(metrics.stat().st_atime_ns, metrics.stat().st_mtime_ns + 1_000_000))
    assert studio.artifact("resemotenet") is not first


def test_primary_buttons_and_the_selected_tab_meet_wcag_aa() -> None:
    from demo.app import CSS, DARK_ACCENT, THEME

    def colour(name: str) -> str:
        value = getattr(THEME, name)
        while value.startswith("*"):  # a reference to another variable of the theme ("*primary_700")
            value = getattr(THEME, value[1:])
        return {"white": "#ffffff", "black": "#000000"}.get(value, value)

    assert contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast(colour("button_primary_text_color"), colour("button_primary_background_fill")) >= 4.5
    assert contrast(colour("button_primary_text_color"), colour("button_primary_background_fill_hover")) >= 4.5
    # The selected tab's text is --color-accent on the page background.
    assert contrast(colour("color_accent"), colour("background_fill_primary")) >= 4.5
    dark = contrast(colour("button_primary_text_color_dark"), colour("button_primary_background_fill_dark"))
    assert dark >= 4.5
    assert f"--color-accent: {DARK_ACCENT}" in CSS
    assert contrast(DARK_ACCENT, colour("background_fill_primary_dark")) >= 4.5


def test_every_example_has_faces_for_the_default_detector(studio: Studio, tmp_path: Path) -> None:
    from demo.examples import EXAMPLE_NAMES, GROUP_FACES, example_photos
    from fer.images import DETECT_MAX_SIDE, load_image

    paths = example_photos(tmp_path)
    assert [Path(p).stem for p in paths] == list(EXAMPLE_NAMES)
    found = {Path(p).stem: studio.analyzer.faces(load_image(p, max_side=DETECT_MAX_SIDE))[1] for p in paths}
    assert all(len(faces) >= 1 for faces in found.values()), {k: len(v) for k, v in found.items()}
    assert len(found["group"]) == GROUP_FACES >= 2


def test_every_map_is_shown_at_one_size_with_a_colour_bar() -> None:
    from fer.explain.overlay import COLORBAR_HEIGHT, COLORMAPS, DISPLAY_SIZE, cam_display

    cam = np.zeros((7, 7), np.float32)
    cam[3, 3] = 1.0
    shown = [cam_display(np.full((side, side), 128, np.uint8), cam) for side in (48, 121, 268)]
    assert {s.shape for s in shown} == {(DISPLAY_SIZE + COLORBAR_HEIGHT, DISPLAY_SIZE, 3)}
    colour = cam_display(np.full((60, 60, 3), (200, 30, 30), np.uint8), cam, colorbar=False)
    assert colour.shape == (DISPLAY_SIZE, DISPLAY_SIZE, 3) and colour[0, 0, 0] > colour[0, 0, 2]  # the red photo
    # The colour bar runs from the map's low colour to its high one, in the chosen colormap.
    bar = shown[0][DISPLAY_SIZE + 2]
    hot = shown[0][DISPLAY_SIZE // 2, DISPLAY_SIZE // 2]
    assert np.abs(bar[-1].astype(int) - bar[0]).sum() > 100
    assert set(COLORMAPS) >= {"viridis", "jet"}
    jet = cam_display(np.full((48, 48), 128, np.uint8), cam, colormap="jet")
    assert not np.array_equal(jet[DISPLAY_SIZE // 2, DISPLAY_SIZE // 2], hot)
    invisible = cam_display(np.full((48, 48), 128, np.uint8), cam, alpha=0.0, colorbar=False)
    assert np.abs(invisible.astype(int) - 128).max() <= 1  # opacity 0: the crop alone
    with pytest.raises(ValueError, match="viridis"):
        cam_display(np.zeros((8, 8), np.uint8), cam, colormap="rainbow")


def test_every_face_is_numbered_and_labelled_and_a_click_picks_it(studio: Studio) -> None:
    from demo.examples import group_photo
    from demo.views import draw_boxes, face_at, face_label

    photo = group_photo()
    state, _ = run_analysis(studio, None, photo, "gradcam", TOP, ["convcut"], False)
    faces = state["faces"]
    assert len(faces) == 3 and [f.box[0] for f in faces] == sorted(f.box[0] for f in faces)  # left to right
    drawn = draw_boxes(photo, faces, 0)
    for face in faces:  # a filled label under (or above) every face, not only the chosen one
        x, y, w, h = face.box
        below, above = drawn[y + h + 2 : y + h + 30, x : x + 30], drawn[max(0, y - 30) : y - 2, x : x + 30]
        assert max((s == (255, 200, 0)).all(-1).mean() if s.size else 0 for s in (below, above)) > 0.2
        assert face_label(face) == face.models["convcut"].top
    for i, face in enumerate(faces):
        x, y, w, h = face.box
        assert face_at(faces, x + w / 2, y + h / 2) == i
    assert face_at(faces, 0, photo.shape[0] - 1) is None  # far from every face
    picked = render(state, 2, "")
    assert picked[1]["value"] == 2 and "showing face 3" in picked[2] and "Face 3:" in picked[4]["label"]
    assert picked[4]["alt_text"] == picked[4]["label"]  # every map has alt text
    assert all(f"{i + 1} {face_label(f)}" in picked[0]["alt_text"] for i, f in enumerate(faces))


def test_changing_method_or_class_reruns_the_same_faces(studio: Studio) -> None:
    state, _ = run_analysis(studio, None, skdata.astronaut(), "gradcam", TOP, ["convcut"], False)
    again, message = rerun(studio, state, "eigencam", "sad", ["convcut"])
    assert again["method"] == "eigencam" and message == ""
    assert again["faces"][0].face is state["faces"][0].face  # no new detection
    assert again["faces"][0].models["convcut"].cam_class == "sad"
    assert "EigenCAM for 'sad'" in render(again, 0, "")[4]["label"]
    two = rerun(studio, state, "scorecam", TOP, ["convcut", "resemotenet"])  # refused: the old results stay
    assert two[0] is state and "Score-CAM" in two[1] and "still Grad-CAM's" in two[1]


def test_the_newest_input_is_analysed_and_the_page_says_so(studio: Studio, tmp_path: Path) -> None:
    path = tmp_path / "astronaut.png"
    Image.fromarray(skdata.astronaut()).save(path)
    blank = np.full((120, 120, 3), 200, np.uint8)
    state, text = run_analysis(studio, str(path), blank, "gradcam", TOP, ["convcut"], False, latest="snapshot")
    assert state["faces"] == [] and "webcam snapshot" in text
    state, text = run_analysis(studio, str(path), blank, "gradcam", TOP, ["convcut"], False, latest="file")
    assert len(state["faces"]) == 1 and "uploaded file" in text


def test_contempt_is_offered_only_with_an_eight_class_model(studio: Studio, tmp_path: Path, built_model) -> None:  # noqa: ANN001
    from demo.tabs.analyze import class_choices

    assert "contempt" not in class_choices(studio, MODEL_IDS)
    fer_save = __import__("fer").save_checkpoint
    fer_save(built_model("convcut", num_classes=8), tmp_path / "convcut")
    eight = Studio(str(tmp_path))
    assert eight.class_names("convcut")[-1] == "contempt"
    assert "contempt" in class_choices(eight, ["convcut", "resemotenet"])
    assert "contempt" not in class_choices(eight, ["resemotenet"])


def test_one_banner_says_which_models_are_untrained(tmp_path: Path) -> None:
    from demo.tabs.live import weights_note

    untrained = Studio(str(tmp_path))
    banner = untrained.checkpoint_banner()
    assert banner.count("\n") == 0 and "Untrained weights" in banner and "every model" in banner
    assert "untrained weights" in weights_note(untrained, "resemotenet")
    state, _ = run_analysis(untrained, None, skdata.astronaut(), "gradcam", TOP, ["convcut"], False)
    summary = render(state, 0, "")[2]
    assert "**" not in summary.split("Do the maps agree?")[0] and "a guess, not a reading" in summary


def test_untrained_models_get_no_headline_and_maps_come_over_the_colour_photo(studio: Studio) -> None:
    from demo.tabs.analyze import Display
    from fer.explain.overlay import COLORBAR_HEIGHT, DISPLAY_SIZE

    state, _ = run_analysis(studio, None, skdata.astronaut(), "gradcam", TOP, ["convcut", "psa_resnet50"], False)
    out = render(state, 0, "", display=Display(on_color=True, colormap="cividis", alpha=0.3))
    slots = dict(zip(MODEL_IDS, (out[3 + 3 * i : 6 + 3 * i] for i in range(len(MODEL_IDS)))))
    assert "untrained" not in slots["convcut"][0]["elem_classes"]  # the fixture's checkpoint
    assert "untrained" in slots["psa_resnet50"][0]["elem_classes"] and "untrained" in slots["psa_resnet50"][0]["label"]
    cam = slots["convcut"][1]["value"]
    assert cam.shape == (DISPLAY_SIZE + COLORBAR_HEIGHT, DISPLAY_SIZE, 3)
    body = cam[:DISPLAY_SIZE].astype(int)
    assert np.abs(body[..., 0] - body[..., 2]).mean() > 5  # colour, not gray under the map


def test_explain_redraws_its_kept_maps_in_a_new_colour_map_and_opacity_without_recomputing(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo.tabs import explain

    class NoProgress:
        def tqdm(self, it, **k):  # noqa: ANN001, ANN201
            return it

    state, _ = run_analysis(studio, None, skdata.astronaut(), "gradcam", TOP, ["convcut"], False)
    maps, note = explain.explain_maps(studio, state, 0, "convcut", "", TOP, False, NoProgress())
    assert "ROAD" in note and "scorecam" not in maps["cams"] and len(maps["cams"]) == len(explain.CAM_LABELS) - 1
    shown = explain.panels(maps, False, "viridis", 0.5)
    assert [u.get("visible") for u in shown] == [k != "scorecam" for k in explain.CAM_LABELS]

    def recomputed(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a colour map or opacity must not recompute a map")

    monkeypatch.setattr(explain, "compute_cam", recomputed)
    monkeypatch.setattr(explain, "road_score", recomputed)
    for cmap, alpha in (("magma", 0.5), ("viridis", 0.9)):
        again = explain.redraw(maps, cmap, alpha)
        assert again[list(explain.CAM_LABELS).index("scorecam")] == gr.skip()  # no Score-CAM map: left alone
        for old, new in zip(shown, again):
            if "label" in old and old.get("value") is not None:
                assert new["value"].shape == old["value"].shape and not np.array_equal(new["value"], old["value"])
    assert explain.redraw(maps, "viridis", 0.5)[0]["value"].tobytes() == shown[0]["value"].tobytes()
    assert explain.redraw(None, "magma", 0.5) == [gr.skip()] * len(explain.CAM_LABELS)  # nothing explained yet


def test_a_second_evaluation_keeps_a_tab_on_your_data_and_clears_what_it_showed_of_the_first(
    studio: Studio, tmp_path: Path
) -> None:
    from fer.evaluation.artifact import METRICS_FILE, PREDICTIONS_FILE

    uploads = {}
    for name in MODEL_IDS:  # where each model's artifact of an upload is; routing reads only that they exist
        (tmp_path / name).mkdir()
        for f in (METRICS_FILE, PREDICTIONS_FILE):
            (tmp_path / name / f).write_text("")
        uploads[name] = str(tmp_path / name)
    assert studio.has_artifact("resemotenet", CHECKPOINT_SOURCE)  # the checkpoints' evaluation would be the default
    for model in ("resemotenet", None):  # a tab with its own model (Embeddings), one of all models (Compare)
        assert evaluate.source_after_evaluation(studio, uploads, UPLOAD_SOURCE, model) == UPLOAD_SOURCE
        assert evaluate.source_after_evaluation(studio, uploads, CHECKPOINT_SOURCE, model) == CHECKPOINT_SOURCE
    assert evaluate.source_after_evaluation(studio, {}, UPLOAD_SOURCE, "resemotenet") == CHECKPOINT_SOURCE
    # Its source kept, the tab fires no change: the new uploads take down what came from the old ones.
    frame, _ = embeddings.embedding_frame(studio, CHECKPOINT_SOURCE, {}, "resemotenet", "t-SNE", "true label")
    down = embeddings.after_new_uploads(frame, UPLOAD_SOURCE)
    assert down[0]["visible"] is False and down[2] is None and down[3] == []  # plot, frame, selection
    assert embeddings.after_new_uploads(frame, CHECKPOINT_SOURCE) == embeddings.UNTOUCHED  # still the right rows
    assert embeddings.after_new_uploads(None, UPLOAD_SOURCE) == embeddings.UNTOUCHED  # nothing drawn yet
    cleared = confusion.after_new_uploads(UPLOAD_SOURCE)
    assert cleared[0]["visible"] is False and cleared[2:4] == ([], [])  # matrix hidden, cell's faces and rows gone
    assert all(u == gr.skip() for u in confusion.after_new_uploads(CHECKPOINT_SOURCE))


def test_evaluate_shows_its_table_in_one_update_and_the_tabs_listen_to_new_uploads(tmp_path: Path) -> None:
    from demo.app import build_demo

    table = evaluate.results(({"convcut": "x"}, pd.DataFrame({"model": ["Conv-cut"]}), "note"))
    assert table[1]["visible"] is True and len(table[1]["value"]) == 1
    assert evaluate.results(({}, None, "⚠️ bad zip"))[1] == {"__type__": "update", "value": None, "visible": False}
    demo = build_demo(str(tmp_path))
    config = demo.config
    ids = {c["props"].get("elem_id"): c["id"] for c in config["components"] if c["props"].get("elem_id")}
    results = ids["evaluate-results"]
    assert not any(results in d["inputs"] for d in config["dependencies"])  # the table never goes back to the server
    uploads_state = next(d["outputs"][0] for d in config["dependencies"] if results in d["outputs"])
    on_uploads = [d for d in config["dependencies"] if [uploads_state, "change"] in [list(t) for t in d["targets"]]]
    cleared = {o for d in on_uploads for o in d["outputs"]}
    assert {ids["embedding-plot"], ids["confusion-table"], ids["cell-gallery"]} <= cleared
