"""The evaluation artifact the app reads: ``metrics.json`` + ``predictions.npz`` beside a checkpoint."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fer.atomic import atomic_write
from fer.evaluation.calibration import calibration
from fer.evaluation.metrics import classification_metrics
from fer.evaluation.predict import Predictions
from fer.evaluation.temperature import logits_from_probs, temperature_report

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.npz"
THUMBNAIL_SIZE = 48


def thumbnails(images: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """uint8 (N, size, size) copies of gray faces, for the app's galleries."""
    if images.shape[1:] == (size, size):
        return images.copy()
    x = torch.from_numpy(images).unsqueeze(1).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).squeeze(1).numpy()


def write_artifact(
    directory: str | os.PathLike,
    *,
    predictions: Predictions,
    labels: np.ndarray,
    ids: np.ndarray,
    images: np.ndarray,
    class_names: tuple[str, ...] | list[str],
    info: dict[str, Any],
    temperature: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write both files (atomically) and return the metrics. ``info``: model, dataset, split, source, notes...

    ``temperature``: the model's temperature scaling (``{"value": T, "fitted_on": ...}``, as in ``meta.json``);
    ``metrics["temperature_scaling"]`` then holds the ECE and NLL on these samples before and after it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metrics = {
        **info,
        "n_samples": int(len(labels)),
        "class_names": list(class_names),
        **classification_metrics(labels, predictions.preds, class_names),
        "calibration": calibration(predictions.probs, labels),
        **({"temperature_scaling": _scaling(predictions, labels, temperature)} if temperature else {}),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    arrays = {
        "ids": np.asarray(ids).astype(str),
        "y_true": np.asarray(labels, dtype=np.int64),
        "y_pred": predictions.preds.astype(np.int64),
        "probs": predictions.probs.astype(np.float32),
        "features": predictions.features.astype(np.float32),
        "thumbnails": thumbnails(images),
        "class_names": np.asarray(class_names, dtype=str),
    }
    atomic_write(directory / PREDICTIONS_FILE, lambda tmp: np.savez_compressed(tmp, **arrays))
    atomic_write(directory / METRICS_FILE, lambda tmp: tmp.write_text(json.dumps(metrics, indent=2) + "\n"))
    return metrics


def _scaling(predictions: Predictions, labels: np.ndarray, temperature: dict[str, Any]) -> dict[str, Any]:
    logits = predictions.logits if predictions.logits is not None else logits_from_probs(predictions.probs)
    report = temperature_report(logits, labels, float(temperature["value"]))
    return {**report, "fitted_on": temperature.get("fitted_on")}


def load_artifact(directory: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(metrics, arrays)`` of an artifact directory; arrays are read without pickle."""
    directory = Path(directory)
    metrics = json.loads((directory / METRICS_FILE).read_text())
    with np.load(directory / PREDICTIONS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return metrics, arrays
