"""Temperature scaling: one number T that divides the logits so the probabilities mean what they say.

Guo et al. ("On Calibration of Modern Neural Networks", 2017): fit T > 0 on held-out data (the validation
split) by minimising the negative log-likelihood of ``softmax(logits / T)``. T > 1 softens an
over-confident model, T < 1 sharpens an under-confident one; the predicted class never changes. The NLL
is convex in 1/T, so a golden-section search over 1/T finds the optimum without a gradient. Numpy only:
training writes it (like :mod:`fer.evaluation.calibration`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fer.checkpoints import MAX_T, MIN_T  # the bounds a checkpoint may hold
from fer.evaluation.calibration import calibration

_GOLDEN = (np.sqrt(5) - 1) / 2


def log_probs(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``log softmax(logits / temperature)`` along the last axis, in float64."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def scaled_probs(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / temperature)``."""
    return np.exp(log_probs(logits, temperature))


def logits_from_probs(probs: np.ndarray) -> np.ndarray:
    """Logits up to a per-row constant (all softmax needs): ``log(probs)``, zeros clipped to the smallest float32."""
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), np.finfo(np.float32).tiny, None))


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true ``labels`` under ``softmax(logits / temperature)``."""
    labels = np.asarray(labels, dtype=np.int64)
    if not len(labels):
        return 0.0
    return float(-log_probs(logits, temperature)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, tol: float = 1e-4) -> float:
    """The T in [``MIN_T``, ``MAX_T``] that minimises the NLL of ``labels`` (N,) under ``logits`` (N, K) / T.

    With no samples, 1 (no change).
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if logits.ndim != 2 or len(logits) != len(labels):
        raise ValueError(f"expected logits (N, K) and N labels, got {logits.shape} and {labels.shape}")
    if not len(labels):
        return 1.0
    lo, hi = 1 / MAX_T, 1 / MIN_T  # search the inverse temperature: the NLL is convex in it

    def loss(inverse: float) -> float:
        return nll(logits, labels, 1 / inverse)

    a, b = lo + (1 - _GOLDEN) * (hi - lo), lo + _GOLDEN * (hi - lo)
    fa, fb = loss(a), loss(b)
    while hi - lo > tol:
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - _GOLDEN) * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + _GOLDEN * (hi - lo)
            fb = loss(b)
    return float(np.clip(1 / ((lo + hi) / 2), MIN_T, MAX_T))


def temperature_report(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict[str, Any]:
    """ECE and NLL of ``logits`` against ``labels`` before and after dividing by ``temperature``, and the
    reliability diagram after (for ``metrics.json`` and ``meta.json``)."""
    after = calibration(scaled_probs(logits, temperature), labels)
    return {
        "temperature": float(temperature),
        "n_samples": int(len(labels)),
        "ece_before": calibration(scaled_probs(logits, 1.0), labels)["ece"],
        "ece_after": after["ece"],
        "nll_before": nll(logits, labels),
        "nll_after": nll(logits, labels, temperature),
        "bins_after": after["bins"],
    }
