"""Each model cut at its CAM layer: a trunk (input -> the CAM layer's output) and a tail (that output -> logits).

The fast CAM path only needs gradients through the tail, so the trunk can run anywhere (another runtime,
no autograd) and the tail stays in torch. The cut is written per model, next to what it mirrors
(each model's ``embed``); ``tests/test_trunk_runtime.py`` checks ``tail(trunk(x)) == model(x)`` and that
the trunk's output is the registered CAM layer's, for all four models, so a change to a model that breaks
the cut fails there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Split:
    """``model(x) == tail(trunk(x))``; ``trunk(x)`` is the output of the model's registered CAM layer."""

    trunk: nn.Module
    tail: Callable[[torch.Tensor], torch.Tensor]


class _ResEmoteNetTrunk(nn.Module):
    def __init__(self, m: nn.Module) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.m  # dropout1 is the identity in eval mode; the cut is act3's output, before its max-pool
        x = m.dropout1(F.max_pool2d(m.act1(m.bn1(m.conv1(x))), 2))
        x = m.dropout1(F.max_pool2d(m.act2(m.bn2(m.conv2(x))), 2))
        return m.act3(m.bn3(m.conv3(x)))


def _resemotenet(m: nn.Module) -> Split:
    def tail(a: torch.Tensor) -> torch.Tensor:
        x = m.res_block3(m.res_block2(m.res_block1(m.se(F.max_pool2d(a, 2)))))
        x = m.pool(x).flatten(1)
        x = m.dropout2(F.relu(m.fc1(x)))
        x = m.dropout2(F.relu(m.fc2(x)))
        return m.head(m.dropout2(F.relu(m.fc3(x))))

    return Split(_ResEmoteNetTrunk(m), tail)


def _convcut(m: nn.Module) -> Split:
    return Split(m.backbone, lambda a: m.head(m.detail(a)))


def _psa_resnet50(m: nn.Module) -> Split:
    trunk = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4)
    return Split(trunk, lambda a: m.head(m.pool(a).flatten(1)))


def _unet_eca_resnet34(m: nn.Module) -> Split:
    return Split(nn.Sequential(m.stem, m.stages), lambda a: m.head(m.dropout(m.pool(a).flatten(1))))


SPLITS: dict[str, Callable[[nn.Module], Split]] = {
    "convcut": _convcut,
    "psa_resnet50": _psa_resnet50,
    "resemotenet": _resemotenet,
    "unet_eca_resnet34": _unet_eca_resnet34,
}


def split_model(model: nn.Module) -> Split | None:
    """The trunk/tail cut of a registered model at its registered CAM layer; None for a model without one.

    The trunk and tail share ``model``'s modules (no weight is copied).
    """
    spec = getattr(model, "spec", None)
    make = SPLITS.get(spec.name) if spec is not None else None
    if make is None:
        return None
    split = make(model)
    split.trunk.training = model.training  # the new container's own flag only; its children are the model's
    return split
