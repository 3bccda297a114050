"""A tiny registered model, so tests of the training loop run in seconds (the paper models take minutes on CPU).

Registering it is a context manager that removes it again, so ``fer.list_models()`` stays the four.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from fer import registry
from fer.models.base import FERModel
from fer.registry import InputSpec, ModelSpec, Paper, Recipe

SPEC = ModelSpec(
    name="tiny_cnn",
    display_name="Tiny CNN (tests only)",
    input=InputSpec(size=48),
    cam_target_layer="features.8",
    embed_dim=32,
    paper=Paper(title="none", authors="tests", year=None, file="none.txt"),
    reported={"synthetic": 100.0},
    recipe=Recipe(
        optimizer="adam",
        lr=3e-3,
        batch_size=32,
        epochs=12,
        augmentation=("hflip",),
        scheduler="plateau",
        scheduler_monitor="val_acc",
        scheduler_patience=2,
    ),
    pretrained_weights=None,
)


class TinyCNN(FERModel):
    """Three conv blocks, global pooling, dropout, a linear head."""

    def __init__(self, num_classes: int = 7, pretrained: bool = False) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU()),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(0.2),
        )
        self.head = nn.Linear(32, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


PLAIN_SPEC = dataclasses.replace(
    SPEC,
    name="tiny_plain",
    display_name="Tiny CNN without BatchNorm or dropout (tests only)",
    cam_target_layer="features.4",
)


class TinyPlainCNN(FERModel):
    """Convolutions, ReLU and pooling only: with neither BatchNorm statistics nor dropout masks, one process
    and several data-parallel processes must compute the same gradients, up to float summation order."""

    def __init__(self, num_classes: int = 7, pretrained: bool = False) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(32, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


@contextmanager
def tiny_model_registered() -> Iterator[None]:
    registry._ensure_models_imported()
    registry._REGISTRY[SPEC.name] = (SPEC, TinyCNN)
    registry._REGISTRY[PLAIN_SPEC.name] = (PLAIN_SPEC, TinyPlainCNN)
    try:
        yield
    finally:
        registry._REGISTRY.pop(SPEC.name, None)
        registry._REGISTRY.pop(PLAIN_SPEC.name, None)


if __name__ == "__main__":  # python tests/tiny_model.py <train.py arguments>: train.py with the tiny models
    import train

    with tiny_model_registered():
        train.main(sys.argv[1:])
