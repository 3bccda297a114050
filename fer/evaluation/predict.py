"""Run a model over a set of faces in batches: probabilities, predictions and ``embed`` features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fer.budget import check_budget
from fer.preprocess import to_model_input


@dataclass(frozen=True)
class Predictions:
    """Per-sample outputs of one model on one set of faces."""

    probs: np.ndarray  # float32 (N, K)
    features: np.ndarray  # float32 (N, D): what the model's last linear layer sees
    loss: float | None  # mean cross-entropy when labels were given
    logits: np.ndarray | None = None  # float32 (N, K): what temperature scaling is fitted on

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(1)


@torch.inference_mode()
def predict(
    model: nn.Module,
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor | None = None,
    *,
    img_size: int | None = None,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> Predictions:
    """Evaluate ``model`` (switched to eval mode) on uint8 gray ``images`` (N, H, W)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    images = torch.as_tensor(images)
    probs, feats, raw, loss_sum = [], [], [], 0.0
    for start in range(0, len(images), batch_size):
        check_budget()  # a time limit in force (fer.budget) stops a long evaluation between batches
        x = to_model_input(images[start : start + batch_size].to(device), model.spec.input, img_size)
        f = model.embed(x)
        logits = model.head(f).float()
        if labels is not None:
            y = torch.as_tensor(labels[start : start + batch_size]).to(device)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        probs.append(logits.softmax(1).cpu())
        raw.append(logits.cpu())
        feats.append(f.float().cpu())
    model.train(was_training)
    k, d = model.head.out_features, model.head.in_features
    return Predictions(
        probs=torch.cat(probs).numpy() if probs else np.zeros((0, k), np.float32),
        features=torch.cat(feats).numpy() if feats else np.zeros((0, d), np.float32),
        loss=loss_sum / len(images) if labels is not None and len(images) else None,
        logits=torch.cat(raw).numpy() if raw else np.zeros((0, k), np.float32),
    )
