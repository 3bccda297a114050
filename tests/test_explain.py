"""Explanations and fer.analyze: CAMs equal the library's, point at the right pixels, and are thread-safe."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from skimage import data as skdata
from tiny_model import tiny_model_registered

import fer
from fer.data import DataBundle, make_synthetic_faces, mouth_box
from fer.explain.cam import compute_cam, library_cam
from fer.explain.faithfulness import road_score
from fer.explain.methods import CAM_METHODS, FAST_METHODS
from fer.explain.overlay import overlay_on_crop, overlay_on_photo
from fer.images import ImageError
from fer.inference import Analyzer
from fer.training import config_from_recipe
from fer.training.run import train_model
from fer.zoo import ModelZoo

MODELS = ["convcut", "psa_resnet50", "resemotenet", "unet_eca_resnet34"]


@pytest.fixture(scope="module")
def models(built_model) -> dict[str, torch.nn.Module]:
    return {name: built_model(name).eval() for name in MODELS}


def batch(model: torch.nn.Module, n: int = 2) -> torch.Tensor:
    torch.manual_seed(1)
    s = model.spec.input.size
    return torch.randn(n, 3, s, s)


@pytest.mark.parametrize("name", MODELS)
def test_fast_gradcam_equals_the_plain_library(models: dict, name: str) -> None:
    model = models[name]
    x = batch(model)
    fast = compute_cam(model, x, "gradcam", targets=[2, None])
    # The library exactly as its README shows it.
    with GradCAM(model=model, target_layers=[fer.get_cam_target_layer(model)]) as cam:
        plain = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in fast.targets])
    assert fast.targets[0] == 2
    assert fast.cams.shape == (2, *x.shape[-2:])
    assert fast.cams.min() >= 0 and fast.cams.max() <= 1
    np.testing.assert_allclose(fast.cams, plain, atol=1e-4)
    with torch.no_grad():
        torch.testing.assert_close(fast.logits, model(x), atol=1e-4, rtol=1e-4)


def test_a_module_left_in_training_mode_is_put_in_eval_first(built_model) -> None:
    # One submodule in training mode is enough for dropout/BatchNorm to change the map: compute_cam must see it.
    model = built_model("resemotenet").eval()
    x = batch(model)
    expected = compute_cam(model, x, "gradcam", targets=3)
    model.bn1.train()
    got = compute_cam(model, x, "gradcam", targets=3)
    assert not any(m.training for m in model.modules())
    np.testing.assert_array_equal(got.cams, expected.cams)
    torch.testing.assert_close(got.logits, expected.logits, atol=0, rtol=0)


@pytest.mark.parametrize("method", sorted(FAST_METHODS))
def test_every_fast_method_equals_the_library(models: dict, method: str) -> None:
    model = models["resemotenet"]
    x = batch(model)
    np.testing.assert_allclose(
        compute_cam(model, x, method, targets=3).cams, library_cam(model, x, method, targets=3).cams, atol=1e-4
    )


def test_score_cam_goes_through_the_library(models: dict) -> None:
    model = models["resemotenet"]
    # Score-CAM runs one forward pass per channel of the layer: act1's 64 channels instead of act3's 256.
    result = compute_cam(model, batch(model, 1), "scorecam", layer="act1")
    assert result.cams.shape == (1, 64, 64) and 0 <= result.cams.min() <= result.cams.max() <= 1
    assert set(CAM_METHODS) == FAST_METHODS | {"scorecam"}


def test_unknown_method_and_layer_are_clear(models: dict) -> None:
    with pytest.raises(ValueError, match="unknown CAM method"):
        compute_cam(models["convcut"], batch(models["convcut"]), "gradcam+++")
    with pytest.raises(ValueError, match="no layer"):
        compute_cam(models["convcut"], batch(models["convcut"]), layer="nope")


def test_cam_works_inside_a_frozen_backbone_where_the_library_fails(built_model) -> None:
    model = built_model("convcut", freeze_backbone=True).eval()
    x = batch(model, 1)
    result = compute_cam(model, x)
    assert result.cams.shape == (1, 224, 224) and result.cams.max() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(AttributeError, match="NoneType"):  # FIELD-NOTES: the library's known failure
        library_cam(model, x)


def test_target_before_an_inplace_relu_keeps_its_activation(models: dict) -> None:
    # layer4.2.bn3's output is modified in place by the block's "+= identity" and ReLU(inplace=True).
    model = models["psa_resnet50"]
    x = batch(model, 1)
    fast = compute_cam(model, x, layer="layer4.2.bn3")
    assert np.isfinite(fast.cams).all() and fast.cams.max() > 0


def test_other_layer_by_name(models: dict) -> None:
    model = models["resemotenet"]
    result = compute_cam(model, batch(model, 1), layer="act2")
    assert result.cams.shape == (1, 64, 64)


@pytest.fixture(scope="module")
def mouth_model(tmp_path_factory: pytest.TempPathFactory) -> torch.nn.Module:
    """The tiny test CNN trained on synthetic faces whose class lives only in the mouth."""
    bundle = DataBundle(
        splits={
            "train": make_synthetic_faces(448, seed=1),
            "val": make_synthetic_faces(70, seed=2, split="val"),
            "test": make_synthetic_faces(70, seed=3, split="test"),
        },
        format="synthetic",
        source="generated",
    )
    out = tmp_path_factory.mktemp("mouth")
    with tiny_model_registered():
        train_model(
            config_from_recipe("tiny_cnn", epochs=15),
            bundle,
            out,
            device=torch.device("cpu"),
            progress=False,
            log=lambda s: None,
        )
        model, _ = fer.load_checkpoint(out)
    return model


@pytest.mark.slow  # trains the tiny CNN for 15 epochs (once per module)
def test_cam_energy_falls_in_the_mouth(mouth_model: torch.nn.Module) -> None:
    faces = make_synthetic_faces(140, seed=7, split="test")
    from fer.preprocess import to_model_input

    x = to_model_input(torch.from_numpy(faces.images), mouth_model.spec.input)
    result = compute_cam(mouth_model, x, "gradcam", targets=faces.labels.tolist())
    x0, y0, x1, y1 = mouth_box(48)
    inside = result.cams[:, y0:y1, x0:x1].sum()
    share_of_area = (x1 - x0) * (y1 - y0) / 48**2
    share = inside / result.cams.sum()
    assert share > 0.5, f"{share:.2f} of CAM energy in the mouth box ({share_of_area:.2f} of the area)"


@pytest.mark.slow  # trains the tiny CNN for 15 epochs (once per module)
def test_road_ranks_the_real_map_above_its_inverse(mouth_model: torch.nn.Module) -> None:
    faces = make_synthetic_faces(14, seed=8, split="test")
    from fer.preprocess import to_model_input

    x = to_model_input(torch.from_numpy(faces.images), mouth_model.spec.input)
    result = compute_cam(mouth_model, x, targets=faces.labels.tolist())
    real = road_score(mouth_model, x, result.cams, result.targets)
    inverse = road_score(mouth_model, x, 1 - result.cams, result.targets)
    assert real.shape == (14,)
    assert real.mean() > inverse.mean()


@pytest.mark.slow  # trains the tiny CNN for 15 epochs (once per module)
def test_trained_mouth_model_looks_at_and_depends_on_the_mouth_region(mouth_model: torch.nn.Module) -> None:
    from fer.data.synthetic import synthetic_landmarks
    from fer.explain.occlusion import occlusion_drops
    from fer.explain.regions import REGIONS, region_masks, region_shares
    from fer.preprocess import to_model_input

    faces = make_synthetic_faces(28, seed=9, split="test")
    landmarks = synthetic_landmarks(28, seed=9)
    x = to_model_input(torch.from_numpy(faces.images), mouth_model.spec.input)
    result = compute_cam(mouth_model, x, "gradcam", targets=faces.labels.tolist())
    masks = [region_masks(points, 48) for points in landmarks]
    shares = [region_shares(cam, m).shares for cam, m in zip(result.cams, masks)]
    drops = occlusion_drops(mouth_model, x, masks, result.targets, regions=REGIONS)
    mean_share = {r: np.mean([s[r] for s in shares]) for r in REGIONS}
    mean_drop = {r: np.mean([d[r] for d in drops]) for r in REGIONS}
    assert max(mean_share, key=mean_share.get) == "mouth", mean_share
    assert max(mean_drop, key=mean_drop.get) == "mouth", mean_drop


# --- fer.analyze -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory, built_model) -> Analyzer:
    root = tmp_path_factory.mktemp("ckpts")
    fer.save_checkpoint(built_model("resemotenet"), root / "resemotenet", data={"name": "synthetic"})
    return Analyzer(ModelZoo(root))


def test_analyze_astronaut_with_all_four_models(analyzer: Analyzer) -> None:
    faces = analyzer.analyze(skdata.astronaut())
    assert len(faces) == 1
    face = faces[0]
    x, y, w, h = face.box
    assert 160 < x + w / 2 < 260 and 60 < y + h / 2 < 200
    assert set(face.models) == set(MODELS)
    for name, result in face.models.items():
        spec = fer.get_spec(name)
        assert result.cam.shape == (spec.input.size, spec.input.size)
        assert 0 <= result.cam.min() and result.cam.max() <= 1
        assert sum(result.probs.values()) == pytest.approx(1, abs=1e-5)
        assert result.top == max(result.probs, key=result.probs.get) and result.cam_class == result.top
        assert result.trained == (name == "resemotenet")
        assert ("untrained" in result.note) != result.trained


def test_analyze_without_cam_and_with_a_chosen_class(analyzer: Analyzer) -> None:
    photo = skdata.astronaut()
    plain = analyzer.analyze(photo, models=["convcut"], cam=None)[0].models["convcut"]
    chosen = analyzer.analyze(photo, models=["convcut"], cam="gradcam++", target="fear")[0].models["convcut"]
    assert plain.cam is None and chosen.cam_class == "fear"
    assert plain.probs == pytest.approx(chosen.probs, abs=1e-5)  # one forward gives both
    with pytest.raises(ValueError, match="no class 'contempt'"):
        analyzer.analyze(photo, models=["convcut"], target="contempt")


def test_no_face_then_whole_image(analyzer: Analyzer) -> None:
    blank = np.full((200, 300, 3), 127, np.uint8)
    assert analyzer.analyze(blank, models=["resemotenet"]) == []
    [face] = analyzer.analyze(blank, models=["resemotenet"], whole_image=True)
    assert face.whole_image and face.box == (50, 0, 200, 200)


def test_bad_bytes_give_a_clear_error(analyzer: Analyzer) -> None:
    with pytest.raises(ImageError):
        analyzer.analyze(b"definitely not an image")
    with pytest.raises(ImageError):
        analyzer.analyze(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)


def test_two_threads_get_what_one_thread_gets(analyzer: Analyzer) -> None:
    photos = [skdata.astronaut(), np.ascontiguousarray(skdata.astronaut()[:, ::-1])]
    expected = [analyzer.analyze(p, models=["resemotenet", "convcut"]) for p in photos]
    results: dict[int, list] = {}

    def work(i: int) -> None:
        for _ in range(3):
            results.setdefault(i, []).append(analyzer.analyze(photos[i], models=["resemotenet", "convcut"]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, runs in results.items():
        for run in runs:
            for name in ("resemotenet", "convcut"):
                np.testing.assert_allclose(run[0].models[name].cam, expected[i][0].models[name].cam, atol=1e-5)
                assert run[0].models[name].probs == pytest.approx(expected[i][0].models[name].probs, abs=1e-6)


def test_models_load_once(analyzer: Analyzer) -> None:
    assert analyzer.zoo.get("convcut") is analyzer.zoo.get("convcut")


def test_overlays(analyzer: Analyzer) -> None:
    photo = skdata.astronaut()
    face = analyzer.analyze(photo, models=["resemotenet"])[0]
    cam = face.models["resemotenet"].cam
    on_crop = overlay_on_crop(face.face.gray, cam)
    assert on_crop.shape == (*face.face.gray.shape, 3) and on_crop.dtype == np.uint8
    on_photo = overlay_on_photo(photo, face.face.region, cam)
    assert on_photo.shape == photo.shape
    x, y, w, h = face.face.region
    assert not np.array_equal(on_photo[y : y + h, x : x + w], photo[y : y + h, x : x + w])
    assert np.array_equal(on_photo[:, : max(x, 0)], photo[:, : max(x, 0)])  # outside the face: untouched
    assert overlay_on_photo(photo, (-50, -50, 100, 100), cam).shape == photo.shape  # partly off the photo


def test_missing_checkpoints_never_crash(tmp_path: Path) -> None:
    zoo = ModelZoo(tmp_path / "nothing-here")
    loaded = zoo.get("convcut")
    assert not loaded.trained and "no checkpoint" in loaded.note
    (tmp_path / "bad" / "convcut").mkdir(parents=True)
    (tmp_path / "bad" / "convcut" / "model.safetensors").write_bytes(b"junk")
    (tmp_path / "bad" / "convcut" / "meta.json").write_text("{}")
    with pytest.warns(UserWarning, match="untrained weights"):
        bad = ModelZoo(tmp_path / "bad").get("convcut")
    assert not bad.trained and "safetensors" in bad.note


def test_package_level_analyze(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import fer.inference

    monkeypatch.setenv("FER_CHECKPOINTS", str(tmp_path))  # nothing there: untrained, and says so
    monkeypatch.setattr(fer.inference, "_default", None)
    [face] = fer.analyze(skdata.astronaut(), models=["resemotenet"], cam=None)
    result = face.models["resemotenet"]
    assert not result.trained and result.cam is None
    assert sum(result.probs.values()) == pytest.approx(1, abs=1e-5)
