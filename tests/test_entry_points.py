"""app.py and train.py run; the app says which models have checkpoints."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import fer
from demo.app import build_demo
from fer.zoo import locate

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_train_help_lists_the_models() -> None:
    out = run("train.py", "--help")
    assert out.returncode == 0, out.stderr
    assert "resemotenet" in out.stdout and "--model" in out.stdout


def test_train_lists_the_paper_recipes() -> None:
    out = run("train.py", "--list-recipes")
    assert out.returncode == 0, out.stderr
    recipes = json.loads(out.stdout)
    assert recipes["unet_eca_resnet34"]["batch_size"] == 48
    assert recipes["psa_resnet50"]["extra"]["island_lambda1"] == 10.0


def test_app_help() -> None:
    out = run("app.py", "--help")
    assert out.returncode == 0, out.stderr
    assert "--checkpoints" in out.stdout


def test_locate_finds_a_trained_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built_model) -> None:
    monkeypatch.delenv("FER_CHECKPOINTS", raising=False)
    assert locate("convcut", tmp_path).found is False
    fer.save_checkpoint(built_model("convcut"), tmp_path / "convcut")
    assert locate("convcut", tmp_path).found is True
    monkeypatch.setenv("FER_CHECKPOINTS", str(tmp_path))
    assert locate("convcut").source == str(tmp_path / "convcut")
    hub = locate("convcut", "someone/fer-models")
    assert hub.found is None and hub.source == "someone/fer-models/convcut"


def test_app_page_says_which_models_are_trained(tmp_path: Path, built_model) -> None:
    fer.save_checkpoint(built_model("convcut"), tmp_path / "convcut")
    demo = build_demo(str(tmp_path))
    status = demo.studio.checkpoint_status()
    assert f"Conv-cut: trained checkpoint `{tmp_path / 'convcut'}`" in status
    assert "ResEmoteNet: **untrained weights** (no checkpoint)" in status
    assert demo.studio.zoo.loaded() == []  # building the page loads no model
    _, url, _ = demo.launch(prevent_thread_lock=True, server_port=None, quiet=True)
    try:
        config = urllib.request.urlopen(url.rstrip("/") + "/config", timeout=30).read().decode()
    finally:
        demo.close()
    assert "untrained weights" in config and "FER explainability studio" in config
    for tab in (
        "Analyze",
        "Live webcam",
        "Compare models",
        "Explain",
        "Embeddings",
        "Confusion matrix",
        "Evaluate your data",
        "About",
    ):
        assert f'"{tab}"' in config
