"""Fold eval-mode BatchNorm layers into the convolutions that feed them, for an inference-only model.

In eval mode ``bn(conv(x))`` is one affine map per channel after the convolution, so it equals a single
convolution with scaled weights and a shifted bias (``torch.nn.utils.fusion.fuse_conv_bn_eval``). That
saves one full read and write of every such activation: on these 2-core CPUs the four models' forward
passes are partly memory-bound (bench/trunk_options.py measures it).

Which BatchNorm follows which convolution is found by running one forward pass with hooks, so any
model works, however its ``forward`` is written: a BatchNorm is folded only when its input is exactly
the output of a convolution called just before it, each called once, and nothing else reads that
convolution's output in between. Hooks cannot see a functional use of that output (``y = conv(x);
bn(y) + y``); no model here has one, and tests/test_fold_batchnorm.py checks the folded models give
the same probabilities and maps as the originals. The folded BatchNorm becomes ``nn.Identity``, so layer names (CAM
targets such as ``layer4.2.bn3``) still resolve and give the same activation.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def foldable_pairs(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """``(conv name, batchnorm name)`` pairs where the BatchNorm directly and only consumes the conv's output."""
    names = {module: name for name, module in model.named_modules()}
    calls: list[tuple[nn.Module, tuple[int, ...], int]] = []  # module, ids of its tensor inputs, id of its output
    keep_alive: list[torch.Tensor] = []  # ids are only unique while the tensors live

    def record(module: nn.Module, inputs: tuple, output: object) -> None:
        tensors = tuple(t for t in inputs if isinstance(t, torch.Tensor))
        keep_alive.extend(tensors)
        if isinstance(output, torch.Tensor):
            keep_alive.append(output)
        calls.append((module, tuple(id(t) for t in tensors), id(output)))

    handles = [m.register_forward_hook(record) for m in model.modules() if m is not model]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()

    times_called: dict[nn.Module, int] = {}
    for module, _, _ in calls:
        times_called[module] = times_called.get(module, 0) + 1
    pairs = []
    for i, (module, inputs, _) in enumerate(calls):
        if not isinstance(module, _NORMS) or times_called[module] != 1 or i == 0:
            continue
        # Hooks fire when a module finishes: the conv's record comes right before the BatchNorm's, unless
        # some other module read the conv's output in between (then it is not the BatchNorm's alone).
        previous, _, previous_output = calls[i - 1]
        if isinstance(previous, _CONVS) and times_called[previous] == 1 and inputs == (previous_output,):
            pairs.append((names[previous], names[module]))
    return pairs


def fold_batchnorm(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """Fold, in place, every eval-mode BatchNorm that directly follows a convolution; returns the pairs folded.

    ``model`` must be in eval mode and used for inference only: the folded model can no longer be
    trained as the original (its BatchNorm statistics are gone). ``example`` is one input batch of
    the right shape (its values do not matter).
    """
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (inference only)")
    pairs = foldable_pairs(model, example)
    for conv_name, bn_name in pairs:
        conv, bn = model.get_submodule(conv_name), model.get_submodule(bn_name)
        fused = fuse_conv_bn_eval(conv, bn)
        _set_submodule(model, conv_name, fused)
        _set_submodule(model, bn_name, nn.Identity())
    return pairs


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)
