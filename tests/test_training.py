"""Training: recipes, the loop learning, resume after a kill, and the evaluation artifact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tiny_model import tiny_model_registered

import fer
from fer.data import DataBundle, load_dataset, make_synthetic_faces
from fer.evaluation import load_artifact
from fer.training import config_from_recipe
from fer.training.optim import class_weights
from fer.training.run import train_model

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data" / "fer2013"


@pytest.fixture
def tiny() -> None:
    with tiny_model_registered():
        yield


def synthetic_bundle(n_train: int = 448, n_val: int = 70, n_test: int = 70, size: int = 48) -> DataBundle:
    splits = {
        "train": make_synthetic_faces(n_train, size=size, seed=1, split="train"),
        "val": make_synthetic_faces(n_val, size=size, seed=2, split="val"),
        "test": make_synthetic_faces(n_test, size=size, seed=3, split="test"),
    }
    return DataBundle(splits=splits, format="synthetic", source="generated")


def write_npz_dir(directory: Path, bundle: DataBundle) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for split, file in (("train", "train.npz"), ("val", "publictest.npz"), ("test", "privatetest.npz")):
        faces = bundle[split]
        np.savez(
            directory / file,
            images=faces.images,
            labels=faces.labels,
            names=faces.ids,
            class_names=np.array(faces.class_names),
        )
    return directory


def test_recipe_defaults_and_overrides() -> None:
    c = config_from_recipe("unet_eca_resnet34")
    assert (c.optimizer, c.lr, c.momentum, c.weight_decay, c.batch_size, c.epochs) == ("sgd", 1e-4, 0.9, 1e-3, 48, 50)
    assert (c.scheduler, c.scheduler_patience, c.early_stop_patience) == ("plateau", 2, 8)
    p = config_from_recipe("psa_resnet50", epochs=3, lr=None)
    assert p.epochs == 3 and p.lr == 1e-3 and p.loss == "cross_entropy+island"
    assert (p.island_lambda1, p.island_weight, p.center_lr) == (10.0, 0.01, 0.5)
    assert config_from_recipe("resemotenet").class_weighted
    with pytest.raises(TypeError, match="unknown training options"):
        config_from_recipe("convcut", epochz=3)


def test_class_weights_are_balanced() -> None:
    w = class_weights(torch.tensor([0, 0, 0, 1]), 3)
    assert torch.allclose(w, torch.tensor([4 / 9, 4 / 3, 1.0]))


def test_training_learns_and_writes_a_consistent_artifact(tmp_path: Path, tiny: None) -> None:
    config = config_from_recipe("tiny_cnn", seed=0)
    result = train_model(
        config, synthetic_bundle(), tmp_path, device=torch.device("cpu"), progress=False, log=lambda s: None
    )
    history = result["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    metrics, arrays = load_artifact(tmp_path)
    n, k = metrics["n_samples"], len(metrics["class_names"])
    assert n == 70 and metrics["split"] == "test"
    assert metrics["accuracy"] > 0.4  # chance is 1/7: the mouth carries the class
    assert arrays["probs"].shape == (n, k) and np.allclose(arrays["probs"].sum(1), 1, atol=1e-5)
    assert arrays["features"].shape == (n, 32) and arrays["thumbnails"].shape == (n, 48, 48)
    assert len(set(arrays["ids"])) == n
    assert np.array_equal(arrays["y_pred"], arrays["probs"].argmax(1))
    assert metrics["accuracy"] == pytest.approx((arrays["y_pred"] == arrays["y_true"]).mean())
    cm = np.array(metrics["confusion_matrix"])
    assert cm.sum() == n and np.trace(cm) == round(metrics["accuracy"] * n)
    assert sum(c["support"] for c in metrics["per_class"].values()) == n
    # The checkpoint beside it is the best epoch's, and says so.
    model, meta = fer.load_checkpoint(tmp_path)
    assert meta["epoch"] == result["best_epoch"]
    assert meta["metrics"]["test_accuracy"] == metrics["accuracy"]
    assert meta["metrics"]["val_acc"] == max(r["val_acc"] for r in history)
    assert meta["data"]["train_images"] == 448
    # Temperature scaling, fitted on the validation split, is kept in meta.json and reported on the test split.
    scaling = meta["temperature"]
    assert scaling["fitted_on"] == "synthetic val" and scaling["n_samples"] == 70
    assert 0.05 <= scaling["value"] <= 20 and scaling["nll_after"] <= scaling["nll_before"] + 1e-9
    assert metrics["temperature_scaling"]["temperature"] == scaling["value"]
    assert metrics["temperature_scaling"]["ece_before"] == pytest.approx(metrics["calibration"]["ece"], abs=1e-6)
    log_rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log_rows] == list(range(1, 13))
    assert all(r["images_per_s"] > 0 for r in log_rows)


def test_early_stopping_stops(tmp_path: Path, tiny: None) -> None:
    config = config_from_recipe("tiny_cnn", epochs=20, lr=0.0, early_stop_patience=2)
    result = train_model(
        config, synthetic_bundle(96, 35, 35), tmp_path, device=torch.device("cpu"), progress=False, log=lambda s: None
    )
    assert result["epochs_run"] == 3  # lr 0: nothing improves after epoch 1


def test_paper_model_trains_a_step_and_evaluates(tmp_path: Path) -> None:
    config = config_from_recipe("convcut", epochs=1, batch_size=16, img_size=64)
    result = train_model(
        config, synthetic_bundle(32, 14, 14), tmp_path, device=torch.device("cpu"), progress=False, log=lambda s: None
    )
    assert result["metrics"]["n_samples"] == 14
    assert fer.load_checkpoint(tmp_path)[1]["recipe"]["img_size"] == 64


def test_island_loss_run_moves_the_centers(tmp_path: Path) -> None:
    # PSA-ResNet50 at a tiny input keeps this fast; the run exercises the joint loss and the center optimiser.
    data = synthetic_bundle(32, 14, 14)
    for epochs in (1, 2):
        config = config_from_recipe("psa_resnet50", epochs=epochs, batch_size=16, img_size=32)
        train_model(config, data, tmp_path, device=torch.device("cpu"), resume=True, progress=False, log=lambda s: None)
        saved = torch.load(tmp_path / "resume.pt", weights_only=True)
        if epochs == 1:
            after_one = saved["island"]["centers"]
    centers = saved["island"]["centers"]
    assert centers.shape == (7, 2048)
    assert saved["state"]["epoch"] == 2
    assert not torch.equal(centers, after_one)  # the centers' own SGD stepped in epoch 2


def run_train(out: Path, data: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "tests/tiny_model.py",
        "--model",
        "tiny_cnn",
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        "6",
        "--no-progress",
        "--num-threads",
        "1",
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow  # three training subprocesses, one killed
def test_resume_after_a_kill_reproduces_the_uninterrupted_run(tmp_path: Path) -> None:
    data = write_npz_dir(tmp_path / "data", synthetic_bundle(2000, 70, 70))
    full = run_train(tmp_path / "full", data)
    assert full.wait(timeout=600) == 0, full.stdout.read()

    killed = run_train(tmp_path / "killed", data)
    log = tmp_path / "killed" / "tiny_cnn" / "log.jsonl"
    deadline = time.monotonic() + 600
    while not (log.exists() and log.read_text().count("\n") >= 1):
        assert killed.poll() is None, killed.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    done = log.read_text().count("\n")
    assert done < 6  # killed mid-run, at most one epoch lost

    resumed = run_train(tmp_path / "killed", data, "--resume")
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    assert f"resumed tiny_cnn after epoch {done}" in out
    a = torch.load(tmp_path / "full" / "tiny_cnn" / "resume.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "tiny_cnn" / "resume.pt", weights_only=True)
    assert a["state"]["epoch"] == b["state"]["epoch"] == 6
    for key, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][key]), key
    assert [r["val_acc"] for r in a["history"]] == [r["val_acc"] for r in b["history"]]
    best_a = load_file(tmp_path / "full" / "tiny_cnn" / "model.safetensors")
    best_b = load_file(tmp_path / "killed" / "tiny_cnn" / "model.safetensors")
    assert all(torch.equal(best_a[k], best_b[k]) for k in best_a)


def test_evaluate_cli_on_another_dataset(tmp_path: Path) -> None:
    model = fer.build_model("convcut")
    fer.save_checkpoint(model, tmp_path / "ckpt")
    # A labelled-folder dataset with a class the 7-class model lacks.
    from PIL import Image

    faces = make_synthetic_faces(16, size=48, seed=5)
    for i, (img, label) in enumerate(zip(faces.images, faces.labels)):
        name = "contempt" if i < 2 else faces.class_names[label]
        (tmp_path / "ck" / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(tmp_path / "ck" / name / f"{i}.png")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fer",
            "evaluate",
            "--checkpoint",
            str(tmp_path / "ckpt"),
            "--data",
            str(tmp_path / "ck"),
            "--out",
            str(tmp_path / "eval"),
            "--img-size",
            "64",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    metrics, arrays = load_artifact(tmp_path / "eval")
    assert metrics["n_samples"] == 14 and arrays["probs"].shape == (14, 7)
    assert any("contempt" in note for note in metrics["notes"])
    assert metrics["class_names"] == list(fer.FER2013_CLASSES)


@pytest.mark.slow  # trains on real FER2013 faces in a subprocess
@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is not here")
def test_real_fer2013_end_to_end(tmp_path: Path) -> None:
    data = load_dataset(SHARED_DATA)
    config = config_from_recipe("convcut", epochs=1, batch_size=32, img_size=64, limit_train=256, limit_val=256)
    result = train_model(config, data, tmp_path, device=torch.device("cpu"), progress=False, log=lambda s: None)
    metrics = result["metrics"]
    assert metrics["dataset"] == "FER2013" and metrics["split"] == "val"  # no PrivateTest here: PublicTest
    assert metrics["n_samples"] == 3589
    assert 0.0 < metrics["accuracy"] < 1.0
