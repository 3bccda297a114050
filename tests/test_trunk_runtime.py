"""The trunk/tail cut and the trunk runtimes (fer.runtime): same probabilities and maps as torch alone."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import fer
from fer.explain.cam import compute_cam
from fer.runtime import trunk as trunk_module
from fer.runtime.split import split_model
from fer.runtime.trunk import AUTO, TrunkRunner, runtime_for, trunk_runner
from fer.zoo import ModelZoo, _for_inference

MODELS = fer.list_models()
PROB_TOLERANCE = 1e-5  # the runtimes differ from torch by float rounding only (measured ~1e-7 on probabilities)
CAM_TOLERANCE = 1e-4  # maps are in [0, 1]; measured below 1e-5
INSTALLED = [r for r in trunk_module.RUNTIMES if importlib.util.find_spec(r) is not None]


def inference_model(built_model: Callable[..., nn.Module], name: str) -> nn.Module:
    """The zoo's inference copy: eval, BatchNorm folded, channels_last."""
    return _for_inference(built_model(name))


def runtime_under_test(name: str) -> str:
    """The runtime ``auto`` picks for the model, else the cheapest installed one to export (ONNX Runtime)."""
    chosen = AUTO.get(name)
    if chosen in INSTALLED:
        return chosen
    if not INSTALLED:
        pytest.skip("neither OpenVINO nor ONNX Runtime is installed")
    return "onnxruntime" if "onnxruntime" in INSTALLED else INSTALLED[0]


@pytest.mark.parametrize("name", MODELS)
def test_trunk_then_tail_is_the_model(built_model: Callable[..., nn.Module], name: str) -> None:
    model = inference_model(built_model, name)
    split = split_model(model)
    assert split is not None
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))  # the cut does not depend on size
    seen: list[torch.Tensor] = []
    layer = model.get_submodule(model.spec.cam_target_layer)
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output))
    with torch.no_grad():
        expected = model(x)
        handle.remove()
        activation = split.trunk(x)
        got = split.tail(activation)
    assert torch.equal(activation, seen[0])  # the trunk ends exactly at the registered CAM layer
    assert torch.allclose(got, expected, rtol=0, atol=1e-6)


# The two OpenVINO exports (PSA-ResNet50, U-Net/ECA ResNet34) take 20-80 s each on the shared 2 cores.
HEAVY = {"psa_resnet50", "unet_eca_resnet34"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in MODELS])
def test_runtime_trunk_gives_torch_probabilities_and_maps(
    built_model: Callable[..., nn.Module], name: str, tmp_path: Path
) -> None:
    model = inference_model(built_model, name)
    runner = TrunkRunner(model, runtime_under_test(name), cache=tmp_path)
    runner.build()
    assert runner.state == "ready", runner.error
    size = model.spec.input.size
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(4))
    x = x.contiguous(memory_format=torch.channels_last)
    for method in ("gradcam", "eigencam"):  # one with gradients through the tail, one without
        plain = compute_cam(model, x, method)
        fast = compute_cam(model, x, method, trunk=runner)
        assert fast.targets == plain.targets
        probs = (fast.logits.softmax(1) - plain.logits.softmax(1)).abs().max().item()
        assert probs <= PROB_TOLERANCE
        assert np.abs(fast.cams - plain.cams).max() <= CAM_TOLERANCE
    with torch.inference_mode():
        assert (runner.logits(x).softmax(1) - model(x).softmax(1)).abs().max().item() <= PROB_TOLERANCE


