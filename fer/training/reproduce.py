"""Reproduce the papers with one command: ``python -m fer reproduce --data DIR --out DIR``.

Each model trains with its paper's recipe (optionally within a time budget), is evaluated on the
official test split when the data has one (else the validation split, and the results say so), and
``results.md`` + ``results.json`` put the paper's reported accuracy beside ours.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from fer.atomic import atomic_write
from fer.data import DataBundle, load_dataset, make_synthetic_faces
from fer.registry import get_spec, list_models
from fer.training.config import config_from_recipe
from fer.training.distributed import Distributed
from fer.training.run import device_name, train_model

RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"

# --quick: every model end to end in seconds on CPU; inputs as small as each architecture allows.
QUICK_IMG_SIZE = {"convcut": 64, "psa_resnet50": 32, "resemotenet": 32, "unet_eca_resnet34": 32}


def quick_data(seed: int = 0) -> DataBundle:
    """Tiny generated train/val/test splits (48x48 synthetic faces) for ``--quick``."""
    splits = {
        "train": make_synthetic_faces(48, size=48, seed=seed + 1, split="train"),
        "val": make_synthetic_faces(16, size=48, seed=seed + 2, split="val"),
        "test": make_synthetic_faces(16, size=48, seed=seed + 3, split="test"),
    }
    return DataBundle(splits=splits, format="synthetic", source="generated (--quick)")


def paper_accuracy(model: str, dataset: str) -> float | None:
    """The accuracy (%) the paper reports on ``dataset`` (matched ignoring case and punctuation), if any."""

    def key(s: str) -> str:
        return "".join(c for c in s.lower() if c.isalnum())

    return next((v for k, v in get_spec(model).reported.items() if key(k) == key(dataset)), None)


def reproduce(
    out: str | os.PathLike,
    *,
    data: str | os.PathLike | None = None,
    ferplus: str | None = None,
    models: Sequence[str] | None = None,
    time_budget_per_model: float | None = None,
    quick: bool = False,
    seed: int = 0,
    device: torch.device | None = None,
    dist: Distributed | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train and evaluate each model into ``out/<model>/``; write and return the results table."""
    dist = dist or Distributed()
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    models = list(models or list_models())
    unknown = sorted(set(models) - set(list_models()))
    if unknown:
        raise ValueError(f"unknown models: {', '.join(unknown)} (known: {', '.join(list_models())})")
    if data is None and not quick:
        raise ValueError("--data is required (or --quick, which generates tiny data)")
    bundle = quick_data(seed) if data is None else load_dataset(data, ferplus=ferplus, seed=seed)
    log(bundle.summary())
    out = Path(out)
    rows: dict[str, Any] = {}
    for name in models:
        extra: dict[str, Any] = dict(overrides or {})
        if quick:
            extra = {"epochs": 1, "batch_size": 16, "img_size": QUICK_IMG_SIZE.get(name, 32), **extra}
            if data is not None:
                extra.setdefault("limit_train", 64)
                extra.setdefault("limit_val", 32)
        config = config_from_recipe(name, seed=seed, time_budget_minutes=time_budget_per_model, **extra)
        log(
            f"== {name}: {config.optimizer} lr {config.lr}, batch {config.batch_size}, {config.epochs} epochs"
            + (f", budget {time_budget_per_model} min" if time_budget_per_model else "")
        )
        start = time.monotonic()
        result = train_model(config, bundle, out / name, device=device, progress=progress, log=log, dist=dist)
        minutes = (time.monotonic() - start) / 60
        if not dist.is_main:
            continue
        metrics = result["metrics"]
        split = metrics["split"]
        rows[name] = {
            "paper": get_spec(name).paper.title,
            "paper_reported": get_spec(name).reported,
            "paper_accuracy": paper_accuracy(name, metrics["dataset"]),
            "dataset": metrics["dataset"],
            "split": split,
            "split_note": "official test split" if split == "test" else f"no test split in the data: {split} split",
            "n_samples": metrics["n_samples"],
            "accuracy": round(metrics["accuracy"] * 100, 2),
            "macro_f1": round(metrics["macro_f1"] * 100, 2),
            "epochs_completed": result["epochs_completed"],
            "recipe_epochs": get_spec(name).recipe.epochs,  # the paper's, whatever --quick or overrides ran
            "budget_limited": result["budget_limited"],
            "stop_reason": result["stop_reason"],
            "best_epoch": result["best_epoch"],
            "minutes": round(minutes, 2),
            "pretrained": config.pretrained,
            "img_size": config.img_size or get_spec(name).input.size,
            "checkpoint": str(out / name),
            "device": device_name(device),
            "processes": dist.world_size,
            "torch": torch.__version__,
            "seed": seed,
        }
    if not dist.is_main:
        return {}
    # Models run earlier into the same folder (one call per model, each with its own budget) stay.
    previous = _read_results(out / RESULTS_JSON)
    rows = {**previous.get("models", {}), **rows}
    results = {
        "device": device_name(device),
        "processes": dist.world_size,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "seed": seed,
        "data": str(data) if data is not None else "generated (--quick)",
        "quick": quick,
        "time_budget_per_model": time_budget_per_model,
        "models": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / RESULTS_JSON, lambda tmp: tmp.write_text(json.dumps(results, indent=2) + "\n"))
    atomic_write(out / RESULTS_MD, lambda tmp: tmp.write_text(results_markdown(results)))
    log(f"wrote {out / RESULTS_MD} and {out / RESULTS_JSON}")
    return results


def _read_results(path: Path) -> dict[str, Any]:
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return results if isinstance(results, dict) and isinstance(results.get("models"), dict) else {}


def results_markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table: paper vs ours, with everything needed to judge the comparison."""
    lines = [
        "| model | dataset | split | paper acc. % | our acc. % | our macro-F1 % | epochs of recipe | minutes | init "
        "| device |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results["models"].items():
        paper = f"{r['paper_accuracy']:.2f}" if r["paper_accuracy"] is not None else "not reported"
        epochs = f"{r['epochs_completed']:g} / {r['recipe_epochs']}" + (" (time budget)" if r["budget_limited"] else "")
        init = "ImageNet" if r["pretrained"] else "scratch"
        lines.append(
            f"| {name} | {r['dataset']} | {r['split']} ({r['n_samples']}) | {paper} | {r['accuracy']:.2f} | "
            f"{r['macro_f1']:.2f} | {epochs} | {r['minutes']:.1f} | {init} | {r.get('device', '?')} |"
        )
    notes = [
        "",
        f"Device: {results['device']} x {results['processes']}, torch {results['torch']}, "
        f"Python {results['python']}, seed {results['seed']}, data: {results['data']}.",
    ]
    if any(r["split"] != "test" for r in results["models"].values()):
        notes.append("The data has no official test split: the numbers are on the validation split.")
    if any(not r["pretrained"] for r in results["models"].values()):
        notes.append(
            "Models marked 'scratch' started from random weights; the papers of Conv-cut, PSA-ResNet50 and "
            "U-Net/ECA start from ImageNet weights, so their gap to the paper is expected."
        )
    if results.get("quick"):
        notes.append("--quick: tiny generated data, one epoch, small inputs: a pipeline check, not a result.")
    return "\n".join(lines + notes) + "\n"
