"""Checkpoints: a directory with ``model.safetensors`` and ``meta.json``, local or on the Hugging Face Hub.

Loading never unpickles arbitrary objects: safetensors holds only tensors, and a legacy
``.pt``/``.pth`` file is accepted only if ``torch.load(weights_only=True)`` can read it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import socket
import subprocess
import urllib.parse
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from fer.atomic import atomic_write
from fer.labels import default_class_names
from fer.registry import build_model, get_spec

WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
FORMAT = "fer-checkpoint/1"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
# user/repo or user/repo/sub/dir, the way Hub ids are written.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(/[\w.-]+)*$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, unsafe or does not fit its model; the message names the file."""


def save_checkpoint(model: nn.Module, directory: str | os.PathLike, /, **meta: Any) -> Path:
    """Write ``model.safetensors`` and ``meta.json`` into ``directory`` (created if needed), atomically.

    ``meta`` adds to or overrides the recorded fields: typically ``data``, ``metrics``,
    ``recipe`` (the recipe actually used), ``class_names``, ``epoch``.
    """
    spec = model.spec
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights = directory / WEIGHTS_FILE
    atomic_write(weights, lambda tmp: save_file(tensors, tmp, metadata={"format": "pt", "model": spec.name}))
    num_classes = model.head.out_features
    record: dict[str, Any] = {
        "format": FORMAT,
        "model": spec.name,
        "num_classes": num_classes,
        "class_names": list(default_class_names(num_classes)),
        "input": asdict(spec.input),
        "recipe": asdict(spec.recipe),
        "data": None,
        "metrics": None,
        "code_version": code_version(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": _sha256(weights),
    }
    record.update(meta)
    if len(record["class_names"]) != num_classes:
        raise ValueError(f"{len(record['class_names'])} class names for a {num_classes}-way head")
    text = json.dumps(record, indent=2, default=_json_default)
    atomic_write(directory / META_FILE, lambda tmp: tmp.write_text(text + "\n"))
    return directory


def load_checkpoint(
    source: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    model_name: str | None = None,
    verify: bool = True,
) -> tuple[nn.Module, dict[str, Any]]:
    """Load a checkpoint; returns ``(model in eval mode, metadata)``.

    ``source`` is a checkpoint directory, a ``.safetensors`` file (``meta.json`` beside it), a
    weights-only ``.pt``/``.pth`` file (``model_name`` needed when no ``meta.json`` is beside
    it), or a Hub id ``user/repo`` or ``user/repo/subdir``. ``verify`` checks the recorded
    SHA-256 of the weights file, so a flipped byte is caught, not just a truncated file.
    """
    weights, meta_path = _resolve(source)
    meta = _read_meta(meta_path) if meta_path else {}
    name = model_name or meta.get("model")
    if not name:
        raise CheckpointError(f"{weights}: no {META_FILE} beside it says which model it is; pass model_name=")
    if weights.suffix in PICKLE_SUFFIXES:
        state = _load_weights_only_pickle(weights)
    else:
        if verify and meta.get("weights_sha256") and _sha256(weights) != meta["weights_sha256"]:
            raise CheckpointError(
                f"{weights}: SHA-256 differs from the one in {meta_path}: the file is corrupt or was changed"
            )
        try:
            state = load_file(weights, device="cpu")
        except Exception as exc:  # SafetensorsError, OSError: a truncated or non-safetensors file
            raise CheckpointError(f"{weights}: not a readable safetensors file ({exc})") from exc
    head = state.get("head.weight")
    num_classes = int(meta.get("num_classes") or (head.shape[0] if head is not None else 7))
    try:
        get_spec(name)
    except KeyError as exc:
        raise CheckpointError(f"{meta_path or weights}: {exc.args[0]}") from None
    model = build_model(name, num_classes=num_classes, pretrained=False)
    _check_fits(model, state, weights)
    model.load_state_dict(state)
    meta.setdefault("model", name)
    meta.setdefault("num_classes", num_classes)
    meta.setdefault("class_names", list(default_class_names(num_classes)))
    meta["source"] = str(source)
    return model.to(device).eval(), meta


def code_version() -> dict[str, str | None]:
    """The package version, the git commit when run from a checkout, and the torch version."""
    from fer import __version__

    commit = None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
        commit = out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"fer": __version__, "git": commit, "torch": torch.__version__}


def _resolve(source: str | os.PathLike) -> tuple[Path, Path | None]:
    path = Path(source).expanduser()
    if path.is_dir():
        weights = path / WEIGHTS_FILE
        if not weights.exists():
            raise CheckpointError(f"{path}: no {WEIGHTS_FILE} in this directory")
        meta = path / META_FILE
        return weights, meta if meta.exists() else None
    if path.is_file():
        meta = path.with_name(META_FILE)
        return path, meta if meta.exists() else None
    if _HUB_ID.match(str(source)):
        return _download_from_hub(str(source))
    raise CheckpointError(f"{source}: no such file or directory, and not a Hub id (user/repo or user/repo/subdir)")


def _download_from_hub(hub_id: str) -> tuple[Path, Path]:
    from huggingface_hub import hf_hub_download

    user, repo, *sub = hub_id.split("/")
    subfolder = "/".join(sub) or None
    # huggingface_hub retries an unreachable host for ~25 s; when it is unreachable, use the cache alone.
    cache_only = not hub_reachable()
    try:
        meta = Path(hf_hub_download(f"{user}/{repo}", META_FILE, subfolder=subfolder, local_files_only=cache_only))
        weights_file = _read_meta(meta).get("weights_file", WEIGHTS_FILE)
        weights = Path(
            hf_hub_download(f"{user}/{repo}", weights_file, subfolder=subfolder, local_files_only=cache_only)
        )
    except CheckpointError:
        raise
    except Exception as exc:  # offline, unknown repo, missing file, timeouts
        why = "the Hub is unreachable and it is not in the local cache" if cache_only else type(exc).__name__
        raise CheckpointError(
            f"{hub_id}: not a local path, and fetching it from the Hugging Face Hub failed ({why}: {exc})."
        ) from exc
    return weights, meta


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub endpoint answers a TCP connection; False at once when offline mode is set."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urllib.parse.urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable metadata ({exc})") from exc
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata must be a JSON object")
    return meta


def _load_weights_only_pickle(path: Path) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: refused. It is a pickle that does not load with torch.load(weights_only=True), "
            f"so loading it could run arbitrary code ({type(exc).__name__}). Convert it to safetensors "
            "where you trust its origin."
        ) from exc
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: holds no state dict of tensors")
    return obj


def _check_fits(model: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    own = model.state_dict()
    missing = sorted(own.keys() - state.keys())
    unexpected = sorted(state.keys() - own.keys())
    wrong = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own.keys() & state.keys()
        if own[k].shape != state[k].shape
    ]
    if missing or unexpected or wrong:
        problems = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", sorted(wrong))):
            if items:
                problems.append(f"{len(items)} {label} (e.g. {', '.join(items[:3])})")
        raise CheckpointError(f"{path}: does not fit {model.spec.name}: " + "; ".join(problems))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
