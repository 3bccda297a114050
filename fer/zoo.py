"""Where the app and ``fer.analyze`` find trained checkpoints: ``./checkpoints`` or ``FER_CHECKPOINTS``.

A checkpoint root is a directory holding one checkpoint directory per model
(``<root>/<model id>/{model.safetensors, meta.json}``, what ``train.py`` writes), or a Hub id
whose repo has the same layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fer.checkpoints import META_FILE, WEIGHTS_FILE

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
