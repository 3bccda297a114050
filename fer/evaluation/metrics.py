"""Classification metrics as one JSON-ready dict, computed from the confusion matrix in numpy.

Training writes these on machines that have only torch, torchvision, numpy, safetensors and tqdm, so
this module does not import scikit-learn; ``tests/test_metrics.py`` checks every number against
scikit-learn's ``precision_recall_fscore_support``, ``f1_score`` and ``confusion_matrix``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``(K, K)``, rows the true class, columns the predicted one."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if len(y_true) and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes})")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # scikit-learn's zero_division=0: a ratio with an empty denominator is 0.
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix (rows: true)."""
    cm = confusion_matrix(y_true, y_pred, len(class_names))
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(1)
    precision = _safe_divide(tp, cm.sum(0).astype(np.float64))
    recall = _safe_divide(tp, support.astype(np.float64))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return {
        "accuracy": float(tp.sum() / len(y_true)) if len(y_true) else 0.0,
        "macro_f1": float(f1.mean()) if len(class_names) else 0.0,
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
        },
        "confusion_matrix": cm.tolist(),
    }


def baselines(y_true: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """What an accuracy must beat on this data: ``chance`` (a uniform guess, 1/K) and ``majority`` (always
    answering the most frequent true class, named ``majority_class``)."""
    counts = np.bincount(np.asarray(y_true, dtype=np.int64), minlength=len(class_names))
    return _baselines(counts, class_names)


def baselines_of(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`baselines` from a metrics dict (its per-class support), without the predictions."""
    per_class = metrics["per_class"]
    return _baselines(np.array([per_class[c]["support"] for c in per_class]), list(per_class))


def _baselines(counts: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    total = int(counts.sum())
    top = int(counts.argmax()) if total else 0
    return {
        "chance": 1.0 / len(class_names),
        "majority": float(counts[top] / total) if total else 0.0,
        "majority_class": str(class_names[top]),
    }
