"""Our numpy metrics (the training path has no scikit-learn) equal scikit-learn's, edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from fer.evaluation.metrics import classification_metrics

NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


@pytest.mark.parametrize("seed", range(5))
def test_metrics_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    y_true = rng.integers(0, 7, n)
    y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, 7, n))
    if seed == 3:
        y_true[y_true == 1] = 0  # a class with no support
    if seed == 4:
        y_pred[y_pred == 2] = 3  # a class never predicted
    ours = classification_metrics(y_true, y_pred, NAMES)
    labels = np.arange(7)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    assert ours["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert ours["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
    assert ours["confusion_matrix"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    for i, name in enumerate(NAMES):
        c = ours["per_class"][name]
        assert (c["precision"], c["recall"], c["f1"]) == pytest.approx((p[i], r[i], f[i]))
        assert c["support"] == s[i]


def test_metrics_of_nothing_and_bad_labels() -> None:
    empty = classification_metrics(np.array([], int), np.array([], int), NAMES)
    assert empty["accuracy"] == 0.0 and empty["macro_f1"] == 0.0 and np.sum(empty["confusion_matrix"]) == 0
    with pytest.raises(ValueError, match="labels must lie in"):
        classification_metrics(np.array([0, 7]), np.array([0, 1]), NAMES)


def test_baselines_are_chance_and_the_majority_class() -> None:
    from fer.evaluation import baselines

    b = baselines(np.array([2, 2, 2, 0, 1]), ["a", "b", "c", "d"])
    assert b == {"chance": 0.25, "majority": 0.6, "majority_class": "c"}


def test_baselines_from_a_metrics_dict_match_those_from_the_labels() -> None:
    from fer.evaluation import baselines, baselines_of

    y = np.array([2, 2, 2, 0, 1])
    metrics = classification_metrics(y, np.array([0, 1, 2, 3, 0]), ["a", "b", "c", "d"])
    assert baselines_of(metrics) == baselines(y, ["a", "b", "c", "d"])
