"""Shared test setup: small, deterministic, no network."""

from __future__ import annotations

import os

os.environ.setdefault("FER_OFFLINE", "1")  # never wait on a download in tests
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One running app (python app.py) shared by the API and browser tests."""
    from appserver import Server, prepare_checkpoints

    root = prepare_checkpoints(tmp_path_factory.mktemp("checkpoints"))
    server = Server(root, tmp_path_factory.mktemp("server") / "app.log")
    yield server
    server.stop()
