"""The live webcam path: detection on a shrunk frame finds the face where full-resolution detection does."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from fer.inference import Analyzer
from fer.live import DETECT_WIDTH, LIVE_MODEL, analyze_frame
from fer.zoo import ModelZoo


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def test_shrunk_detection_boxes_are_in_the_frames_pixels(tmp_path: Path) -> None:
    frame = np.full((480, 640, 3), 128, np.uint8)
    # The astronaut's head, grown so the face is about 145 px tall: a face at arm's length from a webcam.
    frame[40:440, 120:520] = cv2.resize(skdata.astronaut()[0:256, 100:356], (400, 400), interpolation=cv2.INTER_CUBIC)
    analyzer = Analyzer(ModelZoo(tmp_path))  # untrained weights: where the face is does not depend on them
    [live] = analyze_frame(analyzer, frame)
    [full] = analyze_frame(analyzer, frame, detect_width=None, min_face=24)
    assert DETECT_WIDTH < 640 and live.face.gray.shape[0] < full.face.gray.shape[0]  # it did detect on less
    assert iou(live.box, full.box) > 0.7
    x, y, w, h = live.box
    assert 120 <= x and x + w <= 520 and 40 <= y and y + h <= 440  # inside the pasted photo, in frame pixels
    result = live.models[LIVE_MODEL]
    assert result.cam is None and sum(result.probs.values()) == pytest.approx(1, abs=1e-5)
    assert analyze_frame(analyzer, np.full((480, 640, 3), 128, np.uint8)) == []
