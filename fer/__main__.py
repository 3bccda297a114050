"""The command line: ``python -m fer {evaluate,reproduce,push,video} ...`` (``python -m fer COMMAND -h`` for each)."""

from __future__ import annotations

import argparse
import json
import sys


def _evaluate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from fer.checkpoints import load_checkpoint
    from fer.data import load_dataset
    from fer.evaluation.evaluate import evaluate_to_artifact

    model, meta = load_checkpoint(args.checkpoint, device=args.device)
    data = load_dataset(args.data, ferplus=args.ferplus, image_size=args.image_size)
    print(data.summary())
    if args.split and args.split not in data:
        parser.error(f"{args.data} has no {args.split!r} split (it has: {', '.join(data.splits)})")
    faces = data[args.split] if args.split else data.eval_split()
    if args.align:
        from fer.data.realign import realign_faceset

        faces = realign_faceset(faces)
        print(faces.notes[-1])
    img_size = args.img_size or (meta.get("recipe") or {}).get("img_size")
    metrics = evaluate_to_artifact(
        model,
        faces,
        args.out,
        class_names=meta["class_names"],
        img_size=img_size,
        batch_size=args.batch_size,
        device=args.device,
        info={"checkpoint": str(args.checkpoint), "align": args.align},
    )
    keys = ("model", "dataset", "split", "n_samples", "accuracy", "macro_f1")
    print(json.dumps({k: metrics[k] for k in keys}, indent=2))


def _reproduce(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    import torch

    from fer.training.distributed import cleanup_distributed, init_distributed
    from fer.training.reproduce import reproduce

    if not args.data and not args.quick:
        parser.error("--data is required (or --quick, which trains on tiny generated data)")
    dist, device = init_distributed(torch.device(args.device) if args.device else None)
    overrides = {k: v for k, v in (("amp", args.amp or None), ("compile", args.compile or None)) if v is not None}
    try:
        results = reproduce(
            args.out,
            data=args.data,
            ferplus=args.ferplus,
            models=args.models.split(",") if args.models else None,
            time_budget_per_model=args.time_budget_per_model,
            quick=args.quick,
            seed=args.seed,
            device=device,
            dist=dist,
            progress=not args.no_progress,
            log=print if dist.is_main else (lambda message: None),
            overrides=overrides,
        )
    finally:
        cleanup_distributed()
    if dist.is_main:
        from fer.training.reproduce import results_markdown

        print(results_markdown(results))


def _push(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from fer.publish import PublishError, push_checkpoint

    try:
        url = push_checkpoint(
            args.checkpoint, args.repo, token=args.token, private=args.private, path_in_repo=args.path_in_repo
        )
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"pushed {args.checkpoint} to {args.repo}: {url}")


def _exit(code: int) -> None:
    raise SystemExit(code)


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
    ev.add_argument("--device", default=None, help="cuda, cpu (default: cuda when available)")
    ev.add_argument(
        "--align",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="detect the face in every crop (MTCNN) and use its aligned crop, as fer.analyze does for photos; "
        "crops without a face found are kept as they are (default: --no-align, crops as they are)",
    )
    ev.set_defaults(run=_evaluate)

    rp = sub.add_parser(
        "reproduce",
        help="train every paper's recipe, evaluate, and write results.md/json (paper vs ours)",
        description="Train each model with its paper's recipe into OUT/<model>/ and compare with the paper. "
        "Several GPUs: torchrun --nproc_per_node=N -m fer reproduce ...",
    )
    rp.add_argument("--data", help="dataset file or directory (e.g. ../shared/data/fer2013)")
    rp.add_argument("--ferplus", help="FERPlus votes CSV to relabel FER2013 images (8 classes)")
    rp.add_argument("--out", required=True, help="output root: OUT/<model>/ checkpoints, OUT/results.md/json")
    rp.add_argument("--models", help="comma-separated model ids (default: all four)")
    rp.add_argument("--time-budget-per-model", type=float, metavar="MIN", help="minutes of training per model")
    rp.add_argument("--quick", action="store_true", help="tiny generated data, one epoch: a pipeline check on CPU")
    rp.add_argument("--seed", type=int, default=0)
    rp.add_argument("--device", help="cuda, cpu (default: cuda when available)")
    rp.add_argument("--amp", action="store_true", help="mixed precision on CUDA (bf16 where supported)")
    rp.add_argument("--compile", action="store_true", help="torch.compile each model")
    rp.add_argument("--no-progress", action="store_true")
    rp.set_defaults(run=_reproduce)

    pu = sub.add_parser("push", help="upload a checkpoint with a generated model card to the Hugging Face Hub")
    pu.add_argument("checkpoint", help="checkpoint directory (model.safetensors + meta.json, as train.py writes)")
    pu.add_argument("--repo", required=True, help="Hub repo id, user/name (created when missing)")
    pu.add_argument("--path-in-repo", help="folder in the repo, e.g. the model id for FER_CHECKPOINTS=user/name")
    pu.add_argument("--token", help="Hub token (default: HF_TOKEN or the cached login)")
    pu.add_argument("--private", action="store_true")
    pu.set_defaults(run=_push)

    from fer.video import cli as video_cli  # its module imports only argparse and the reader's constants

    video_cli.add_parser(sub).set_defaults(run=lambda args, parser: _exit(video_cli.run(args)))

    args = parser.parse_args(argv)
    if getattr(args, "device", None) is None and args.command == "evaluate":
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.run(args, parser)


if __name__ == "__main__":
    main()
