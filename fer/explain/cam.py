"""Class activation maps through pytorch-grad-cam, with a faster path for the methods that allow one.

The straightforward way (``with GradCAM(model, [layer]) as cam: cam(x)``) runs the whole forward
pass with autograd, back-propagates through the whole network, and needs a second forward pass
for the probabilities. The fast path here runs the layers before the target without autograd,
makes the target's output the leaf of a small graph, back-propagates only through the layers
after it, and returns the logits of that same forward pass. The map itself is computed by the
library's own ``get_cam_image`` of the chosen method and scaled with its ``scale_cam_image``, so
both paths give the same map (a test checks it). It also works where the library fails: a target
inside a frozen backbone, and a target whose output is modified in place downstream.
"""

from __future__ import annotations

import copy
import functools
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from fer.budget import check_budget
from fer.explain.methods import FAST_METHODS, GRADIENT_FREE, cam_class
from fer.registry import get_cam_target_layer

if TYPE_CHECKING:
    from fer.runtime.trunk import TrunkRunner

Targets = Sequence[int | None] | int | None
_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """One lock per model, held while hooks are added to or removed from it (and while it is copied)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.RLock()
        return lock


@dataclass(frozen=True)
class CamResult:
    """Maps in [0, 1] at the input's size, the logits of the same forward pass, and the explained classes."""

    cams: np.ndarray  # float32 (N, H, W)
    logits: torch.Tensor  # (N, K)
    targets: list[int]


def compute_cam(
    model: nn.Module,
    x: torch.Tensor,
    method: str = "gradcam",
    targets: Sequence[int | None] | int | None = None,
    layer: str | None = None,
    trunk: TrunkRunner | None = None,
) -> CamResult:
    """CAMs of ``model`` on the normalised batch ``x`` for ``targets`` (class indices; None: the top class).

    ``layer`` names any submodule (default: the model's registered CAM target). ``trunk``, when ready, runs
    the layers up to the registered target in another runtime (``fer.runtime``); torch runs the rest.
    """
    cls = cam_class(method)
    target_layer = get_cam_target_layer(model, layer)
    check_budget()  # a time limit in force (fer.budget) is honoured before each map
    ensure_eval(model)
    if method in FAST_METHODS:
        needs_grad = method not in GRADIENT_FREE
        at_registered = layer is None or layer == model.spec.cam_target_layer
        activation = trunk.run(x) if trunk is not None and at_registered else None
        if activation is not None:
            return _split_cam(trunk.split.tail, x, activation, cls, target_layer, targets, needs_grad)
        return _fast_cam(model, x, cls, target_layer, targets, needs_grad=needs_grad)
    return _library_cam(model, x, cls, layer, targets)


def library_cam(
    model: nn.Module,
    x: torch.Tensor,
    method: str = "gradcam",
    targets: Sequence[int | None] | int | None = None,
    layer: str | None = None,
) -> CamResult:
    """The plain pytorch-grad-cam way, as its README shows it (the reference the fast path is checked against)."""
    get_cam_target_layer(model, layer)  # a wrong layer name fails here, clearly
    model.eval()
    return _library_cam(model, x, cam_class(method), layer, targets)


def ensure_eval(model: nn.Module) -> None:
    """``model.eval()`` only where some module is in training mode.

    ``eval()`` sets the flag on every module through ``nn.Module.__setattr__``: about 2 ms on the bigger
    models, paid on every map; reading the flags costs a tenth of that.
    """
    if any(m.training for m in model.modules()):
        model.eval()


@functools.cache
def _map_maker(cls: type[BaseCAM]) -> BaseCAM:
    """One instance per method, for its ``get_cam_image`` alone: a pure function of activations and gradients.

    The library's constructor puts its model in eval mode and wraps it for hooks; built once on a stand-in
    module (it only reads a parameter's device), the fast path does not pay that on every map.
    """
    return cls(model=nn.Linear(1, 1), target_layers=[])


def _resolve_targets(targets: Targets, logits: torch.Tensor) -> list[int]:
    top = logits.argmax(1).tolist()
    if targets is None or isinstance(targets, int):
        return top if targets is None else [targets] * len(top)
    if len(targets) != len(top):
        raise ValueError(f"{len(targets)} targets for a batch of {len(top)}")
    return [t if t is not None else best for t, best in zip(targets, top)]


def private_view(model: nn.Module) -> nn.Module:
    """A copy of ``model``'s modules that shares its parameters and buffers, without any hooks.

    pytorch-grad-cam hooks the layers it is given and records whatever passes through them, from any
    thread: on the shared model, another user's plain prediction would become this user's map. Its
    hooks go on this view instead, which no other request runs; no weight is copied.
    """
    shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
    with model_lock(model):  # no hook is added or removed while the module dicts are copied
        view = copy.deepcopy(model, shared)
    for module in view.modules():
        for hooks in (module._forward_hooks, module._forward_pre_hooks, module._backward_hooks):
            hooks.clear()
    return view


