"""Checkpoints: round trips, safety against pickles, clear errors on bad files, Hub ids offline."""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import fer
from fer.checkpoints import CheckpointError

MODELS = ["unet_eca_resnet34", "resemotenet", "convcut", "psa_resnet50"]


def probe(model: torch.nn.Module) -> torch.Tensor:
    torch.manual_seed(123)
    size = model.spec.input.size
    return torch.randn(2, 3, size, size)


def randomise_bn(model: torch.nn.Module) -> None:
    # Non-default running stats, so a round trip that dropped buffers would show.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)


@pytest.fixture(scope="module")
def convcut_dir(tmp_path_factory: pytest.TempPathFactory, built_model) -> Path:
    model = built_model("convcut")
    randomise_bn(model)
    return fer.save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "convcut", data={"name": "synthetic"})


@pytest.mark.parametrize("name", MODELS)
def test_round_trip_gives_identical_outputs(name: str, tmp_path: Path, built_model) -> None:
    model = built_model(name, num_classes=8).eval()
    with torch.no_grad():
        randomise_bn(model)
        expected = model(probe(model))
    fer.save_checkpoint(model, tmp_path / name, metrics={"accuracy": 0.5}, epoch=3)
    loaded, meta = fer.load_checkpoint(tmp_path / name)
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(probe(loaded)), expected)
    assert meta["model"] == name and meta["num_classes"] == 8
    assert meta["class_names"][-1] == "contempt"
    assert meta["metrics"] == {"accuracy": 0.5} and meta["epoch"] == 3
    assert meta["input"]["size"] == model.spec.input.size
    assert meta["recipe"]["optimizer"] == model.spec.recipe.optimizer
    assert meta["code_version"]["fer"] == fer.__version__
    assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["meta.json", "model.safetensors"]


def test_meta_is_plain_json_with_provenance(convcut_dir: Path) -> None:
    meta = json.loads((convcut_dir / "meta.json").read_text())
    assert meta["format"] == "fer-checkpoint/1"
    assert meta["data"] == {"name": "synthetic"}
    assert len(meta["weights_sha256"]) == 64
    assert meta["created"].endswith("+00:00")
    assert meta["class_names"] == list(fer.FER2013_CLASSES)


def test_safetensors_file_path_loads_with_meta_beside_it(convcut_dir: Path) -> None:
    model, meta = fer.load_checkpoint(convcut_dir / "model.safetensors")
    assert meta["model"] == "convcut" and model.spec.name == "convcut"


def test_wrong_class_names_count_is_refused(tmp_path: Path, built_model) -> None:
    with pytest.raises(ValueError, match="class names"):
        fer.save_checkpoint(built_model("convcut"), tmp_path, class_names=["a", "b"])


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_a_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"state_dict": Payload(marker)}, f)
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused"):
        fer.load_checkpoint(evil, model_name="convcut")
    assert not marker.exists()


def test_weights_only_pickle_loads(tmp_path: Path, built_model) -> None:
    model = built_model("convcut").eval()
    torch.save({"state_dict": model.state_dict(), "epoch": 1}, tmp_path / "plain.pth")
    loaded, _ = fer.load_checkpoint(tmp_path / "plain.pth", model_name="convcut")
    with torch.no_grad():
        assert torch.equal(loaded(probe(loaded)), model(probe(model)))


def test_pickle_without_meta_needs_a_model_name(tmp_path: Path, built_model) -> None:
    torch.save(built_model("convcut").state_dict(), tmp_path / "w.pth")
    with pytest.raises(CheckpointError, match="model_name"):
        fer.load_checkpoint(tmp_path / "w.pth")


