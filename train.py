"""Train the paper models with their recipes: ``python train.py --model NAME --data PATH``.

Every recipe knob can be overridden by a flag; ``--list-recipes`` prints them. Checkpoints and
evaluation artifacts go to ``OUT/<model>/`` (default ``./checkpoints``, where the app looks).
Several GPUs: ``torchrun --nproc_per_node=N train.py ...`` (``--batch-size`` stays the global batch).
A few GPU minutes: ``--time-budget MINUTES`` keeps the best checkpoint reached within them.
"""

from __future__ import annotations

import fer.threads  # noqa: F401  first: the CPU thread policy must be set before torch loads (fer/threads.py)

# isort: split
import argparse
import json
from dataclasses import asdict
from pathlib import Path

import torch

import fer
from fer.atomic import check_writable_dir
from fer.data import load_dataset
from fer.training import config_from_recipe
from fer.training.distributed import cleanup_distributed, init_distributed
from fer.training.run import train_model


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=[*fer.list_models(), "all"], help="model to train; 'all' trains the four in turn")
    p.add_argument("--data", help="dataset file or directory (fer2013.csv, .npz, image folders, RAF-DB, ...)")
    p.add_argument("--ferplus", help="FERPlus fer2013new.csv: relabel the FER2013 images by majority vote (8 classes)")
    p.add_argument(
        "--out", default="checkpoints", help="output root; each model writes OUT/<model>/ (default: %(default)s)"
    )
    p.add_argument("--list-recipes", action="store_true", help="print each model's paper recipe as JSON and exit")
    r = p.add_argument_group("recipe overrides (default: the paper's value)")
    r.add_argument("--epochs", type=int)
    r.add_argument("--batch-size", type=int)
    r.add_argument("--lr", type=float)
    r.add_argument("--optimizer", choices=["sgd", "adam", "adamw"])
    r.add_argument("--momentum", type=float)
    r.add_argument("--weight-decay", type=float)
    r.add_argument("--scheduler", choices=["plateau", "none"])
    r.add_argument("--early-stop", type=int, dest="early_stop_patience", help="epochs without improvement; 0 disables")
    r.add_argument("--augment", help="comma-separated batch augmentations: hflip, shift; 'none' for none")
    r.add_argument("--class-weighted", action=argparse.BooleanOptionalAction, default=None)
    r.add_argument("--img-size", type=int, help="model input size (default: the model's)")
    r.add_argument(
        "--pretrained", action="store_true", help="start from torchvision ImageNet weights where the paper does"
    )
    d = p.add_argument_group("data and run")
    d.add_argument("--limit-train", type=int, help="train on a random subset of N images")
    d.add_argument("--limit-val", type=int, help="validate on a random subset of N images")
    d.add_argument("--drop-duplicates", action="store_true", help="drop train images that duplicate val/test images")
    d.add_argument("--image-size", type=int, default=96, help="common size for image-folder datasets (default: 96)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda when available)")
    d.add_argument("--amp", action="store_true", help="mixed precision on CUDA (bf16 where supported, else fp16)")
    d.add_argument("--compile", action="store_true", help="torch.compile the model")
    d.add_argument(
        "--time-budget",
        type=float,
        dest="time_budget_minutes",
        metavar="MINUTES",
        help="stop training after MINUTES (mid-epoch; the best checkpoint so far is kept and meta.json says so)",
    )
    d.add_argument(
        "--sync-bn",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="under torchrun on CUDA, synchronise BatchNorm statistics across GPUs (default: on)",
    )
    d.add_argument("--num-threads", type=int, help="CPU threads for torch")
    d.add_argument("--resume", action="store_true", help="continue OUT/<model>/resume.pt where it stopped")
    d.add_argument("--no-progress", action="store_true", help="no progress bars (one line per epoch)")
    args = p.parse_args(argv)
    if not args.list_recipes and (not args.model or not args.data):
        p.error("--model and --data are required (or --list-recipes)")
    return args


def overrides(args: argparse.Namespace) -> dict:
    o = {
        k: getattr(args, k)
        for k in (
            "epochs",
            "batch_size",
            "lr",
            "optimizer",
            "momentum",
            "weight_decay",
            "early_stop_patience",
            "class_weighted",
            "img_size",
            "limit_train",
            "limit_val",
            "seed",
            "amp",
            "compile",
            "drop_duplicates",
            "pretrained",
            "time_budget_minutes",
            "sync_bn",
        )
    }
    if args.scheduler:
        o["scheduler"] = None if args.scheduler == "none" else args.scheduler
    if args.augment:
        o["augmentation"] = () if args.augment == "none" else tuple(a.strip() for a in args.augment.split(","))
    if args.early_stop_patience == 0:
        o["early_stop_patience"] = None
    return {k: v for k, v in o.items() if v is not None}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.list_recipes:
        print(json.dumps({name: asdict(fer.get_spec(name).recipe) for name in fer.list_models()}, indent=2))
        return
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    try:  # before the data is loaded or an epoch is run: a wrong --out must fail at once
        check_writable_dir(args.out)
    except OSError as exc:
        raise SystemExit(f"train.py: cannot write to --out {args.out}: {exc.strerror or exc}") from None
    dist, device = init_distributed(torch.device(args.device) if args.device else None)
    log = print if dist.is_main else (lambda message: None)
    try:
        data = load_dataset(args.data, ferplus=args.ferplus, image_size=args.image_size, seed=args.seed)
        log(data.summary())
        if dist.enabled:
            log(f"torchrun: {dist.world_size} processes, global batch split across them, device {device.type}")
        models = fer.list_models() if args.model == "all" else [args.model]
        for name in models:
            config = config_from_recipe(name, **overrides(args))
            result = train_model(
                config,
                data,
                Path(args.out) / name,
                device=device,
                resume=args.resume,
                progress=not args.no_progress,
                log=log,
                dist=dist,
            )
            log(f"wrote {result['out_dir']}")
    finally:
        cleanup_distributed()


if __name__ == "__main__":
    main()