def _budget_check(module: nn.Module, inputs: tuple) -> None:
    check_budget()  # Score-CAM runs hundreds of forward passes: a time limit must be able to stop it


def _library_cam(model: nn.Module, x: torch.Tensor, cls: type, layer: str | None, targets: Targets) -> CamResult:
    view = private_view(model)
    view.register_forward_pre_hook(_budget_check)
    with torch.no_grad():
        logits = view(x)
    classes = _resolve_targets(targets, logits)
    with cls(model=view, target_layers=[get_cam_target_layer(view, layer)]) as cam:  # the context releases hooks
        maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])
    return CamResult(np.asarray(maps, dtype=np.float32), logits, classes)


class _Capture:
    """Forward hook: keep the target layer's first output as a grad leaf and switch autograd on after it.

    The hook sits on the shared model, so other threads' forward passes run through it too: it acts
    only on the thread that registered it, and passes every other call through untouched.
    """

    def __init__(self, needs_grad: bool) -> None:
        self.needs_grad = needs_grad
        self.owner = threading.get_ident()
        self.activation: torch.Tensor | None = None

    def __call__(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if threading.get_ident() != self.owner:  # another request's forward pass: not ours to record
            return None
        if self.activation is not None:  # a module called twice: the library also uses the first call
            return None
        self.activation = output.detach().requires_grad_(self.needs_grad)
        torch.set_grad_enabled(self.needs_grad)  # the layers after the target build a graph; those before did not
        # A clone goes on, so in-place ops downstream (ReLU(inplace=True), +=) cannot overwrite the saved map.
        return self.activation.clone()


def _fast_cam(
    model: nn.Module,
    x: torch.Tensor,
    cls: type,
    layer: nn.Module,
    targets: Targets,
    needs_grad: bool,
) -> CamResult:
    capture = _Capture(needs_grad)
    with model_lock(model):
        handle = layer.register_forward_hook(capture)
    try:
        with torch.no_grad():  # restored on exit, whatever the hook switched on
            logits = model(x)
            if capture.activation is None:
                raise ValueError(f"the target layer {type(layer).__name__} was not used by the forward pass")
            classes = _resolve_targets(targets, logits)
            activation = capture.activation
            grads = _target_grads(logits, activation, classes) if needs_grad else None
    finally:
        with model_lock(model):
            handle.remove()
    return _cam_images(x, cls, layer, classes, activation, grads, logits)


def _split_cam(
    tail: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    activation: torch.Tensor,
    cls: type,
    layer: nn.Module,
    targets: Targets,
    needs_grad: bool,
) -> CamResult:
    """``_fast_cam`` with the target layer's activation already computed (by another runtime): only the tail runs."""
    activation = activation.detach().requires_grad_(needs_grad)
    with torch.set_grad_enabled(needs_grad):
        logits = tail(activation.clone())  # a clone, as in _Capture: in-place ops downstream keep the leaf intact
    classes = _resolve_targets(targets, logits)
    grads = _target_grads(logits, activation, classes) if needs_grad else None
    return _cam_images(x, cls, layer, classes, activation, grads, logits)


def _target_grads(logits: torch.Tensor, activation: torch.Tensor, classes: list[int]) -> torch.Tensor:
    """The gradient of each row's explained logit (summed: rows are independent) with respect to ``activation``."""
    with torch.enable_grad():
        score = logits[torch.arange(len(classes)), torch.tensor(classes)].sum()
        (grads,) = torch.autograd.grad(score, activation)
    return grads


def _cam_images(
    x: torch.Tensor,
    cls: type,
    layer: nn.Module,
    classes: list[int],
    activation: torch.Tensor,
    grads: torch.Tensor | None,
    logits: torch.Tensor,
) -> CamResult:
    method = _map_maker(cls)
    acts = activation.detach().cpu().numpy()
    grads_np = grads.cpu().numpy() if grads is not None else None
    cam = method.get_cam_image(x, layer, [ClassifierOutputTarget(c) for c in classes], acts, grads_np, False)
    # The library's own post-processing for one target layer: ReLU, scale to the input, then aggregate.
    cam = scale_cam_image(np.maximum(cam, 0), (x.shape[-1], x.shape[-2]))
    cam = scale_cam_image(np.maximum(cam, 0))
    return CamResult(np.asarray(cam, dtype=np.float32), logits.detach(), classes)


def score_cam_passes(model: nn.Module, layer: str | None = None) -> int:
    """How many masked forward passes Score-CAM runs for one face: one per channel of the explained layer.

    Found with one forward pass of a blank input on a hook-free view (the shared model is never hooked).
    """
    view = private_view(model).eval()  # the view's own flag: batch statistics of a blank input would be wrong
    shapes: list[torch.Size] = []
    view.get_submodule(layer or model.spec.cam_target_layer).register_forward_hook(
        lambda module, inputs, output: shapes.append(output.shape) and None
    )
    size = model.spec.input.size
    device = next(model.parameters()).device
    with torch.inference_mode():
        view(torch.zeros(1, model.spec.input.channels, size, size, device=device))
    return int(shapes[0][1])
