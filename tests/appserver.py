"""A real studio server for the API and browser tests: a checkpoint root with evaluation artifacts, app.py on a
free port, stopped at the end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch

import fer
from fer.data import make_synthetic_faces
from fer.evaluation.evaluate import evaluate_to_artifact

ROOT = Path(__file__).resolve().parents[1]
ARTIFACT_MODELS = ("resemotenet", "convcut")


def prepare_checkpoints(root: Path) -> Path:
    """Checkpoints of two models (fixed-seed weights) with artifacts on 70 synthetic faces."""
    faces = make_synthetic_faces(70, seed=3, split="test")
    for name in ARTIFACT_MODELS:
        torch.manual_seed(0)
        model = fer.build_model(name).eval()
        fer.save_checkpoint(model, root / name, data={"name": "synthetic"})
        evaluate_to_artifact(model, faces, root / name, class_names=fer.FER2013_CLASSES, img_size=None)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python app.py`` in a subprocess; ``url`` once it answers."""

    def __init__(self, checkpoints: Path, log: Path, timeout_s: float = 180, poll_s: float = 0.5) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "--checkpoints", str(checkpoints), "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    tail = log.read_text()[-2000:]
                    raise RuntimeError(f"app.py did not answer in {timeout_s:.0f} s: {tail}") from None
                time.sleep(poll_s)

    def rss_mb(self) -> float:
        """Resident memory of the server and its child processes, in MB (Linux ``/proc``)."""
        pid = self.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        pids = [pid, *(int(p) for p in children.read_text().split())] if children.exists() else [pid]
        total = 0
        for p in pids:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
