"""Checkpoints: a directory with ``model.safetensors`` and ``meta.json``, local or on the Hugging Face Hub.

Loading never unpickles arbitrary objects: safetensors holds only tensors, and a legacy
``.pt``/``.pth`` file is accepted only if ``torch.load(weights_only=True)`` can read it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
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
MAX_META_BYTES = 1_000_000  # a real meta.json is about 2 KB
MAX_HEADER_BYTES = 10_000_000  # a safetensors header (the tensor index) of these models is about 60 KB
MAX_CLASSES = 100  # FER label sets have 6-8 classes; a bogus count must not size a huge head
MAX_CLASS_NAME = 40
# user/repo or user/repo/sub/dir, the way Hub ids are written.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(/[\w.-]+)*$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, unsafe or does not fit its model; the message names the file."""


MIN_T, MAX_T = 0.05, 20.0  # temperature scaling: the range training searches and a checkpoint's metadata may hold


def valid_temperature(value: Any) -> bool:
    """Whether ``value`` is a temperature a checkpoint may carry: a finite number in [MIN_T, MAX_T]."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and MIN_T <= value <= MAX_T
    )


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
    meta = read_meta(meta_path) if meta_path else {}
    if model_name and meta.get("model") and meta["model"] != model_name:
        raise CheckpointError(f"{meta_path}: a {meta['model']} checkpoint, not {model_name}")
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
    # Checked before the model is built: a bogus class count would otherwise size the head first.
    if head is not None and (head.ndim != 2 or head.shape[0] != num_classes):
        raise CheckpointError(
            f"{weights}: does not fit {name}: 1 wrong shape "
            f"(head.weight: file {tuple(head.shape)} vs model ({num_classes}, {head.shape[-1]}))"
        )
    if "class_names" in meta and len(meta["class_names"]) != num_classes:
        raise CheckpointError(f"{meta_path}: {len(meta['class_names'])} class names for {num_classes} classes")
    try:
        model = build_model(name, num_classes=num_classes, pretrained=False)
    except Exception as exc:  # a model that cannot be built from this metadata is a bad checkpoint, not a crash
        raise CheckpointError(f"{meta_path or weights}: cannot build {name} ({type(exc).__name__}: {exc})") from exc
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
        weights_file = read_meta(meta).get("weights_file", WEIGHTS_FILE)
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


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's ``meta.json``, size-bounded and schema-checked: every problem is a :class:`CheckpointError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_META_BYTES:
            raise CheckpointError(f"{path}: {size:,} bytes of metadata, more than the limit of {MAX_META_BYTES:,}")
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{path}: unreadable metadata ({type(exc).__name__})") from exc
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata must be a JSON object")
    _check_meta(meta, path)
    return meta


def _check_meta(meta: dict[str, Any], path: Path) -> None:
    """The fields loading relies on have the right types and sane values."""

    def bad(field: str, why: str) -> CheckpointError:
        return CheckpointError(f"{path}: field {field!r} {why}")

    if "model" in meta and not (isinstance(meta["model"], str) and meta["model"].isidentifier()):
        raise bad("model", "must be a model name such as 'resemotenet'")
    if "num_classes" in meta and meta["num_classes"] is not None:
        n = meta["num_classes"]
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_CLASSES:
            raise bad("num_classes", f"must be a whole number from 2 to {MAX_CLASSES}, not {str(n)[:40]!r}")
    if "class_names" in meta:
        names = meta["class_names"]
        if not isinstance(names, list) or not 2 <= len(names) <= MAX_CLASSES:
            raise bad("class_names", f"must be a list of 2 to {MAX_CLASSES} names")
        if not all(isinstance(c, str) and 0 < len(c) <= MAX_CLASS_NAME and c.isprintable() for c in names):
            raise bad("class_names", f"must hold names of 1 to {MAX_CLASS_NAME} printable characters")
        if len(set(names)) != len(names):
            raise bad("class_names", "must not repeat a name")
    for field in ("weights_sha256", "weights_file"):
        if meta.get(field) is not None and not isinstance(meta[field], str):
            raise bad(field, "must be a string")
    if "/" in str(meta.get("weights_file", "")) or "\\" in str(meta.get("weights_file", "")):
        raise bad("weights_file", "must be a file name in the checkpoint folder")
    if meta.get("data") is not None and not isinstance(meta["data"], (str, dict)):
        raise bad("data", "must be a name or an object")
    if meta.get("temperature") is not None:  # written by training: temperature scaling (fer.evaluation.temperature)
        t = meta["temperature"]
        if not isinstance(t, dict) or not valid_temperature(t.get("value")):
            raise bad("temperature", f"must be an object whose 'value' is a number from {MIN_T} to {MAX_T}")


def inspect_checkpoint(directory: str | os.PathLike, model_name: str | None = None) -> str | None:
    """Why the checkpoint in ``directory`` cannot be used, from its metadata and weights header; None if it can.

    Reads no tensor: cheap enough for a status line, and enough to tell a real checkpoint from a
    stray file (a symlink to a text file, a truncated download). With ``model_name``, another model's
    checkpoint is refused too, as :func:`load_checkpoint` refuses it.
    """
    directory = Path(directory)
    try:
        meta = read_meta(directory / META_FILE)
        if model_name and meta.get("model") and meta["model"] != model_name:
            raise CheckpointError(f"{directory / META_FILE}: a {meta['model']} checkpoint, not {model_name}")
        weights = directory / WEIGHTS_FILE
        with open(weights, "rb") as f:
            raw = f.read(8)
            length = int.from_bytes(raw, "little") if len(raw) == 8 else -1
            if not 2 <= length <= min(MAX_HEADER_BYTES, weights.stat().st_size - 8):
                return f"{WEIGHTS_FILE} is not a safetensors file"
            header = json.loads(f.read(length))
        if not isinstance(header, dict) or "head.weight" not in header:
            return f"{WEIGHTS_FILE} holds no model head"
    except CheckpointError as exc:
        return str(exc).split(": ", 1)[-1]
    except (OSError, ValueError, RecursionError) as exc:
        return f"{WEIGHTS_FILE} is unreadable ({type(exc).__name__})"
    return None


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
