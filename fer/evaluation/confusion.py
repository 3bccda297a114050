"""Confusion matrices from an evaluation artifact: raw or normalised, and the samples behind any cell."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix

NORMALIZATIONS = {"raw": None, "by true class (recall)": "true", "by predicted class (precision)": "pred"}


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, normalize: str | None = None) -> np.ndarray:
    """Rows are true classes, columns predicted ones; ``normalize`` is None, "true" (rows sum to 1) or "pred"."""
    return confusion_matrix(y_true, y_pred, labels=np.arange(num_classes), normalize=normalize)


def cell_indices(y_true: np.ndarray, y_pred: np.ndarray, true_class: int, pred_class: int) -> np.ndarray:
    """Indices of the samples in cell (true, predicted), most confident mistakes first is the caller's choice."""
    return np.flatnonzero((y_true == true_class) & (y_pred == pred_class))
