"""Training needs only torch, torchvision, numpy, safetensors and tqdm: no app, CAM, UMAP, plotting or OpenCV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_ONLY = ["gradio", "pytorch_grad_cam", "umap", "plotly", "cv2", "sklearn", "matplotlib", "huggingface_hub"]

TINY_RUN = """
import json, sys
sys.path.insert(0, "tests")
import train
from tiny_model import tiny_model_registered
from test_training import synthetic_bundle, write_npz_dir
from pathlib import Path
data = write_npz_dir(Path(sys.argv[1]) / "data", synthetic_bundle(64, 16, 16))
with tiny_model_registered():
    train.main(["--model", "tiny_cnn", "--data", str(data), "--out", sys.argv[1], "--epochs", "1", "--no-progress"])
print(json.dumps(sorted(m for m in {modules} if m in sys.modules)))
"""


def run_python(code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_a_whole_training_run_imports_no_app_only_package(tmp_path: Path) -> None:
    loaded = json.loads(run_python(TINY_RUN.format(modules=APP_ONLY), str(tmp_path)))
    assert loaded == []
    assert (tmp_path / "tiny_cnn" / "metrics.json").exists()  # the run did finish and evaluate


def test_train_help_and_fer_training_import_no_app_only_package() -> None:
    code = (
        "import sys, contextlib, io\n"
        "import fer.training\n"
        "sys.argv = ['train.py', '--help']\n"
        "import train\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        train.main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(m for m in {APP_ONLY!r} if m in sys.modules))"
    )
    assert run_python(code) == "[]"


def test_fer_analyze_still_loads_on_first_use() -> None:
    code = "import sys, fer\nassert 'cv2' not in sys.modules\nfer.analyze\nprint('cv2' in sys.modules)"
    assert run_python(code) == "True"
