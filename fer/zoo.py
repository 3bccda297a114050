"""Where the app and ``fer.analyze`` find trained checkpoints: ``./checkpoints`` or ``FER_CHECKPOINTS``.

A checkpoint root is a directory holding one checkpoint directory per model
(``<root>/<model id>/{model.safetensors, meta.json}``, what ``train.py`` writes), or a Hub id
whose repo has the same layout.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fer.checkpoints import META_FILE, WEIGHTS_FILE, CheckpointError, load_checkpoint
from fer.fold_batchnorm import fold_batchnorm
from fer.labels import default_class_names
from fer.registry import build_model, get_spec
from fer.runtime.trunk import TrunkRunner, trunk_runner

DEFAULT_ROOT = "checkpoints"


@dataclass(frozen=True)
class CheckpointLocation:
    """Where one model's checkpoint is expected, and whether it is there (``None``: unknown until loaded)."""

    model: str
    source: str
    found: bool | None


def checkpoint_root(root: str | os.PathLike | None = None) -> str:
    """The explicit root, else ``FER_CHECKPOINTS``, else ``./checkpoints``."""
    return str(root or os.environ.get("FER_CHECKPOINTS") or DEFAULT_ROOT)


def locate(model: str, root: str | os.PathLike | None = None) -> CheckpointLocation:
    """Where ``model``'s checkpoint is under ``root``; a local root is checked, a Hub root only when loaded."""
    base = checkpoint_root(root)
    local = Path(base).expanduser()
    if local.exists() or not _looks_like_hub_id(base):
        directory = local / model
        found = (directory / WEIGHTS_FILE).is_file() and (directory / META_FILE).is_file()
        return CheckpointLocation(model, str(directory), found)
    return CheckpointLocation(model, f"{base.rstrip('/')}/{model}", None)


def _looks_like_hub_id(text: str) -> bool:
    from fer.checkpoints import _HUB_ID

    return bool(_HUB_ID.match(text)) and not text.startswith((".", "/", "~"))


@dataclass
class LoadedModel:
    """A model ready for inference, with where it came from."""

    model: nn.Module
    meta: dict[str, Any]
    trained: bool
    class_names: tuple[str, ...]
    note: str  # "trained on FER2013 (checkpoints/resemotenet)" or why the weights are untrained
    # The layers up to the CAM layer in another runtime, built in the background (fer.runtime); None: torch.
    trunk: TrunkRunner | None = None

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The model's logits for ``x`` without autograd, through ``trunk`` once it is ready."""
        out = self.trunk.logits(x) if self.trunk is not None else None
        if out is None:
            with torch.inference_mode():
                out = self.model(x)
        return out

    @property
    def temperature(self) -> float | None:
        """The checkpoint's temperature scaling (``meta.json``, checked by ``load_checkpoint``), or None."""
        return _temperature(self.meta)

    def probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities from this model's logits: ``softmax(logits / T)`` with the checkpoint's T, if any."""
        return (logits.float() / (self.temperature or 1.0)).softmax(1)


def _temperature(meta: dict[str, Any]) -> float | None:
    scaling = meta.get("temperature")  # checked by load_checkpoint: None or {"value": T, ...}
    return float(scaling["value"]) if scaling else None


class ModelZoo:
    """Loads each model once, lazily, and keeps it: the checkpoint when there is one, else untrained weights.

    Thread-safe: concurrent first requests for a model load it once. A missing or unreadable
    checkpoint never raises; the model runs untrained and ``note`` says why.
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        trunk_runtime: str | None = None,
    ) -> None:
        self.root = checkpoint_root(root)
        self.device = torch.device(device)
        # Who runs each model's trunk on the CPU: "auto", "off", "openvino", "onnxruntime"; None: FER_TRUNK_RUNTIME.
        self.trunk_runtime = trunk_runtime
        self._models: dict[str, LoadedModel] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, name: str) -> LoadedModel:
        get_spec(name)  # unknown names fail here, clearly
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._models:
                self._models[name] = self._load(name)
            return self._models[name]

    def loaded(self) -> list[str]:
        return list(self._models)

    def _load(self, name: str) -> LoadedModel:
        where = locate(name, self.root)
        note = f"untrained weights: no checkpoint at {where.source}"
        if where.found is not False:
            try:
                # model_name: a checkpoint of another model in this model's folder is refused, not served.
                model, meta = load_checkpoint(where.source, device=self.device, model_name=name)
                data = meta.get("data")
                name_of_data = data.get("name") if isinstance(data, dict) else data
                trained_on = f" on {name_of_data}" if name_of_data else ""
                t = _temperature(meta)
                calibrated = f", calibrated T={t:.2f}" if t is not None else ""
                model = _for_inference(model)
                note = f"trained{trained_on} ({where.source}){calibrated}"
                return LoadedModel(model, meta, True, tuple(meta["class_names"]), note, trunk=self._trunk(model))
            except CheckpointError as exc:
                note = f"untrained weights: {exc}"
                warnings.warn(note, stacklevel=2)
        # Untrained weights from a fixed seed, so every request (and every user) sees the same model.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = build_model(name)
        model = _for_inference(model.to(self.device))
        return LoadedModel(
            model,
            {"model": name},
            False,
            default_class_names(model.head.out_features),
            note,
            trunk=self._trunk(model),
        )

    def _trunk(self, model: nn.Module) -> TrunkRunner | None:
        return trunk_runner(model, setting=self.trunk_runtime) if self.device.type == "cpu" else None


def _for_inference(model: nn.Module) -> nn.Module:
    # channels_last is the fastest fp32 layout for these convnets on CPU (FIELD-NOTES); eval() fixes BN/dropout.
    # The zoo's copy is inference-only, so BatchNorm folds into the convolutions (bench/trunk_options.py).
    model.eval()
    size = model.spec.input.size
    fold_batchnorm(model, torch.zeros(1, model.spec.input.channels, size, size, device=next(model.parameters()).device))
    return model.to(memory_format=torch.channels_last)
