"""``python -m fer evaluate --checkpoint DIR --data PATH [--split test] --out DIR``.

``python -m fer video IN --out DIR [--models m1,m2] [--per-second 2 | --every K] [--cam-model M]``.
"""

from __future__ import annotations

import argparse
import json

import torch

from fer.checkpoints import load_checkpoint
from fer.data import load_dataset
from fer.evaluation.evaluate import evaluate_to_artifact
from fer.video import cli as video_cli


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fer", description="FER studio command line")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="write metrics.json + predictions.npz for a checkpoint on a dataset")
    ev.add_argument("--checkpoint", required=True, help="checkpoint directory, file or Hub id")
    ev.add_argument("--data", required=True, help="dataset file or directory")
    ev.add_argument("--ferplus", help="FERPlus votes CSV to relabel FER2013 images")
    ev.add_argument("--split", default=None, help="train, val, test or all (default: test, else all, else val)")
    ev.add_argument("--out", required=True, help="directory for the artifact")
    ev.add_argument("--image-size", type=int, default=96, help="common size for image-folder datasets")
    ev.add_argument("--img-size", type=int, help="model input size (default: the checkpoint's)")
    ev.add_argument("--batch-size", type=int, default=128)
    ev.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    video_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "video":
        raise SystemExit(video_cli.run(args))

    model, meta = load_checkpoint(args.checkpoint, device=args.device)
    data = load_dataset(args.data, ferplus=args.ferplus, image_size=args.image_size)
    print(data.summary())
    if args.split and args.split not in data:
        parser.error(f"{args.data} has no {args.split!r} split (it has: {', '.join(data.splits)})")
    faces = data[args.split] if args.split else data.eval_split()
    img_size = args.img_size or (meta.get("recipe") or {}).get("img_size")
    metrics = evaluate_to_artifact(
        model,
        faces,
        args.out,
        class_names=meta["class_names"],
        img_size=img_size,
        batch_size=args.batch_size,
        device=args.device,
        info={"checkpoint": str(args.checkpoint)},
    )
    keys = ("model", "dataset", "split", "n_samples", "accuracy", "macro_f1")
    print(json.dumps({k: metrics[k] for k in keys}, indent=2))


if __name__ == "__main__":
    main()
