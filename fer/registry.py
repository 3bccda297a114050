"""One registry of models, in the spirit of timm's: every model is built by name and carries its config.

A :class:`ModelSpec` holds everything the rest of the package needs to know about a model
without building it: the input it expects, the layer Grad-CAM should look at, the paper,
the accuracies the paper reports and the paper's training recipe.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Paper:
    """Where a model comes from."""

    title: str
    authors: str
    year: int | None
    file: str  # the copy in ../shared/papers/
    code: str | None = None  # official code, where there is any


@dataclass(frozen=True)
class InputSpec:
    """What a model's input tensor must look like.

    Faces are grayscale in most FER datasets: every model here takes 3 channels, the gray
    image replicated, then normalised with ``mean``/``std`` per channel.
    """

    size: int
    channels: int = 3
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    grayscale: bool = True  # faces are converted to gray before replication


@dataclass(frozen=True)
class Recipe:
    """A paper's training recipe. ``None`` means the paper does not say."""

    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    loss: str = "cross_entropy"
    momentum: float | None = None
    weight_decay: float = 0.0
    scheduler: str | None = None  # e.g. "plateau"
    scheduler_monitor: str | None = None  # "val_acc" or "val_loss"
    scheduler_factor: float | None = None
    scheduler_patience: int | None = None
    early_stop_patience: int | None = None
    early_stop_monitor: str | None = None
    class_weighted: bool = False
    augmentation: tuple[str, ...] = ()
    freeze_backbone: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # model-specific knobs (Island loss, ...)
    notes: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """Everything known about a registered model, without building it."""

    name: str
    display_name: str
    input: InputSpec
    cam_target_layer: str  # a name for ``model.get_submodule``
    embed_dim: int
    paper: Paper
    reported: dict[str, float]  # dataset -> accuracy (%) the paper reports
    recipe: Recipe
    pretrained_weights: str | None  # torchvision weights the paper starts from, e.g. "ResNet34_Weights.IMAGENET1K_V1"
    paper_says: tuple[str, ...] = ()
    we_do: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (used in checkpoint metadata and the app's model cards)."""
        return asdict(self)


Builder = Callable[..., nn.Module]
_REGISTRY: dict[str, tuple[ModelSpec, Builder]] = {}


def register_model(spec: ModelSpec) -> Callable[[Builder], Builder]:
    """Class or function decorator: ``@register_model(SPEC)`` makes ``build_model(SPEC.name)`` work."""

    def wrap(builder: Builder) -> Builder:
        if spec.name in _REGISTRY:
            raise ValueError(f"model {spec.name!r} is registered twice")
        _REGISTRY[spec.name] = (spec, builder)
        return builder

    return wrap


def list_models() -> list[str]:
    """Names of every registered model, sorted (as timm does)."""
    _ensure_models_imported()
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered model; a clear error names the known ones."""
    _ensure_models_imported()
    try:
        return _REGISTRY[name][0]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}") from None


def build_model(name: str, num_classes: int = 7, pretrained: bool = False, **kwargs: Any) -> nn.Module:
    """Build a registered model.

    ``pretrained=True`` asks torchvision for the ImageNet weights the paper starts from and
    raises :class:`fer.pretrained.PretrainedWeightsUnavailable` when they cannot be had;
    ``pretrained=False`` never touches the network.
    """
    spec = get_spec(name)
    builder = _REGISTRY[name][1]
    if pretrained and spec.pretrained_weights is None:
        warnings.warn(f"{name}: its paper trains from scratch, there are no ImageNet weights to load", stacklevel=2)
        pretrained = False
    model = builder(num_classes=num_classes, pretrained=pretrained, **kwargs)
    model.spec = spec
    return model


def get_cam_target_layer(model: nn.Module, layer: str | None = None) -> nn.Module:
    """The module Grad-CAM should hook: the spec's target, or any submodule named by ``layer``."""
    name = layer or model.spec.cam_target_layer
    try:
        return model.get_submodule(name)
    except AttributeError:
        raise ValueError(f"{model.spec.name} has no layer {name!r}") from None


def _ensure_models_imported() -> None:
    # Importing the models package runs every @register_model decorator.
    from fer import models  # noqa: F401
