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
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from fer.atomic import atomic_write
from fer.checkpoints import META_FILE, save_checkpoint
from fer.data import FaceSet
from fer.evaluation import predict
from fer.losses import IslandLoss
from fer.preprocess import AUGMENTATIONS, to_model_input
from fer.training.config import TrainConfig
from fer.training.distributed import Distributed
from fer.training.optim import build_optimizer, build_scheduler, class_weights

RESUME_FILE = "resume.pt"
LOG_FILE = "log.jsonl"


def epoch_seed(seed: int, epoch: int) -> int:
    # Every epoch's shuffling, augmentation and dropout depend only on (seed, epoch): a resumed run
    # replays exactly what the uninterrupted run would have done.
    return seed * 1_000_003 + epoch


class _FeaturesAndLogits(nn.Module):
    # DistributedDataParallel synchronises gradients only for what runs through its forward(): one
    # module that returns both the features (Island loss) and the logits.
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.model.embed(x)
        return features, self.model.head(features)


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
    dist: Distributed | None = None,
    progress_every: int = 50,
) -> dict[str, Any]:
    """Train ``model`` in place; the best-by-validation weights end up in ``out_dir`` as a checkpoint.

    Under torchrun (``dist``) every rank draws the same permutation and augmentation of each global
    batch of ``config.batch_size`` and trains on its own slice of it; gradients are averaged by
    DistributedDataParallel and scaled so that they equal the single-process gradient of the global
    batch. Validation metrics are summed over ranks; only rank 0 writes files.

    ``config.time_budget_minutes`` stops training mid-epoch when the budget is spent: the partial
    epoch is validated (and kept if it is the best), logged with its fraction, and ``resume.pt``
    stays at the last whole epoch so ``--resume`` replays the recipe exactly.

    Returns the run's summary: epochs run (fractional when budget-limited), best epoch and its
    validation metrics, why it stopped, the history.
    """
    dist = dist or Distributed()
    out_dir = Path(out_dir)
    if dist.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    use_cuda = device.type == "cuda"
    amp_dtype = _amp_dtype(config, device)
    model.to(device)
    if dist.enabled and use_cuda and config.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if use_cuda:
        model.to(memory_format=torch.channels_last)
    net: nn.Module = _FeaturesAndLogits(model)
    if dist.enabled:
        net = DistributedDataParallel(net, device_ids=[device.index] if use_cuda else None)
    if config.compile:
        net = torch.compile(net)

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
        # A budget-limited run may have kept a partial epoch that beat every whole one: keep it unless beaten.
        state["best_val_acc"] = max(state["best_val_acc"], _checkpoint_val_acc(out_dir))
        log(f"resumed {config.model} after epoch {state['epoch']} from {resume_path}")
    elif resume:
        log(f"note: --resume given but {resume_path} does not exist; starting from scratch")

    budget_s = config.time_budget_minutes * 60 if config.time_budget_minutes else None
    # Under torchrun the ranks must agree on when to stop: they compare clocks every few steps.
    budget_check_every = 20 if dist.enabled else 1
    run_start = time.monotonic()
    stop_reason = "completed"
    epochs_done = float(state["epoch"])

    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        if budget_s is not None and dist.any(time.monotonic() - run_start >= budget_s, device):
            stop_reason = "time_budget"
            break
        start = time.perf_counter()
        seed = epoch_seed(config.seed, epoch)
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed + 7919 * dist.rank)  # dropout: each rank's slice gets its own masks
        net.train()
        order = torch.randperm(len(images), generator=generator)
        if len(order) % config.batch_size == 1:
            order = order[:-1]  # a batch of one breaks BatchNorm
        order = order.to(device)
        # Running sums stay on the device and are read once per epoch (and every progress_every steps
        # for the progress bar): no host synchronisation per step.
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        seen = 0
        budget_hit = False
        show_progress = progress and dist.is_main
        bar = tqdm(
            total=len(order),
            unit="img",
            desc=f"{config.model} {epoch}/{config.epochs}",
            disable=not show_progress,
            leave=False,
            mininterval=1.0,
            dynamic_ncols=True,
        )
        for step, i in enumerate(range(0, len(order), config.batch_size)):
            if budget_s is not None and step % budget_check_every == 0 and step > 0:
                if dist.any(time.monotonic() - run_start >= budget_s, device):
                    budget_hit = True
                    break
            idx = order[i : i + config.batch_size]
            faces, y_global = images[idx], labels[idx]
            for name in config.augmentation:  # the same draws on every rank: then each takes its slice
                faces = AUGMENTATIONS[name](faces, generator)
            faces, y = dist.shard(faces), dist.shard(y_global)
            x = to_model_input(faces, model.spec.input, config.img_size)
            if use_cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else nullcontext():
                feats, logits = net(x)
            # Sum over this rank's slice, divided by the global batch's normaliser and multiplied by the
            # world size (DDP averages over ranks): the gradient equals the single-process one.
            per_sample = F.cross_entropy(logits.float(), y, weight=weight, reduction="none")
            denominator = weight[y_global].sum() if weight is not None else len(y_global)
            loss = per_sample.sum() * dist.world_size / denominator
            if island:
                loss = loss + config.island_weight * island(feats.float(), y)
            optimizer.zero_grad(set_to_none=True)
            if center_optimizer:
                center_optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if island and dist.enabled:
                for p in island.parameters():  # the centers live outside DDP: average their gradients
                    dist.all_reduce_sum(p.grad)
                    p.grad /= dist.world_size
            scaler.step(optimizer)
            if center_optimizer:
                scaler.unscale_(center_optimizer)
                for p in island.parameters():  # centers learn at center_lr whatever the Island term's weight
                    p.grad /= config.island_weight
                scaler.step(center_optimizer)
            scaler.update()
            n = len(y_global)
            loss_sum += loss.detach().double() * n / dist.world_size
            correct += (logits.argmax(1) == y).sum()
            seen += n
            bar.update(n)
            if show_progress and (step + 1) % progress_every == 0:
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{correct.item() / seen:.3f}", refresh=False)
        bar.close()
        dist.all_reduce_sum(loss_sum)
        dist.all_reduce_sum(correct)
        seconds = time.perf_counter() - start
        row: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": loss_sum.item() / max(seen, 1),
            "train_acc": correct.item() / max(seen, 1),
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": round(seconds, 2),
            "images_per_s": round(seen / max(seconds, 1e-9), 1),
        }
        if budget_hit:
            row["epoch_fraction"] = round(seen / len(order), 4)
            row["budget_stop"] = True
        if val is not None:
            dist.broadcast_buffers(model)
            row["val_loss"], row["val_acc"] = _validate(model, val, config, dist, device)
        improved = val is None or row["val_acc"] > state["best_val_acc"]
        if improved:
            state["best_val_acc"], state["best_epoch"] = row.get("val_acc", -1.0), epoch
            meta = {
                **(checkpoint_meta or {}),
                "recipe": config.to_dict(),
                "epoch": epoch,
                "metrics": {k: row[k] for k in row if k.startswith("val_")} or None,
            }
            if dist.is_main:
                save_checkpoint(model, out_dir, **meta)
        if budget_hit:
            # resume.pt stays at the last whole epoch: --resume replays the recipe from there exactly.
            epochs_done = epoch - 1 + row["epoch_fraction"]
            row["best_epoch"] = state["best_epoch"]
            stop_reason = "time_budget"
            if dist.is_main:
                _write_log(out_dir, [*history, row])
            log(_epoch_line(config, row) + f" | time budget reached after {row['epoch_fraction']:.0%} of the epoch")
            break
        stop = False
        if val is not None:
            monitor = row[config.scheduler_monitor] if scheduler else None
            if scheduler:
                scheduler.step(monitor)
            stop = _early_stop(state, row, config)
        row["best_epoch"] = state["best_epoch"]
        history.append(row)
        state["epoch"] = epoch
        epochs_done = float(epoch)
        if dist.is_main:
            _save_resume(
                resume_path, model, optimizer, scheduler, scaler, island, center_optimizer, state, history, config
            )
            _write_log(out_dir, history)
        log(_epoch_line(config, row))
        if stop:
            log(f"early stop: {config.early_stop_monitor} has not improved for {config.early_stop_patience} epochs")
            stop_reason = "early_stop"
            break
    if stop_reason == "time_budget" and epochs_done == state["epoch"] and history and dist.is_main:
        # The budget ran out between two epochs: the log says so on the last whole epoch.
        _write_log(out_dir, [*history[:-1], {**history[-1], "budget_stop": True}])
        log(f"time budget of {config.time_budget_minutes} min reached after epoch {state['epoch']}")
    dist.barrier()  # rank 0's last checkpoint is on disk before anyone reads it
    return {
        "model": config.model,
        "epochs_run": state["epoch"],
        "epochs_completed": round(epochs_done, 4),
        "recipe_epochs": config.epochs,
        "stop_reason": stop_reason,
        "budget_limited": stop_reason == "time_budget",
        "time_budget_minutes": config.time_budget_minutes,
        "train_minutes": round((time.monotonic() - run_start) / 60, 3),
        "best_epoch": state["best_epoch"],
        "best_val_acc": state["best_val_acc"],
        "history": history,
    }


def _validate(
    model: nn.Module, val: FaceSet, config: TrainConfig, dist: Distributed, device: torch.device
) -> tuple[float, float]:
    """Validation loss and accuracy; each rank predicts its slice and the sums are all-reduced."""
    index = dist.shard(torch.arange(len(val)))
    images, labels = val.images[index.numpy()], val.labels[index.numpy()]
    p = predict(model, images, labels, img_size=config.img_size, batch_size=config.eval_batch_size)
    sums = torch.tensor(
        [(p.loss or 0.0) * len(labels), float((p.preds == labels).sum())], device=device, dtype=torch.float64
    )
    dist.all_reduce_sum(sums)
    return sums[0].item() / len(val), sums[1].item() / len(val)


def _checkpoint_val_acc(out_dir: Path) -> float:
    try:
        meta = json.loads((out_dir / META_FILE).read_text())
        return float((meta.get("metrics") or {}).get("val_acc", -1.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return -1.0


def _write_log(out_dir: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write(out_dir / LOG_FILE, lambda tmp: tmp.write_text("".join(json.dumps(r) + "\n" for r in rows)))


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
