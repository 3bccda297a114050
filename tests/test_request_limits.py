"""Every request the studio serves is bounded: Score-CAM policy, time limits, /predict caps, clean messages,
temporary files removed. Handlers are called directly (no browser), on the two-model test checkpoints."""

from __future__ import annotations

import contextvars
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from appserver import prepare_checkpoints
from datagen import zip_of_synthetic_faces
from PIL import Image
from skimage import data as skdata

from demo import api, limits
from demo.messages import friendly, without_paths
from demo.studio import Studio
from demo.tabs import evaluate
from demo.tabs.analyze import TOP, run_analysis, score_cam_note


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return Studio(str(prepare_checkpoints(tmp_path_factory.mktemp("ckpt"))))


@pytest.fixture(scope="module")
def crowd(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The astronaut twice, side by side: a photo with several faces."""
    a = skdata.astronaut()
    path = tmp_path_factory.mktemp("photos") / "two.png"
    Image.fromarray(np.concatenate([a, a[:, ::-1]], 1)).save(path)
    return str(path)


class NoProgress:
    def __call__(self, *a, **k) -> None:
        pass

    def tqdm(self, it, **k):  # noqa: ANN001, ANN201
        return it


def test_score_cam_on_a_multi_face_photo_is_refused_within_a_minute(studio: Studio, crowd: str) -> None:
    start = time.monotonic()
    state, text = run_analysis(studio, crowd, None, "scorecam", TOP, ["resemotenet", "convcut"], False)
    assert state is None and "Score-CAM" in text and "one model" in text
    state, text = run_analysis(studio, crowd, None, "scorecam", TOP, ["resemotenet"], False)
    assert state is None and "faces in this photo" in text
    answer = api.predict(studio, crowd, "resemotenet", "scorecam")  # the API applies the same rule
    assert answer["faces"] == [] and "Score-CAM" in answer["error"]
    assert time.monotonic() - start < 60


def test_score_cam_cost_is_shown_before_it_runs(studio: Studio) -> None:
    assert score_cam_note(studio, "gradcam", ["resemotenet"]) == ""
    note = score_cam_note(studio, "scorecam", ["resemotenet"])
    assert "about" in note and "one face" in note and "time limit 60 s" in note
    assert "one model" in score_cam_note(studio, "scorecam", ["resemotenet", "convcut"])


def test_score_cam_that_would_outrun_the_time_limit_is_refused_up_front(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Studio, "score_cam_seconds", lambda self, model: 300.0)
    start = time.monotonic()
    state, text = run_analysis(studio, None, skdata.astronaut(), "scorecam", TOP, ["resemotenet"], False)
    assert state is None and "about 300 s" in text
    assert time.monotonic() - start < 20


def test_analysis_stops_at_its_time_limit_with_a_message(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("demo.tabs.analyze.ANALYZE_TIME_LIMIT_S", 0.0)
    state, text = run_analysis(studio, None, skdata.astronaut(), "gradcam", TOP, ["resemotenet"], False)
    assert state is None and "time limit" in text


def test_predict_counts_each_model_once_and_refuses_unknown_names(
    studio: Studio, crowd: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[str]] = []
    original = studio.analyzer.analyze_faces
    monkeypatch.setattr(
        studio.analyzer,
        "analyze_faces",
        lambda faces, names, cam, **options: asked.append(list(names)) or original(faces, names, cam, **options),
    )
    answer = api.predict(studio, crowd, "resemotenet," * 50, "")
    assert answer["error"] is None and asked == [["resemotenet"]]
    assert answer["image_size"] == [1024, 512] and 1 <= len(answer["faces"]) <= limits.MAX_FACES
    assert "unknown model" in api.predict(studio, crowd, "resemotenet,nope", "")["error"]
    assert "unknown CAM method" in api.predict(studio, crowd, "resemotenet", "bogus")["error"]
    assert len(asked) == 1


def test_predict_messages_name_no_server_path(studio: Studio, tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    answer = api.predict(studio, str(junk), "", "")
    assert "junk.png: not an image" in answer["error"] and str(tmp_path) not in answer["error"]
    strip = tmp_path / "strip.png"
    Image.new("L", (40000, 16)).save(strip)
    assert "too long and thin" in api.predict(studio, str(strip), "", "")["error"]


def test_unexpected_errors_reach_users_as_a_short_message() -> None:
    def boom() -> None:
        raise RuntimeError("/tmp/gradio/abc123/secret.png: OpenCV(4.14) error: (-215:Assertion failed)")

    with pytest.raises(gr.Error) as info:
        friendly(boom)()
    assert "RuntimeError" in info.value.message and "/tmp" not in info.value.message
    assert without_paths("/tmp/gradio/ab12/photo.png: corrupt") == "photo.png: corrupt"


def test_evaluation_stops_at_its_budget_and_leaves_no_folder(
    studio: Studio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluate, "EVALUATE_TIME_LIMIT_S", 0.0)
    before = set(studio.scratch.iterdir())
    path = str(zip_of_synthetic_faces(tmp_path / "z.zip"))
    uploads, table, note = evaluate.evaluate_upload(studio, path, {}, NoProgress())
    assert uploads == {} and table is None and "time limit" in note
    assert set(studio.scratch.iterdir()) == before


def test_a_new_evaluation_or_a_closed_session_removes_the_folders_it_made(
    studio: Studio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def one_model(studio, faces, out, progress):  # noqa: ANN001, ANN202 - the real run is test_app's; files only here
        (out / "resemotenet").mkdir()
        return {"resemotenet": str(out / "resemotenet")}, [{"model": "ResEmoteNet"}]

    monkeypatch.setattr(evaluate, "_run_models", one_model)
    path = str(zip_of_synthetic_faces(tmp_path / "z.zip"))
    first, _, _ = evaluate.evaluate_upload(studio, path, {}, NoProgress())
    first_dir = Path(first["resemotenet"]).parent
    assert first_dir.parent == studio.scratch and first_dir.is_dir()
    second, _, _ = evaluate.evaluate_upload(studio, path, first, NoProgress())
    assert not first_dir.exists() and Path(second["resemotenet"]).is_dir()
    studio.remove_uploads(second)  # what the session State's delete_callback does
    assert not Path(second["resemotenet"]).parent.exists()


def test_the_page_cleans_gradio_cache_and_writes_examples_only_into_its_own_folder(
    studio: Studio, tmp_path: Path
) -> None:
    from demo.app import build_demo

    demo = build_demo(studio=studio)
    assert demo.delete_cache == limits.DELETE_CACHE
    folder = studio.new_upload_dir()
    (folder / "resemotenet").mkdir()
    for state in (b for b in demo.blocks.values() if isinstance(b, gr.State)):
        state.delete_callback({"resemotenet": str(folder / "resemotenet")})  # what a closed session triggers
    assert not folder.exists()
    by_name = {f.name: f for f in demo.fns.values()}
    assert by_name["analyze"].concurrency_id == by_name["explain"].concurrency_id == limits.HEAVY  # one queue
    assert by_name["analyze_clip"].concurrency_id == limits.HEAVY  # the Video tab's models too
    assert by_name["again"].concurrency_id == limits.HEAVY  # Analyze's re-run on a new method, class or models
    predict = next(f for f in demo.fns.values() if f.api_name == "predict")
    assert predict.concurrency_id == limits.HEAVY and predict.concurrency_limit == limits.HEAVY_SLOTS
    examples = sorted(studio.scratch.glob("*.png"))
    assert [p.name for p in examples] == ["astronaut.png", "camera.png", "group.png"]
    assert studio.scratch.stat().st_mode & 0o077 == 0  # private: nobody else can plant a link in it


def test_client_gone_reads_the_event_state_gradio_keeps() -> None:
    from gradio.context import LocalContext

    class Event:
        _id, alive = "e1", True

    class Queue:
        active_jobs = [None, [Event()]]

    class Blocks:
        _queue = Queue()

    def inside_event() -> tuple[bool, bool]:
        LocalContext.blocks.set(Blocks())
        LocalContext.event_id.set("e1")
        gone = limits.client_gone()
        before = gone()
        Event.alive = False  # what Gradio does when the browser tab closes
        return before, gone()

    assert contextvars.copy_context().run(inside_event) == (False, True)
    assert limits.client_gone()() is False  # outside an event: never cancelled


def test_explain_refuses_a_score_cam_that_would_outrun_its_limit_and_stops_at_its_budget(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo.tabs import explain

    state, _ = run_analysis(studio, None, skdata.astronaut(), "gradcam", TOP, ["resemotenet"], False)
    monkeypatch.setattr(Studio, "score_cam_seconds", lambda self, model: 300.0)
    gallery, note = explain.explain_face(studio, state, 0, "resemotenet", "", TOP, True, NoProgress())
    assert gallery == [] and "about 300 s" in note
    monkeypatch.setattr(explain, "ANALYZE_TIME_LIMIT_S", 0.0)
    gallery, note = explain.explain_face(studio, state, 0, "resemotenet", "", TOP, False, NoProgress())
    assert gallery == [] and "time limit" in note


def test_a_crowd_is_capped_at_the_largest_faces_and_says_so(
    studio: Studio, crowd: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo.tabs import analyze

    monkeypatch.setattr(analyze, "MAX_FACES", 1)
    state, text = run_analysis(studio, crowd, None, "gradcam", TOP, ["resemotenet"], False)
    assert len(state["faces"]) == 1 and "the 1 largest are analysed" in text
    assert "the 1 largest are analysed" in analyze.render(state, 0, text)[2]
