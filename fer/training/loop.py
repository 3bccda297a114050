"""The epoch loop: batches from tensors on the device, the recipe's loss/optimiser/scheduler, early stopping,
best-by-validation checkpoints and a resume state written every epoch."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from fer.atomic import atomic_write
from fer.checkpoints import save_checkpoint
from fer.data import FaceSet
from fer.evaluation import predict
from fer.losses import IslandLoss
from fer.preprocess import AUGMENTATIONS, to_model_input
from fer.training.config import TrainConfig
from fer.training.optim import build_optimizer, build_scheduler, class_weights

RESUME_FILE = "resume.pt"
LOG_FILE = "log.jsonl"


def epoch_seed(seed: int, epoch: int) -> int:
    # Every epoch's shuffling, augmentation and dropout depend only on (seed, epoch): a resumed run
    # replays exactly what the uninterrupted run would have done.
    return seed * 1_000_003 + epoch


def fit(
    model: nn.Module,
    config: TrainConfig,
    train: FaceSet,
    val: FaceSet | None,
    out_dir: str | Path,
    *,
    device: torch.device,
    resume: bool = False,
    progress: bool = True,
    checkpoint_meta: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train ``model`` in place; the best-by-validation weights end up in ``out_dir`` as a checkpoint.

    Returns the run's summary: epochs run, best epoch and its validation metrics, the history.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    use_cuda = device.type == "cuda"
    amp_dtype = _amp_dtype(config, device)
    model.to(device)
    if use_cuda:
        model.to(memory_format=torch.channels_last)
    forward_features = torch.compile(model.embed) if config.compile else model.embed

    images = torch.from_numpy(train.images).to(device)  # uint8: FER2013 is 66 MB, it fits anywhere
    labels = torch.from_numpy(train.labels).to(device)
    num_classes = model.head.out_features
    weight = class_weights(labels, num_classes).to(device) if config.class_weighted else None
    island = (
        IslandLoss(num_classes, model.head.in_features, config.island_lambda1).to(device)
        if _uses_island(config)
        else None
    )

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(trainable, config)
    center_optimizer = torch.optim.SGD(island.parameters(), lr=config.center_lr) if island else None
    scheduler = build_scheduler(optimizer, config)
    if val is None and (scheduler or config.early_stop_patience):
        log("note: no validation split: no plateau scheduler, no early stopping; the last epoch is kept")
        scheduler = None
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    state: dict[str, Any] = {"epoch": 0, "best_val_acc": -1.0, "best_epoch": 0, "monitor_best": None, "bad_epochs": 0}
    history: list[dict[str, Any]] = []
    resume_path = out_dir / RESUME_FILE
    if resume and resume_path.exists():
        saved = torch.load(resume_path, map_location=device, weights_only=True)
        if saved["config"]["model"] != config.model:
            raise ValueError(f"{resume_path} is a run of {saved['config']['model']}, not {config.model}")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler and saved["scheduler"]:
            scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        if island:
            island.load_state_dict(saved["island"])
            center_optimizer.load_state_dict(saved["center_optimizer"])
        state, history = saved["state"], saved["history"]
        log(f"resumed {config.model} after epoch {state['epoch']} from {resume_path}")
    elif resume:
        log(f"note: --resume given but {resume_path} does not exist; starting from scratch")

    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        start = time.perf_counter()
        seed = epoch_seed(config.seed, epoch)
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)  # dropout
        model.train()
        order = torch.randperm(len(images), generator=generator)
        if len(order) % config.batch_size == 1:
            order = order[:-1]  # a batch of one breaks BatchNorm
        loss_sum, correct, seen = 0.0, 0, 0
        bar = tqdm(
            total=len(order),
            unit="img",
            desc=f"{config.model} {epoch}/{config.epochs}",
            disable=not progress,
            leave=False,
            mininterval=1.0,
            dynamic_ncols=True,
        )
        for i in range(0, len(order), config.batch_size):
            idx = order[i : i + config.batch_size].to(device)
            faces, y = images[idx], labels[idx]
            for name in config.augmentation:
                faces = AUGMENTATIONS[name](faces, generator)
            x = to_model_input(faces, model.spec.input, config.img_size)
            if use_cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else nullcontext():
                feats = forward_features(x)
                logits = model.head(feats)
            loss = F.cross_entropy(logits.float(), y, weight=weight)
            if island:
                loss = loss + config.island_weight * island(feats.float(), y)
            optimizer.zero_grad(set_to_none=True)
            if center_optimizer:
                center_optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            if center_optimizer:
                scaler.unscale_(center_optimizer)
                for p in island.parameters():  # centers learn at center_lr whatever the Island term's weight
                    p.grad /= config.island_weight
                scaler.step(center_optimizer)
            scaler.update()
            n = len(y)
            loss_sum += loss.item() * n
            correct += (logits.argmax(1) == y).sum().item()
            seen += n
            bar.update(n)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
        bar.close()
        seconds = time.perf_counter() - start
        row: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "train_acc": correct / max(seen, 1),
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": round(seconds, 2),
            "images_per_s": round(seen / seconds, 1),
        }
        if val is not None:
            p = predict(model, val.images, val.labels, img_size=config.img_size, batch_size=config.eval_batch_size)
            row["val_loss"], row["val_acc"] = p.loss, float((p.preds == val.labels).mean())
        improved = val is None or row["val_acc"] > state["best_val_acc"]
        if improved:
            state["best_val_acc"], state["best_epoch"] = row.get("val_acc", -1.0), epoch
            meta = {
                **(checkpoint_meta or {}),
                "recipe": config.to_dict(),
                "epoch": epoch,
                "metrics": {k: row[k] for k in row if k.startswith("val_")} or None,
            }
            save_checkpoint(model, out_dir, **meta)
        stop = False
        if val is not None:
            monitor = row[config.scheduler_monitor] if scheduler else None
            if scheduler:
                scheduler.step(monitor)
            stop = _early_stop(state, row, config)
        row["best_epoch"] = state["best_epoch"]
        history.append(row)
        state["epoch"] = epoch
        _save_resume(resume_path, model, optimizer, scheduler, scaler, island, center_optimizer, state, history, config)
        atomic_write(out_dir / LOG_FILE, lambda tmp: tmp.write_text("".join(json.dumps(r) + "\n" for r in history)))
        log(_epoch_line(config, row))
        if stop:
            log(f"early stop: {config.early_stop_monitor} has not improved for {config.early_stop_patience} epochs")
            break
    return {
        "epochs_run": state["epoch"],
        "best_epoch": state["best_epoch"],
        "best_val_acc": state["best_val_acc"],
        "history": history,
    }


def _uses_island(config: TrainConfig) -> bool:
    return "island" in config.loss


def _amp_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    # AMP on CUDA only: bf16 autocast is several times slower than fp32 on CPUs without AMX.
    if not config.amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _early_stop(state: dict[str, Any], row: dict[str, Any], config: TrainConfig) -> bool:
    if not config.early_stop_patience:
        return False
    value = row[config.early_stop_monitor]
    higher_is_better = config.early_stop_monitor.endswith("acc")
    best = state["monitor_best"]
    if best is None or (value > best if higher_is_better else value < best):
        state["monitor_best"], state["bad_epochs"] = value, 0
    else:
        state["bad_epochs"] += 1
    return state["bad_epochs"] >= config.early_stop_patience


def _save_resume(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    island: IslandLoss | None,
    center_optimizer: torch.optim.Optimizer | None,
    state: dict[str, Any],
    history: list[dict[str, Any]],
    config: TrainConfig,
) -> None:
    # Plain containers of tensors and numbers only, so torch.load(weights_only=True) reads it back.
    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler else None,
        "scaler": scaler.state_dict(),
        "island": island.state_dict() if island else None,
        "center_optimizer": center_optimizer.state_dict() if center_optimizer else None,
        "state": state,
        "history": history,
        "config": json.loads(json.dumps(config.to_dict())),
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def _epoch_line(config: TrainConfig, row: dict[str, Any]) -> str:
    val = f" | val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}" if "val_acc" in row else ""
    return (
        f"{config.model} epoch {row['epoch']}/{config.epochs}: train loss {row['train_loss']:.4f} "
        f"acc {row['train_acc']:.4f}{val} | lr {row['lr']:.2e} | {row['images_per_s']:.0f} img/s "
        f"| {row['seconds']:.0f} s | best epoch {row['best_epoch']}"
    )


def numpy_seed_subset(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Indices of a reproducible random subset of size ``limit`` (all of them when ``limit`` is None)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])
