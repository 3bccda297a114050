"""Evaluation: predictions over a dataset, metrics, and the artifact the app reads."""

from fer.evaluation.artifact import load_artifact, write_artifact
from fer.evaluation.calibration import calibration
from fer.evaluation.evaluate import align_classes, evaluate_to_artifact
from fer.evaluation.metrics import baselines, baselines_of, classification_metrics
from fer.evaluation.predict import Predictions, predict
from fer.evaluation.temperature import fit_temperature

__all__ = [
    "align_classes",
    "baselines",
    "baselines_of",
    "calibration",
    "evaluate_to_artifact",
    "fit_temperature",
    "Predictions",
    "classification_metrics",
    "load_artifact",
    "predict",
    "write_artifact",
]
