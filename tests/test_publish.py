"""Publishing to the Hub: the model card, the files that go up (and those that never do), offline failure, and
loading the pushed layout back from a Hugging Face cache without network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import fer
from fer.evaluation import write_artifact
from fer.evaluation.predict import Predictions
from fer.publish import PublishError, half_precision_copy, push_checkpoint, stage_for_push

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    """A Conv-cut checkpoint as train.py leaves it: weights, meta with a budget record, artifact, log, resume."""
    torch.manual_seed(0)
    model = fer.build_model("convcut")
    out = tmp_path / "convcut"
    training = {"budget_limited": True, "time_budget_minutes": 1.5, "epochs_completed": 3.4, "recipe_epochs": 30}
    training |= {"device": "NVIDIA H100 80GB HBM3", "processes": 1, "torch": "2.11.0", "train_minutes": 1.5}
    fer.save_checkpoint(
        model,
        out,
        epoch=3,
        data={"name": "FER2013", "train_images": 28709},
        recipe={"optimizer": "adamw", "lr": 1e-4, "batch_size": 64, "img_size": 224, "seed": 0, "pretrained": False},
        training=training,
    )
    rng = np.random.default_rng(0)
    n = 40
    probs = rng.dirichlet(np.ones(7), n).astype(np.float32)
    labels = rng.integers(0, 7, n)
    write_artifact(
        out,
        predictions=Predictions(probs=probs, features=rng.normal(size=(n, 8)).astype(np.float32), loss=1.5),
        labels=labels,
        ids=np.array([f"face{i}" for i in range(n)]),
        images=rng.integers(0, 255, (n, 48, 48), dtype=np.uint8),
        class_names=fer.FER2013_CLASSES,
        info={"model": "convcut", "dataset": "FER2013", "split": "val", "source": "test"},
    )
    (out / "log.jsonl").write_text('{"epoch": 1}\n')
    torch.save({"state": 1}, out / "resume.pt")
    return out


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_card_and_files(checkpoint: Path, tmp_path: Path) -> None:
    files = stage_for_push(checkpoint, tmp_path / "stage", "someone/fer-convcut")
    assert files == sorted(
        ["README.md", "confusion_matrix.png", "log.jsonl", "meta.json", "metrics.json", "model.safetensors"]
    )
    staged = sorted(p.name for p in (tmp_path / "stage").iterdir())
    assert staged == files  # never predictions.npz (dataset faces) nor resume.pt
    card = (tmp_path / "stage" / "README.md").read_text()
    meta = front_matter(card)
    assert meta["pipeline_tag"] == "image-classification" and meta["library_name"] == "pytorch"
    result = meta["model-index"][0]["results"][0]
    assert result["task"]["type"] == "image-classification"
    assert result["dataset"]["name"] == "FER2013" and result["dataset"]["split"] == "val"
    metrics = json.loads((checkpoint / "metrics.json").read_text())
    values = {m["type"]: m["value"] for r in meta["model-index"][0]["results"] for m in r["metrics"]}
    assert values == {"accuracy": round(metrics["accuracy"], 4), "f1": round(metrics["macro_f1"], 4)}
    assert "research use only" in card and "time budget of 1.5 min" in card and "3.4 of the recipe's 30" in card
    assert "from scratch" in card and "Intended use and limitations" in card
    png = (tmp_path / "stage" / "confusion_matrix.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="not a checkpoint directory"):
        stage_for_push(tmp_path, tmp_path / "stage", "someone/x")


def test_push_without_network_fails_at_once(checkpoint: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0"}
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "fer", "push", str(checkpoint), "--repo", "someone/fer-convcut"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "Hugging Face Hub is unreachable" in out.stderr and "Traceback" not in out.stderr
    assert time.monotonic() - start < 60
    with pytest.raises(PublishError, match="user/name"):
        push_checkpoint(checkpoint, "not-a-repo-id")


def test_pushed_layout_loads_offline_from_the_hub_cache(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cache the way huggingface_hub lays it out: models--user--repo/{refs/main, snapshots/<commit>/...}.
    staged = tmp_path / "stage"
    stage_for_push(checkpoint, staged, "someone/fer-convcut")
    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / "models--someone--fer-convcut"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for f in staged.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    model, meta = fer.load_checkpoint("someone/fer-convcut")
    original, _ = fer.load_checkpoint(checkpoint)
    assert meta["model"] == "convcut" and meta["training"]["budget_limited"]
    for key, value in original.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key


def test_half_precision_copy_halves_the_weights_and_keeps_the_predictions(checkpoint: Path, tmp_path: Path) -> None:
    summary = half_precision_copy(checkpoint, tmp_path / "fp16")
    assert "model.safetensors" in summary
    full = (checkpoint / "model.safetensors").stat().st_size
    half = (tmp_path / "fp16" / "model.safetensors").stat().st_size
    assert half < 0.55 * full
    model, meta = fer.load_checkpoint(tmp_path / "fp16")
    assert meta["weights_dtype"] == "float16" and meta["training"]["epochs_completed"] == 3.4
    assert next(model.parameters()).dtype == torch.float32  # computes in float32 after loading
    original, _ = fer.load_checkpoint(checkpoint)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(model(x).softmax(1), original(x).softmax(1), atol=2e-3)
    with np.load(tmp_path / "fp16" / "predictions.npz") as d:
        assert d["features"].dtype == np.float16 and len(d["probs"]) == 40
    assert (tmp_path / "fp16" / "metrics.json").exists() and not (tmp_path / "fp16" / "resume.pt").exists()
