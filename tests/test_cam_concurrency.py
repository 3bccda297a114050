"""CAM requests and plain predictions share one model object: neither may see the other's forward pass."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from tiny_model import tiny_model_registered

from fer.budget import BudgetExceeded, time_limit
from fer.explain.cam import compute_cam
from fer.registry import build_model

METHODS = ("gradcam", "eigencam", "layercam", "scorecam")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    with tiny_model_registered():
        torch.manual_seed(0)
        return build_model("tiny_cnn").eval()


def test_cam_and_plain_requests_on_a_shared_model_give_0_errors_and_0_swapped_maps(model: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(1)
    photos = [torch.rand(1, 3, 48, 48, generator=gen) * (i + 1) for i in range(6)]  # distinct maps per photo
    with torch.inference_mode():
        expected_logits = [model(x) for x in photos]
    expected_maps = {(i, m): compute_cam(model, x, m).cams for i, x in enumerate(photos) for m in METHODS}
    errors: list[str] = []
    swapped: list[tuple] = []
    start = threading.Barrier(8)

    def user(k: int) -> None:
        start.wait()
        for step in range(24):
            i = (k + step) % len(photos)
            kind = (k + step) % 6
            try:
                if kind == 0:  # /predict without CAM, Live
                    with torch.inference_mode():
                        out = model(photos[i])
                    if not torch.allclose(out, expected_logits[i], atol=1e-5):
                        swapped.append(("logits", k, step, i))
                elif kind == 1:  # evaluation's batched path: embed, then head
                    with torch.inference_mode():
                        out = model.head(model.embed(photos[i]))
                    if not torch.allclose(out, expected_logits[i], atol=1e-5):
                        swapped.append(("embed", k, step, i))
                else:
                    method = METHODS[(kind - 2) % len(METHODS)]
                    got = compute_cam(model, photos[i], method).cams
                    if not np.allclose(got, expected_maps[(i, method)], atol=1e-4):
                        swapped.append((method, k, step, i))
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none may happen
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=user, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert swapped == []
    assert not any(m._forward_hooks for m in model.modules())  # every hook removed again


def test_score_cam_stops_at_its_time_limit(model: torch.nn.Module) -> None:
    x = torch.rand(1, 3, 48, 48)
    with time_limit(0.0, what="Score-CAM"), pytest.raises(BudgetExceeded, match="Score-CAM stopped"):
        compute_cam(model, x, "scorecam")
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
