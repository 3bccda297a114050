"""Can the probabilities be trusted? Expected calibration error and the reliability diagram's data, in numpy.

The top class's probability (the confidence) is binned into equal-width bins over [0, 1]; a calibrated
model is right in each bin as often as it is confident there. ECE is the mean gap, weighted by the bins'
sizes (Guo et al., "On Calibration of Modern Neural Networks", 2017, with their 15 bins). Training writes
it, so like :mod:`fer.evaluation.metrics` this imports numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_BINS = 15


def calibration(probs: np.ndarray, y_true: np.ndarray, n_bins: int = N_BINS) -> dict[str, Any]:
    """ECE and the reliability diagram of ``probs`` (N, K) against the true labels ``y_true`` (N,).

    Returns ``{"ece", "n_bins", "bins": [{"lower", "upper", "count", "confidence", "accuracy"}, ...]}``;
    bins are (lower, upper], the first also holds 0; an empty bin has None for its mean confidence and
    accuracy. With no samples, ECE is 0.
    """
    probs = np.asarray(probs, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(y_true):
        raise ValueError(f"expected probs (N, K) and N labels, got {probs.shape} and {y_true.shape}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    confidence = probs.max(1) if len(probs) else np.zeros(0)
    correct = (probs.argmax(1) == y_true) if len(probs) else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)  # (lower, upper]
    count = np.bincount(which, minlength=n_bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=n_bins)
    right_sum = np.bincount(which, weights=correct.astype(np.float64), minlength=n_bins)
    filled = count > 0
    mean_conf = np.divide(conf_sum, count, out=np.zeros(n_bins), where=filled)
    accuracy = np.divide(right_sum, count, out=np.zeros(n_bins), where=filled)
    ece = float((count * np.abs(accuracy - mean_conf)).sum() / len(probs)) if len(probs) else 0.0
    bins = [
        {
            "lower": float(edges[b]),
            "upper": float(edges[b + 1]),
            "count": int(count[b]),
            "confidence": float(mean_conf[b]) if filled[b] else None,
            "accuracy": float(accuracy[b]) if filled[b] else None,
        }
        for b in range(n_bins)
    ]
    return {"ece": ece, "n_bins": n_bins, "bins": bins}
