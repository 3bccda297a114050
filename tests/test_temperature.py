"""Temperature scaling: fitted on held-out logits, kept in meta.json, applied by the app's analyzer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_model import tiny_model_registered

import fer
from fer.checkpoints import CheckpointError
from fer.data import make_synthetic_faces
from fer.evaluation.artifact import load_artifact, write_artifact
from fer.evaluation.calibration import calibration
from fer.evaluation.evaluate import fit_temperature_on
from fer.evaluation.predict import Predictions
from fer.evaluation.temperature import (
    MAX_T,
    fit_temperature,
    logits_from_probs,
    nll,
    scaled_probs,
    temperature_report,
)
from fer.faces import Face
from fer.inference import Analyzer
from fer.zoo import ModelZoo


def calibrated_logits(n: int, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from softmax(logits) itself: a perfectly calibrated predictor."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, (n, k))
    probs = scaled_probs(logits, 1.0)
    labels = (rng.random((n, 1)) > probs.cumsum(1)).sum(1)
    return logits, labels


def test_an_over_confident_predictor_gets_t_above_one_and_a_lower_ece() -> None:
    logits, labels = calibrated_logits(20_000)
    over = logits * 3.0  # the same ranking, three times as sure of itself
    t = fit_temperature(over, labels)
    assert t == pytest.approx(3.0, rel=0.05)
    report = temperature_report(over, labels, t)
    assert report["ece_before"] > 0.1 and report["ece_after"] < 0.02
    assert report["nll_after"] < report["nll_before"]
    assert report["ece_before"] == pytest.approx(calibration(scaled_probs(over, 1.0), labels)["ece"])
    # Dividing the logits never changes the predicted class.
    assert (scaled_probs(over, t).argmax(1) == over.argmax(1)).all()


def test_a_calibrated_predictor_keeps_t_near_one_and_an_under_confident_one_gets_t_below() -> None:
    logits, labels = calibrated_logits(20_000, seed=1)
    assert fit_temperature(logits, labels) == pytest.approx(1.0, abs=0.05)
    assert fit_temperature(logits / 2, labels) == pytest.approx(0.5, rel=0.05)
    # The fitted T is the NLL's minimum: both neighbours are worse.
    t = fit_temperature(logits, labels)
    assert nll(logits, labels, t) <= min(nll(logits, labels, t * 1.05), nll(logits, labels, t / 1.05))


def test_edge_cases() -> None:
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0)) == 1.0
    with pytest.raises(ValueError, match="expected logits"):
        fit_temperature(np.zeros((3, 2)), np.zeros(2))
    # Always right: sharper is always better, until the NLL is 0 to machine precision (T stays above the bound).
    sure = np.array([[10.0, 0.0]] * 50)
    t = fit_temperature(sure, np.zeros(50))
    assert 0.05 <= t < 1 and nll(sure, np.zeros(50), t) < 1e-12
    # Always wrong: softer is always better, up to the bound, never infinity.
    assert fit_temperature(sure, np.ones(50)) == pytest.approx(MAX_T, rel=1e-3)
    # log(probs) are logits up to a constant per row: the same fit.
    logits, labels = calibrated_logits(2000, seed=2)
    assert fit_temperature(logits_from_probs(scaled_probs(logits * 2, 1.0)), labels) == pytest.approx(
        fit_temperature(logits * 2, labels), rel=1e-3
    )


def test_the_artifact_reports_ece_before_and_after(tmp_path: Path) -> None:
    logits, labels = calibrated_logits(3000, k=3, seed=3)
    over = (logits * 2.5).astype(np.float32)
    preds = Predictions(
        probs=scaled_probs(over, 1.0).astype(np.float32), features=np.zeros((3000, 2), np.float32), loss=None,
        logits=over,
    )  # fmt: skip
    write_artifact(
        tmp_path, predictions=preds, labels=labels, ids=np.arange(3000), images=np.zeros((3000, 48, 48), np.uint8),
        class_names=["a", "b", "c"], info={}, temperature={"value": 2.5, "fitted_on": "synthetic val"},
    )  # fmt: skip
    metrics, _ = load_artifact(tmp_path)
    scaling = metrics["temperature_scaling"]
    assert scaling["temperature"] == 2.5 and scaling["fitted_on"] == "synthetic val"
    assert scaling["ece_before"] == pytest.approx(metrics["calibration"]["ece"], abs=1e-6)
    assert scaling["ece_after"] < scaling["ece_before"] / 3
    assert len(scaling["bins_after"]) == 15


def test_fitted_on_a_model_stored_in_meta_and_used_by_the_analyzer(tmp_path: Path) -> None:
    with tiny_model_registered():
        torch.manual_seed(0)
        model = fer.build_model("tiny_cnn").eval()
        with torch.no_grad():  # an over-confident model: large logits
            model.head.weight.mul_(40)
        val = make_synthetic_faces(64, seed=4, split="val")
        scaling = fit_temperature_on(model, val, class_names=val.class_names)
        assert scaling["fitted_on"] == "synthetic val" and scaling["n_samples"] == 64
        assert scaling["value"] > 1 and scaling["ece_after"] <= scaling["ece_before"]
        fer.save_checkpoint(model, tmp_path / "tiny_cnn", temperature=scaling)
        _, meta = fer.load_checkpoint(tmp_path / "tiny_cnn")
        assert meta["temperature"]["value"] == pytest.approx(scaling["value"])
        loaded = ModelZoo(tmp_path).get("tiny_cnn")
        assert loaded.temperature == pytest.approx(scaling["value"])
        assert f"calibrated T={scaling['value']:.2f}" in loaded.note
        gray = val.images[0]
        face = Face(box=(0, 0, 48, 48), score=None, gray=gray)
        result = Analyzer(ModelZoo(tmp_path)).analyze_faces([face], ["tiny_cnn"], cam=None)[0].models["tiny_cnn"]
        assert result.temperature == pytest.approx(scaling["value"])
        x = fer.preprocess.to_model_input(torch.from_numpy(gray)[None], model.spec.input)
        with torch.no_grad():
            expected = (loaded.model(x) / scaling["value"]).softmax(1)[0].numpy()
        np.testing.assert_allclose(list(result.probs.values()), expected, atol=1e-5)


@pytest.mark.parametrize("bad", [1.7, {"value": 0}, {"value": "2"}, {"value": True}, {"value": 1e9}, {"T": 2.0}])
def test_a_malformed_temperature_is_a_checkpoint_error(tmp_path: Path, bad: object) -> None:
    with tiny_model_registered():
        directory = fer.save_checkpoint(fer.build_model("tiny_cnn"), tmp_path / "tiny_cnn")
        meta = json.loads((directory / "meta.json").read_text())
        meta["temperature"] = bad
        (directory / "meta.json").write_text(json.dumps(meta))
        with pytest.raises(CheckpointError, match="temperature"):
            fer.load_checkpoint(directory)
