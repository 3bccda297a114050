"""Optimisers, schedulers and loss weights as the recipes name them."""

from __future__ import annotations

import torch
from torch import nn

from fer.training.config import TrainConfig


def build_optimizer(params: list[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (with the recipe's momentum), Adam or AdamW over the trainable parameters."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum or 0.0, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r} (sgd, adam, adamw)")


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> torch.optim.lr_scheduler.ReduceLROnPlateau | None:
    """``ReduceLROnPlateau`` on the recipe's monitor (val accuracy goes up, val loss goes down), or none."""
    if config.scheduler is None:
        return None
    if config.scheduler != "plateau":
        raise ValueError(f"unknown scheduler {config.scheduler!r} (plateau or none)")
    mode = "max" if config.scheduler_monitor.endswith("acc") else "min"
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=mode, factor=config.scheduler_factor, patience=config.scheduler_patience
    )


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights ``N / (K * n_c)`` (scikit-learn's "balanced"); absent classes get 1."""
    counts = torch.bincount(labels.cpu(), minlength=num_classes).float()
    weights = len(labels) / (num_classes * counts.clamp(min=1))
    return torch.where(counts > 0, weights, torch.ones_like(weights))
