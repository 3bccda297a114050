"""Expected calibration error (15 bins) and the reliability diagram's data."""

from __future__ import annotations

import numpy as np
import pytest

from fer.evaluation.calibration import calibration


def predictor(n: int, confidence: np.ndarray, accuracy: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three-class probabilities whose top class is class 0 with ``confidence``, right with chance ``accuracy``."""
    rng = np.random.default_rng(seed)
    probs = np.stack([confidence, (1 - confidence) / 2, (1 - confidence) / 2], 1)
    labels = np.where(rng.random(n) < accuracy, 0, rng.integers(1, 3, n))
    return probs, labels


def test_a_calibrated_predictor_has_ece_near_zero() -> None:
    n = 200_000
    confidence = np.random.default_rng(1).uniform(0.4, 1.0, n)
    probs, labels = predictor(n, confidence, confidence)  # right exactly as often as it says
    result = calibration(probs, labels)
    assert result["ece"] < 0.01
    assert result["n_bins"] == 15 and len(result["bins"]) == 15
    for b in result["bins"]:
        if b["count"] > 1000:
            assert b["accuracy"] == pytest.approx(b["confidence"], abs=0.02)


def test_an_over_confident_predictor_has_a_large_ece() -> None:
    n = 20_000
    confidence = np.full(n, 0.95)
    probs, labels = predictor(n, confidence, np.full(n, 0.6))
    result = calibration(probs, labels)
    assert result["ece"] == pytest.approx(0.35, abs=0.02)
    full = [b for b in result["bins"] if b["count"]]
    assert len(full) == 1 and full[0]["lower"] < 0.95 <= full[0]["upper"] and full[0]["count"] == n
    assert sum(b["count"] for b in result["bins"]) == n


def test_bin_edges_empty_bins_and_bad_input() -> None:
    probs = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    result = calibration(probs, np.array([0, 1, 1]), n_bins=2)
    assert [b["count"] for b in result["bins"]] == [1, 2]  # 0.5 falls in (0, 0.5], 1.0 in (0.5, 1]
    empty = calibration(np.zeros((0, 3)), np.zeros(0))
    assert empty["ece"] == 0.0 and empty["bins"][0]["accuracy"] is None
    with pytest.raises(ValueError, match="expected probs"):
        calibration(np.zeros((3, 2)), np.zeros(2))


def test_the_artifact_carries_calibration(tmp_path) -> None:
    from fer.evaluation.artifact import load_artifact, write_artifact
    from fer.evaluation.predict import Predictions

    probs, labels = predictor(60, np.full(60, 0.9), np.full(60, 0.5))
    preds = Predictions(probs=probs.astype(np.float32), features=np.zeros((60, 2), np.float32), loss=0.0)
    images = np.zeros((60, 48, 48), np.uint8)
    ids = np.arange(60).astype(str)
    write_artifact(
        tmp_path, predictions=preds, labels=labels, ids=ids, images=images, class_names=["a", "b", "c"], info={}
    )
    metrics, _ = load_artifact(tmp_path)
    assert metrics["calibration"]["n_bins"] == 15
    assert metrics["calibration"]["ece"] == pytest.approx(calibration(probs, labels)["ece"], abs=1e-6)
