"""The prepared GPU run: its --dry-run passes on CPU end to end, and the data packer is lossless."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import pack_data  # noqa: E402

from fer.data import load_dataset, make_synthetic_faces  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data" / "fer2013"


@pytest.mark.slow  # the lent-GPU script end to end on CPU: about 70 s here
def test_gpu_run_dry_run(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    out = subprocess.run(
        ["bash", "tools/gpu_run.sh", "--dry-run", "--out", str(tmp_path / "run"), "--export", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    print(f"dry run: {time.monotonic() - start:.0f} s")
    run = tmp_path / "run"
    smoke = json.loads((run / "smoke.json").read_text())
    assert [r["model"] for r in smoke["results"]] == ["convcut", "psa_resnet50", "resemotenet", "unet_eca_resnet34"]
    assert all(r["finite"] and r["steps"] == 2 for r in smoke["results"])
    assert json.loads((run / "smoke_compile.json").read_text())["results"][0]["compile"] == "eager"
    assert json.loads((run / "throughput.json").read_text())["results"][0]["ratio"] > 0
    results = json.loads((run / "reproduce" / "results.json").read_text())
    assert sorted(results["models"]) == ["convcut", "psa_resnet50", "resemotenet", "unet_eca_resnet34"]
    assert all(r["budget_limited"] is False and r["epochs_completed"] == 1 for r in results["models"].values())
    assert "| resemotenet |" in (run / "reproduce" / "results.md").read_text()
    # What comes back from a lent machine: at most 8 files, no dataset faces except Conv-cut's own artifact.
    exported = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert len(exported) <= 8, exported
    assert {"results.tar.gz", "gpu_run.log", "convcut_fp16/model.safetensors", "convcut_fp16/meta.json"} <= set(
        exported
    )
    with tarfile.open(tmp_path / "out" / "results.tar.gz") as tar:
        names = tar.getnames()
    assert "./reproduce/results.md" in names and "./smoke.json" in names and "./reproduce/convcut/log.jsonl" in names
    assert not any(n.endswith((".npz", ".pt", ".safetensors")) for n in names)


def write_split(directory: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    np.savez(
        directory / f"{split}.npz",
        images=images,
        labels=labels,
        names=np.array([f"{split}/{i}.png" for i in range(len(images))]),
        usage=np.array(["Training" if split == "train" else "PublicTest"] * len(images)),
        class_names=np.array(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]),
    )


def test_pack_round_trip_is_lossless(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    faces = make_synthetic_faces(64, size=48, seed=0)
    noisy = np.random.default_rng(0).integers(0, 256, (16, 48, 48), dtype=np.uint8)  # edges of the predictor
    write_split(src, "train", np.concatenate([faces.images, noisy]), np.concatenate([faces.labels, np.zeros(16, int)]))
    write_split(src, "publictest", faces.images[:8], faces.labels[:8])
    size = pack_data.pack(src, tmp_path / "fer.pack")
    assert size < (80 + 8) * 48 * 48
    pack_data.unpack(tmp_path / "fer.pack", tmp_path / "out")
    for split in ("train", "publictest"):
        with np.load(src / f"{split}.npz") as a, np.load(tmp_path / "out" / f"{split}.npz") as b:
            assert sorted(a.files) == sorted(b.files)
            for key in a.files:
                assert np.array_equal(a[key], b[key]), (split, key)
    bundle = load_dataset(tmp_path / "out")
    assert len(bundle["train"]) == 80 and len(bundle["val"]) == 8


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is not here")
def test_pack_compresses_real_faces_below_the_raw_size(tmp_path: Path) -> None:
    with np.load(SHARED_DATA / "publictest.npz") as d:
        images = d["images"][:400]
    blob = pack_data.encode(images)
    assert np.array_equal(pack_data.decode(blob, images.shape), images)
    # 28,709 + 3,589 faces (74 MB of pixels) must fit 50 MiB: about 0.70 of the raw pixels at most.
    assert len(blob) / images.size < 0.72
