"""ImageNet weights through torchvision, with a clear failure instead of a hang when they cannot be had."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
from torch.hub import get_dir
from torchvision.models import get_weight

# Offline machines must not wait on a connection that will never come.
DOWNLOAD_TIMEOUT_S = float(os.environ.get("FER_DOWNLOAD_TIMEOUT", "20"))


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet weights were asked for but are neither cached nor downloadable."""


def cached_weights_path(weights_name: str) -> Path:
    """Where torchvision keeps (or would keep) the file for e.g. ``"ResNet34_Weights.IMAGENET1K_V1"``."""
    weights = get_weight(weights_name)
    return Path(get_dir()) / "checkpoints" / os.path.basename(weights.url)


def load_imagenet_state_dict(weights_name: str) -> dict[str, torch.Tensor]:
    """The state dict of torchvision's ``weights_name``: from the torch hub cache, else downloaded.

    Raises :class:`PretrainedWeightsUnavailable` naming the file to provide when it is not
    cached and cannot be downloaded (``FER_OFFLINE=1`` skips the attempt).
    """
    weights = get_weight(weights_name)
    path = cached_weights_path(weights_name)
    offline = os.environ.get("FER_OFFLINE", "") not in ("", "0") or os.environ.get("HF_HUB_OFFLINE", "") not in (
        "",
        "0",
    )
    if not path.exists() and offline:
        raise PretrainedWeightsUnavailable(
            _missing_message(weights_name, path, "offline mode (FER_OFFLINE/HF_HUB_OFFLINE)")
        )
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        # weights_only loading: torchvision's files are plain state dicts, nothing is unpickled.
        return weights.get_state_dict(progress=True, check_hash=False, weights_only=True)
    except Exception as exc:  # URLError, timeouts, HTTP errors, a corrupt cached file
        raise PretrainedWeightsUnavailable(
            _missing_message(weights_name, path, f"{type(exc).__name__}: {exc}")
        ) from exc
    finally:
        socket.setdefaulttimeout(previous)


def _missing_message(weights_name: str, path: Path, reason: str) -> str:
    url = get_weight(weights_name).url
    return (
        f"ImageNet weights {weights_name} are not available ({reason}). "
        f"Put the file from {url} at {path} (or set TORCH_HOME), "
        "or build the model with pretrained=False to train from scratch."
    )
