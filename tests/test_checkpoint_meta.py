"""Checkpoint metadata is checked before anything is built; every problem falls back to untrained weights."""

from __future__ import annotations

import json
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest
import torch
from tiny_model import tiny_model_registered

import fer
from fer.checkpoints import CheckpointError, inspect_checkpoint
from fer.zoo import ModelZoo


@pytest.fixture(scope="module")
def resemotenet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return fer.save_checkpoint(fer.build_model("resemotenet"), tmp_path_factory.mktemp("ckpt") / "resemotenet")


def with_meta(src: Path, dst: Path, **changes: object) -> Path:
    shutil.copytree(src, dst)
    meta = json.loads((dst / "meta.json").read_text())
    meta.update(changes)
    (dst / "meta.json").write_text(json.dumps(meta))
    return dst


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_classes": "seven"}, "num_classes"),
        ({"num_classes": -1}, "num_classes"),
        ({"num_classes": True}, "num_classes"),
        ({"num_classes": {"n": 7}}, "num_classes"),
        ({"class_names": "angry,happy"}, "class_names"),
        ({"class_names": [1, 2, 3, 4, 5, 6, 7]}, "class_names"),
        ({"class_names": ["x"] * 7}, "must not repeat"),
        ({"class_names": ["a" * 500, "b", "c", "d", "e", "f", "g"]}, "class_names"),
        ({"model": ["resemotenet"]}, "model"),
        ({"weights_file": "../../etc/passwd"}, "weights_file"),
        ({"data": 5}, "data"),
    ],
)
def test_malformed_fields_are_checkpoint_errors(
    resemotenet_dir: Path, tmp_path: Path, changes: dict, message: str
) -> None:
    ckpt = with_meta(resemotenet_dir, tmp_path / "resemotenet", **changes)
    with pytest.raises(CheckpointError, match=message):
        fer.load_checkpoint(ckpt)


def test_a_huge_class_count_is_refused_before_the_head_is_built(resemotenet_dir: Path, tmp_path: Path) -> None:
    ckpt = with_meta(resemotenet_dir, tmp_path / "resemotenet", num_classes=5_000_000)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(CheckpointError, match="num_classes"):
            fer.load_checkpoint(ckpt)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 5 and peak < 50_000_000


def test_a_class_count_the_head_does_not_have_is_refused_before_building(resemotenet_dir: Path, tmp_path: Path) -> None:
    ckpt = with_meta(
        resemotenet_dir, tmp_path / "resemotenet", num_classes=99, class_names=[f"c{i}" for i in range(99)]
    )
    with pytest.raises(CheckpointError, match=r"head\.weight: file \(7, \d+\) vs model \(99, \d+\)"):
        fer.load_checkpoint(ckpt)


def test_deeply_nested_or_huge_metadata_is_refused(resemotenet_dir: Path, tmp_path: Path) -> None:
    ckpt = with_meta(resemotenet_dir, tmp_path / "nested")
    (ckpt / "meta.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="unreadable metadata"):
        fer.load_checkpoint(ckpt)
    (ckpt / "meta.json").write_text('{"model": "resemotenet", "pad": "' + "x" * 2_000_000 + '"}')
    with pytest.raises(CheckpointError, match="more than the limit"):
        fer.load_checkpoint(ckpt)


def test_the_zoo_refuses_another_models_checkpoint_and_falls_back_on_any_meta_problem(
    resemotenet_dir: Path, tmp_path: Path
) -> None:
    with tiny_model_registered():
        torch.manual_seed(0)
        fer.save_checkpoint(fer.build_model("tiny_cnn"), tmp_path / "root" / "convcut")  # the wrong model's weights
        with_meta(resemotenet_dir, tmp_path / "root" / "resemotenet", num_classes="seven")
        zoo = ModelZoo(tmp_path / "root")
        with pytest.warns(UserWarning):
            convcut = zoo.get("convcut")
        assert not convcut.trained and "a tiny_cnn checkpoint, not convcut" in convcut.note
        with pytest.warns(UserWarning):
            resemotenet = zoo.get("resemotenet")
        assert not resemotenet.trained and "num_classes" in resemotenet.note


def test_the_status_line_does_not_call_a_stray_file_a_trained_checkpoint(resemotenet_dir: Path, tmp_path: Path) -> None:
    from demo.studio import Studio

    assert inspect_checkpoint(resemotenet_dir) is None
    stray = tmp_path / "root" / "resemotenet"
    stray.mkdir(parents=True)
    shutil.copy(resemotenet_dir / "meta.json", stray / "meta.json")
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (stray / "model.safetensors").symlink_to(text)
    assert "not a safetensors file" in inspect_checkpoint(stray)
    status = Studio(str(tmp_path / "root")).checkpoint_status()
    line = next(x for x in status.splitlines() if "ResEmoteNet" in x)
    assert "untrained weights" in line and "unusable checkpoint" in line


def test_the_studio_reads_class_names_only_from_metadata_the_loader_accepts(
    resemotenet_dir: Path, tmp_path: Path
) -> None:
    from demo.studio import Studio

    renamed = ["a", "b", "c", "d", "e", "f", "g"]
    with_meta(resemotenet_dir, tmp_path / "good" / "resemotenet", class_names=renamed)
    assert Studio(str(tmp_path / "good")).class_names("resemotenet") == tuple(renamed)
    # Names the loader refuses (one repeated) are not shown: the zoo would run the untrained head's seven.
    with_meta(resemotenet_dir, tmp_path / "bad" / "resemotenet", class_names=["a", "a", "c", "d", "e", "f", "g"])
    assert Studio(str(tmp_path / "bad")).class_names("resemotenet") == fer.FER2013_CLASSES


def test_the_studio_judges_another_models_checkpoint_as_the_zoo_does(resemotenet_dir: Path, tmp_path: Path) -> None:
    from demo.studio import Studio

    with tiny_model_registered():
        torch.manual_seed(0)
        wrong = fer.save_checkpoint(fer.build_model("tiny_cnn", num_classes=8), tmp_path / "root" / "convcut")
        assert inspect_checkpoint(wrong) is None  # a good checkpoint, of some model
        assert inspect_checkpoint(wrong, model_name="convcut") == "a tiny_cnn checkpoint, not convcut"
        shutil.copytree(resemotenet_dir, tmp_path / "root" / "resemotenet")
        studio = Studio(str(tmp_path / "root"))
        assert studio.trained("convcut") is False
        line = next(x for x in studio.checkpoint_status().splitlines() if "Conv-cut" in x)
        assert "unusable checkpoint: a tiny_cnn checkpoint, not convcut" in line
        banner = studio.checkpoint_banner()
        assert "Conv-cut" in banner and "ResEmoteNet" not in banner
        assert studio.class_names("convcut") == fer.FER2013_CLASSES  # not the other model's eight
        with pytest.warns(UserWarning):
            assert studio.zoo.get("convcut").trained is False
        assert studio.trained("convcut") is False and studio.class_names("convcut") == fer.FER2013_CLASSES