def copy_checkpoint(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_truncated_safetensors_gives_a_clear_error(convcut_dir: Path, tmp_path: Path) -> None:
    ckpt = copy_checkpoint(convcut_dir, tmp_path / "c")
    weights = ckpt / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: SHA-256 differs"):
        fer.load_checkpoint(ckpt)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: not a readable safetensors file"):
        fer.load_checkpoint(ckpt, verify=False)


def test_a_flipped_byte_is_caught_by_the_checksum(convcut_dir: Path, tmp_path: Path) -> None:
    ckpt = copy_checkpoint(convcut_dir, tmp_path / "c")
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[-100] ^= 0xFF
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        fer.load_checkpoint(ckpt)


def test_weights_of_another_model_are_refused_with_the_keys(convcut_dir: Path, tmp_path: Path) -> None:
    ckpt = copy_checkpoint(convcut_dir, tmp_path / "c")
    meta = json.loads((ckpt / "meta.json").read_text())
    meta["model"] = "resemotenet"
    (ckpt / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: does not fit resemotenet: \d+ missing"):
        fer.load_checkpoint(ckpt)


def test_class_count_mismatch_names_the_head(convcut_dir: Path, tmp_path: Path) -> None:
    ckpt = copy_checkpoint(convcut_dir, tmp_path / "c")
    meta = json.loads((ckpt / "meta.json").read_text())
    meta["num_classes"] = 8
    (ckpt / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"wrong shape.*head\.weight: file \(7, 256\) vs model \(8, 256\)"):
        fer.load_checkpoint(ckpt)


def test_corrupt_meta_names_the_file(convcut_dir: Path, tmp_path: Path) -> None:
    ckpt = copy_checkpoint(convcut_dir, tmp_path / "c")
    (ckpt / "meta.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"meta\.json: unreadable metadata"):
        fer.load_checkpoint(ckpt)


def test_unknown_model_in_meta_is_named(convcut_dir: Path, tmp_path: Path) -> None:
    ckpt = copy_checkpoint(convcut_dir, tmp_path / "c")
    meta = json.loads((ckpt / "meta.json").read_text())
    meta["model"] = "vgg19"
    (ckpt / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="unknown model 'vgg19'"):
        fer.load_checkpoint(ckpt)


def test_directory_without_weights(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        fer.load_checkpoint(tmp_path)


def test_not_a_path_nor_a_hub_id() -> None:
    with pytest.raises(CheckpointError, match="no such file or directory"):
        fer.load_checkpoint("./missing/dir/../x")


def test_hub_id_offline_fails_fast_with_a_clear_message() -> None:
    start = time.monotonic()
    with pytest.raises(CheckpointError, match="someone/no-such-repo/sub: not a local path.*Hub"):
        fer.load_checkpoint("someone/no-such-repo/sub")
    assert time.monotonic() - start < 10


def test_hub_id_loads_from_the_hub_cache_offline(
    convcut_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    # The layout huggingface_hub writes: models--user--repo/{refs/main, snapshots/<commit>/...}.
    repo = tmp_path / "models--someone--fer-models"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    copy_checkpoint(convcut_dir, repo / "snapshots" / commit / "convcut")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    model, meta = fer.load_checkpoint("someone/fer-models/convcut")
    assert meta["model"] == "convcut" and meta["source"] == "someone/fer-models/convcut"
    reference, _ = fer.load_checkpoint(convcut_dir)
    with torch.no_grad():
        assert torch.equal(model(probe(model)), reference(probe(reference)))


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path, built_model) -> None:
    model = built_model("convcut")
    fer.save_checkpoint(model, tmp_path)
    fer.save_checkpoint(model, tmp_path, epoch=2)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json", "model.safetensors"]
    assert json.loads((tmp_path / "meta.json").read_text())["epoch"] == 2


def test_safetensors_without_meta_needs_model_name(tmp_path: Path, built_model) -> None:
    model = built_model("convcut").eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match="model_name"):
        fer.load_checkpoint(tmp_path / "w.safetensors")
    loaded, meta = fer.load_checkpoint(tmp_path / "w.safetensors", model_name="convcut")
    assert meta["num_classes"] == 7
