"""A run's configuration: the paper's recipe, with any knob overridden."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from fer.registry import get_spec


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run. Built from a model's recipe by :func:`config_from_recipe`."""

    model: str
    epochs: int
    batch_size: int
    lr: float
    optimizer: str  # "sgd" | "adam" | "adamw"
    momentum: float | None = None
    weight_decay: float = 0.0
    loss: str = "cross_entropy"  # or "cross_entropy+island"
    class_weighted: bool = False
    scheduler: str | None = None  # None | "plateau"
    scheduler_monitor: str = "val_acc"
    scheduler_factor: float = 0.1
    scheduler_patience: int = 5
    early_stop_patience: int | None = None
    early_stop_monitor: str = "val_acc"
    augmentation: tuple[str, ...] = ()
    img_size: int | None = None  # None: the model's input size
    pretrained: bool = False
    island_lambda1: float = 10.0
    island_weight: float = 0.01
    center_lr: float = 0.5
    seed: int = 0
    limit_train: int | None = None
    limit_val: int | None = None
    drop_duplicates: bool = False
    amp: bool = False
    compile: bool = False
    eval_batch_size: int = 128
    # Not part of any paper's recipe: how long this run may train (None: the whole recipe), and whether
    # multi-GPU runs synchronise BatchNorm statistics across GPUs (so the global batch sees the recipe's
    # batch statistics; CUDA only).
    time_budget_minutes: float | None = None
    sync_bn: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_from_recipe(model: str, **overrides: Any) -> TrainConfig:
    """The paper's recipe for ``model`` as a config; keyword arguments that are not None override it."""
    recipe = get_spec(model).recipe
    base: dict[str, Any] = {
        "model": model,
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "lr": recipe.lr,
        "optimizer": recipe.optimizer,
        "momentum": recipe.momentum,
        "weight_decay": recipe.weight_decay,
        "loss": recipe.loss,
        "class_weighted": recipe.class_weighted,
        "scheduler": recipe.scheduler,
        "scheduler_monitor": recipe.scheduler_monitor or "val_acc",
        "scheduler_factor": recipe.scheduler_factor or 0.1,
        "scheduler_patience": recipe.scheduler_patience or 5,
        "early_stop_patience": recipe.early_stop_patience,
        "early_stop_monitor": recipe.early_stop_monitor or "val_acc",
        "augmentation": recipe.augmentation,
    }
    base.update({k: v for k, v in recipe.extra.items() if k in {f.name for f in fields(TrainConfig)}})
    config = TrainConfig(**base)
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown training options: {', '.join(sorted(unknown))}")
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})
