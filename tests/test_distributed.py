"""Data-parallel training under torchrun, proven on CPU with gloo: 2 processes match 1, and a killed run resumes.

Tolerance: with a model without BatchNorm and dropout, the two runs compute the same gradients except
for float32 summation order (each rank sums its half of the batch, then the halves are all-reduced).
Those differences are ~1e-7 relative per step; after three epochs of Adam they stay below 1e-4 in the
validation loss (measured: ~4e-6), far too small to move a prediction, so accuracies must be equal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from test_training import synthetic_bundle, write_npz_dir

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built in")


def train_cmd(out: Path, data: Path, nproc: int, *extra: str) -> list[str]:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    args = ["tests/tiny_model.py", "--model", "tiny_plain", "--data", str(data), "--out", str(out)]
    args += ["--epochs", "3", "--batch-size", "32", "--no-progress", "--num-threads", "1", "--device", "cpu", *extra]
    return (launcher if nproc > 1 else [sys.executable]) + args


def start(cmd: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (torchrun starts its workers in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    return out


def log_rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "tiny_plain" / "log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_npz_dir(tmp_path_factory.mktemp("ddp") / "data", synthetic_bundle(1000, 70, 70))


@pytest.mark.slow  # a one-process and a two-process (gloo) training run
def test_two_processes_match_one_with_the_same_global_batch(data: Path, tmp_path: Path) -> None:
    single = finish(start(train_cmd(tmp_path / "one", data, 1)))
    double = finish(start(train_cmd(tmp_path / "two", data, 2)))
    a, b = log_rows(tmp_path / "one"), log_rows(tmp_path / "two")
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b] == [1, 2, 3]
    for ra, rb in zip(a, b):
        assert rb["val_loss"] == pytest.approx(ra["val_loss"], rel=1e-4)
        assert rb["val_acc"] == ra["val_acc"]
        assert rb["train_loss"] == pytest.approx(ra["train_loss"], rel=1e-4)
        assert rb["train_acc"] == ra["train_acc"]  # every image counted once, on one of the ranks
    # Rank 0 alone writes and logs: one checkpoint, one artifact, one line per epoch.
    files = sorted(p.name for p in (tmp_path / "two" / "tiny_plain").iterdir())
    assert files == ["log.jsonl", "meta.json", "metrics.json", "model.safetensors", "predictions.npz", "resume.pt"]
    assert double.count("tiny_plain epoch 1/3") == 1 and single.count("tiny_plain epoch 1/3") == 1
    meta = json.loads((tmp_path / "two" / "tiny_plain" / "meta.json").read_text())
    assert meta["training"]["processes"] == 2 and meta["training"]["stop_reason"] == "completed"
    one_metrics = json.loads((tmp_path / "one" / "tiny_plain" / "metrics.json").read_text())
    two_metrics = json.loads((tmp_path / "two" / "tiny_plain" / "metrics.json").read_text())
    assert two_metrics["accuracy"] == one_metrics["accuracy"]


@pytest.mark.slow  # two training processes (gloo), killed and resumed
def test_two_process_run_killed_with_sigkill_resumes(data: Path, tmp_path: Path) -> None:
    full = start(train_cmd(tmp_path / "full", data, 2, "--epochs", "5"))
    finish(full)
    killed = start(train_cmd(tmp_path / "killed", data, 2, "--epochs", "5"))
    log = tmp_path / "killed" / "tiny_plain" / "log.jsonl"
    deadline = time.monotonic() + 600
    while not (log.exists() and log.read_text().count("\n") >= 1):
        assert killed.poll() is None, killed.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for pid in [killed.pid, *descendants(killed.pid)]:  # torchrun and both workers, like a machine going away
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    killed.wait()
    resume = tmp_path / "killed" / "tiny_plain" / "resume.pt"
    done = torch.load(resume, weights_only=True)["state"]["epoch"]  # the log may trail it by the kill's moment
    assert 1 <= done < 5

    out = finish(start(train_cmd(tmp_path / "killed", data, 2, "--epochs", "5", "--resume")))
    assert f"resumed tiny_plain after epoch {done}" in out
    a = torch.load(tmp_path / "full" / "tiny_plain" / "resume.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "tiny_plain" / "resume.pt", weights_only=True)
    assert a["state"]["epoch"] == b["state"]["epoch"] == 5
    for key, tensor in a["model"].items():
        assert torch.allclose(tensor, b["model"][key], rtol=1e-5, atol=1e-6), key
    assert [r["val_acc"] for r in a["history"]] == [r["val_acc"] for r in b["history"]]
