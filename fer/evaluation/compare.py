"""Comparing models on their evaluation artifacts: per-class F1 side by side, and how often two models agree."""

from __future__ import annotations

from itertools import combinations

import numpy as np


def pairwise_agreement(predictions: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[tuple[str, str, float, int]]:
    """For every pair of models, the share of common samples (joined on ids) they label the same.

    ``predictions`` maps a model to ``(ids, y_pred)``; returns ``(model_a, model_b, agreement, n_common)``.
    """
    rows = []
    for a, b in combinations(sorted(predictions), 2):
        ids_a, pred_a = predictions[a]
        ids_b, pred_b = predictions[b]
        common, ia, ib = np.intersect1d(ids_a, ids_b, assume_unique=True, return_indices=True)
        agreement = float((pred_a[ia] == pred_b[ib]).mean()) if len(common) else float("nan")
        rows.append((a, b, agreement, len(common)))
    return rows
