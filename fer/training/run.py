"""One training run end to end: data, leakage audit, model, the loop, then the evaluation artifact."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from fer.checkpoints import load_checkpoint, save_checkpoint
from fer.data import DataBundle, audit_duplicates, drop_train_duplicates
from fer.evaluation.evaluate import evaluate_to_artifact, fit_temperature_on
from fer.registry import build_model, get_spec
from fer.training.config import TrainConfig
from fer.training.distributed import Distributed
from fer.training.loop import fit, numpy_seed_subset


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_model(
    config: TrainConfig,
    data: DataBundle,
    out_dir: str | os.PathLike,
    *,
    device: torch.device | None = None,
    resume: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
    dist: Distributed | None = None,
) -> dict[str, Any]:
    """Train ``config.model`` on ``data`` into ``out_dir``; returns the test metrics and the run summary.

    ``out_dir`` ends up holding the best checkpoint (``model.safetensors``, ``meta.json``), the
    evaluation artifact (``metrics.json``, ``predictions.npz``), ``log.jsonl`` and ``resume.pt``.
    Under torchrun (``dist``) every rank trains and rank 0 alone logs, evaluates and writes; the other
    ranks return ``{"metrics": None, ...}``.
    """
    dist = dist or Distributed()
    if not dist.is_main:
        log = _quiet
    device = device or default_device()
    torch.manual_seed(config.seed)
    if "train" not in data:
        raise ValueError(f"{data.source}: no train split to train on (found: {', '.join(data.splits)})")
    audit = audit_duplicates(data)
    log(f"leakage audit: {audit.summary()}")
    dropped = 0
    if config.drop_duplicates:
        data, dropped = drop_train_duplicates(data)
        log(f"dropped {dropped} train images that duplicate val/test images")
    train = data["train"]
    train = train.subset(
        numpy_seed_subset(len(train), config.limit_train, config.seed),
        f"limited to {config.limit_train} images (seed {config.seed})" if config.limit_train else None,
    )
    val = data.get("val")
    if val is not None and config.limit_val:
        val = val.subset(numpy_seed_subset(len(val), config.limit_val, config.seed), f"limited to {config.limit_val}")
    log(
        f"training {config.model} on {len(train)} images"
        + (f", validating on {len(val)}" if val is not None else "")
        + f", device {device}"
    )
    data_info = {
        "name": train.name,
        "format": data.format,
        "source": data.source,
        "splits": {name: len(split) for name, split in data.splits.items()},
        "train_images": len(train),
        "duplicates_dropped": dropped,
        "duplicates": audit.summary(),
    }
    model = build_model(config.model, num_classes=len(train.class_names), pretrained=config.pretrained)
    meta = {"data": data_info, "class_names": list(train.class_names)}
    summary = fit(
        model,
        config,
        train,
        val,
        out_dir,
        device=device,
        resume=resume,
        progress=progress,
        checkpoint_meta=meta,
        log=log,
        dist=dist,
    )
    if not dist.is_main:
        return {"metrics": None, **summary, "out_dir": str(Path(out_dir))}

    best, best_meta = load_checkpoint(out_dir, device=device)
    if val is not None and len(val):
        # Temperature scaling on the validation split (never the test split): the app divides logits by it.
        best_meta["temperature"] = fit_temperature_on(
            best, val, class_names=train.class_names, img_size=config.img_size,
            batch_size=config.eval_batch_size, device=device,
        )  # fmt: skip
        t = best_meta["temperature"]
        ece = f"ECE {t['ece_before']:.4f} -> {t['ece_after']:.4f}"
        log(f"temperature scaling on {t['fitted_on']}: T={t['value']:.3f}, {ece}")
    test = data.eval_split()
    metrics = evaluate_to_artifact(
        best,
        test,
        out_dir,
        class_names=train.class_names,
        img_size=config.img_size,
        batch_size=config.eval_batch_size,
        device=device,
        info={"checkpoint": str(out_dir), "epoch": best_meta.get("epoch"), "duplicates_dropped": dropped},
        temperature=best_meta.get("temperature"),
    )
    log(
        f"{config.model}: {test.name} {test.split} accuracy {metrics['accuracy']:.4f}, macro-F1 "
        f"{metrics['macro_f1']:.4f} on {metrics['n_samples']} images (best epoch {best_meta.get('epoch')})"
    )
    # Record the test result in the checkpoint's metadata too; the weights are the best epoch's.
    best_meta["metrics"] = {
        **(best_meta.get("metrics") or {}),
        f"{test.split}_accuracy": metrics["accuracy"],
        f"{test.split}_macro_f1": metrics["macro_f1"],
    }
    best_meta["training"] = run_record(summary, device, dist)
    keep = {k: v for k, v in best_meta.items() if k not in ("source", "weights_sha256", "created", "code_version")}
    save_checkpoint(best, out_dir, **keep)
    return {"metrics": metrics, **summary, "out_dir": str(Path(out_dir))}


def run_record(summary: dict[str, Any], device: torch.device, dist: Distributed) -> dict[str, Any]:
    """How the run went, for ``meta.json``: budget, epochs of the recipe completed, why it stopped, where."""
    return {
        "stop_reason": summary["stop_reason"],
        "budget_limited": summary["budget_limited"],
        "time_budget_minutes": summary["time_budget_minutes"],
        "epochs_completed": summary["epochs_completed"],
        "recipe_epochs": summary["recipe_epochs"],  # what this run was asked for
        "paper_epochs": get_spec(summary["model"]).recipe.epochs,
        "train_minutes": summary["train_minutes"],
        "best_epoch": summary["best_epoch"],
        "device": device_name(device),
        "processes": dist.world_size,
        "torch": torch.__version__,
    }


def device_name(device: torch.device) -> str:
    """``"cpu"`` or the GPU's name, e.g. ``"NVIDIA H100 80GB HBM3"``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def _quiet(message: str) -> None:
    pass