@pytest.mark.skipif(not INSTALLED, reason="neither OpenVINO nor ONNX Runtime is installed")
def test_export_is_cached_by_weights(built_model: Callable[..., nn.Module], tmp_path: Path) -> None:
    runtime = runtime_under_test("resemotenet")
    model = inference_model(built_model, "resemotenet")
    first = TrunkRunner(model, runtime, cache=tmp_path)
    orphan = tmp_path / "trunks" / f".{first._key()}.999999999.x"  # a killed process's half-done export
    orphan.mkdir(parents=True)
    first.build()
    assert not orphan.exists()
    again = TrunkRunner(model, runtime, cache=tmp_path)
    again.build()
    assert (first.from_cache, again.from_cache) == (False, True)
    assert again.folder == first.folder and again.ready
    with torch.no_grad():
        model.conv1.weight.mul_(1.5)  # another checkpoint: another export, not the stale one
    changed = TrunkRunner(model, runtime, cache=tmp_path)
    changed.build()
    assert not changed.from_cache and changed.folder != first.folder and changed.ready
    x = torch.randn(1, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        assert torch.allclose(changed.logits(x), model(x), atol=1e-5)


def test_a_failed_export_leaves_torch_in_charge(
    built_model: Callable[..., nn.Module],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = inference_model(built_model, "resemotenet")

    def broken(self: TrunkRunner, path: Path) -> None:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(TrunkRunner, "_export", broken)
    runner = TrunkRunner(model, runtime_under_test("resemotenet"), cache=tmp_path)  # one that is installed
    assert runner.run(torch.zeros(1, 3, 64, 64)) is None  # not built yet: torch runs it
    with caplog.at_level(logging.WARNING, logger="fer.runtime.trunk"):
        assert not runner.start().wait(timeout=60)
    assert runner.state == "failed" and "exporter exploded" in runner.error
    assert any("torch runs it" in r.getMessage() for r in caplog.records)
    x = torch.randn(1, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    plain, fallback = compute_cam(model, x), compute_cam(model, x, trunk=runner)
    assert torch.equal(plain.logits, fallback.logits) and np.array_equal(plain.cams, fallback.cams)
    assert not list((tmp_path / "trunks").glob("*/trunk.*"))  # nothing half-written is left to be read back


@pytest.mark.skipif(not INSTALLED, reason="neither OpenVINO nor ONNX Runtime is installed")
def test_a_damaged_cache_is_exported_again_and_a_failing_run_falls_back(
    built_model: Callable[..., nn.Module], tmp_path: Path
) -> None:
    runtime = runtime_under_test("resemotenet")
    model = inference_model(built_model, "resemotenet")
    first = TrunkRunner(model, runtime, cache=tmp_path)
    first.build()
    for path in first.folder.iterdir():  # a truncated export, as a crash or a full disk would leave
        path.write_bytes(path.read_bytes()[:100])
    again = TrunkRunner(model, runtime, cache=tmp_path)
    again.build()
    assert again.ready and not again.from_cache, again.error
    x = torch.randn(1, 3, 64, 64).contiguous(memory_format=torch.channels_last)

    def crash(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("runtime crashed")

    again._infer = crash
    assert again.run(x) is None and again.state == "failed"  # the caller runs torch instead
    assert again.run(x) is None


def test_a_wrong_runtime_output_is_refused(
    built_model: Callable[..., nn.Module], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = runtime_under_test("resemotenet")
    model = inference_model(built_model, "resemotenet")
    compile_ = TrunkRunner._compile

    def off_by_one_percent(self: TrunkRunner, path: Path) -> Callable:
        infer = compile_(self, path)
        return lambda x: infer(x) * 1.01

    monkeypatch.setattr(TrunkRunner, "_compile", off_by_one_percent)
    runner = TrunkRunner(model, runtime, cache=tmp_path)
    runner.build()
    assert runner.state == "failed" and "differs from torch" in runner.error


def test_the_switch(monkeypatch: pytest.MonkeyPatch, built_model: Callable[..., nn.Module], tmp_path: Path) -> None:
    for off in ("off", "0", "torch", "eager"):
        monkeypatch.setenv(trunk_module.RUNTIME_ENV, off)
        assert all(runtime_for(name) is None for name in MODELS)
    monkeypatch.setenv(trunk_module.RUNTIME_ENV, "off")
    assert trunk_runner(inference_model(built_model, "resemotenet")) is None
    assert ModelZoo(tmp_path).get("resemotenet").trunk is None
    monkeypatch.setenv(trunk_module.RUNTIME_ENV, "no-such-runtime")
    assert runtime_for("resemotenet") is None
    monkeypatch.setenv(trunk_module.RUNTIME_ENV, "auto")
    for name in MODELS:
        assert runtime_for(name) == (AUTO.get(name) if AUTO.get(name) in INSTALLED else None)


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(trunk_module.CACHE_ENV, str(tmp_path / "here"))
    assert trunk_module.cache_dir() == tmp_path / "here"
    monkeypatch.delenv(trunk_module.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert trunk_module.cache_dir() == tmp_path / "xdg" / "fer"


@pytest.mark.skipif(not INSTALLED, reason="neither OpenVINO nor ONNX Runtime is installed")
def test_the_analyzer_goes_through_the_runtime_with_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Maps, no-CAM predictions and the occlusion test by region, via the zoo's runner, equal torch's."""
    from skimage import data as skdata

    from fer.faces import detect_faces
    from fer.inference import Analyzer

    name = "resemotenet"  # the cheapest export; the wiring is the same for every model
    runtime = runtime_under_test(name)
    monkeypatch.setenv(trunk_module.CACHE_ENV, str(tmp_path / "cache"))
    faces = detect_faces(skdata.astronaut())
    assert faces and faces[0].landmarks is not None  # landmarks: the region and occlusion steps run
    fast = Analyzer(ModelZoo(tmp_path / "none", trunk_runtime=runtime))
    plain = Analyzer(ModelZoo(tmp_path / "none", trunk_runtime="off"))
    runner = fast.zoo.get(name).trunk
    assert runner is not None and runner.wait(timeout=300), runner.error
    used: list[int] = []
    run = runner.run
    monkeypatch.setattr(runner, "run", lambda x: used.append(len(x)) or run(x))
    for cam in ("gradcam", None):
        got = fast.analyze_faces(faces, [name], cam=cam)[0].models[name]
        expected = plain.analyze_faces(faces, [name], cam=cam)[0].models[name]
        assert got.top == expected.top and got.cam_class == expected.cam_class
        assert max(abs(got.probs[c] - expected.probs[c]) for c in got.probs) <= PROB_TOLERANCE
        if cam is not None:
            assert np.abs(got.cam - expected.cam).max() <= CAM_TOLERANCE
            assert got.occlusion is not None
            assert max(abs(got.occlusion[r] - expected.occlusion[r]) for r in got.occlusion) <= PROB_TOLERANCE
    assert used == [1, 4, 1]  # the CAM pass, the occlusion pass (four regions), the no-CAM pass


@pytest.mark.skipif(not INSTALLED, reason="neither OpenVINO nor ONNX Runtime is installed")
def test_concurrent_calls_share_one_runner(built_model: Callable[..., nn.Module], tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = inference_model(built_model, "resemotenet")
    runner = TrunkRunner(model, runtime_under_test("resemotenet"), cache=tmp_path)
    runner.build()
    xs = [torch.randn(1 + i % 2, 3, 64, 64, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
    alone = [compute_cam(model, x, trunk=runner) for x in xs]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda x: compute_cam(model, x, trunk=runner), xs))
    for a, b in zip(alone, together):
        assert torch.equal(a.logits, b.logits) and np.array_equal(a.cams, b.cams)
