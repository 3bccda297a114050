"""``python -m fer video IN --out DIR``: the command-line face of :func:`fer.analyze_video`."""

from __future__ import annotations

import argparse
import sys

from fer.video.limits import MAX_DURATION_S, MAX_SIDE


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Adds the ``video`` subcommand to ``python -m fer``'s subparsers."""
    p = sub.add_parser("video", help="emotion timeline of every face in a clip: timeline.csv, summary, overlay video")
    p.add_argument("input", help="video file (mp4, avi, webm, mov, mkv)")
    p.add_argument("--out", required=True, help="directory for timeline.csv, summary.json and the overlay")
    p.add_argument("--models", default="resemotenet", help="comma-separated model ids, or 'all' (default: resemotenet)")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--per-second", type=float, default=2.0, help="sampled frames per second of clip (default 2)")
    rate.add_argument("--every", type=int, help="sample every k-th frame instead")
    p.add_argument("--cam-model", help="draw this model's CAM on the overlay (one of --models)")
    p.add_argument("--cam", default="gradcam", help="CAM method for --cam-model (default gradcam)")
    p.add_argument("--overlay", choices=["webm", "mp4", "none"], default="webm", help="webm (VP8, plays in browsers)")
    p.add_argument("--max-duration", type=float, default=MAX_DURATION_S, help="refuse longer clips (seconds)")
    p.add_argument("--max-side", type=int, default=MAX_SIDE, help="refuse frames with a longer side (pixels)")
    p.add_argument("--checkpoints", help="checkpoint root (default FER_CHECKPOINTS or ./checkpoints)")
    return p


def run(args: argparse.Namespace) -> int:
    """Runs the analysis with a progress bar; prints the summary and where the files are. Exit code 2 on a bad clip."""
    from tqdm import tqdm

    from fer.inference import Analyzer, default_analyzer
    from fer.registry import list_models
    from fer.video.analyze import analyze_video
    from fer.video.reader import VideoError
    from fer.video.timeline import summary_markdown
    from fer.zoo import ModelZoo

    models = list_models() if args.models == "all" else [m.strip() for m in args.models.split(",") if m.strip()]
    analyzer = Analyzer(ModelZoo(args.checkpoints)) if args.checkpoints else default_analyzer()
    bar = tqdm(unit="frame", desc="video", dynamic_ncols=True)

    def progress(done: int, total: int | None) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = analyze_video(
            args.input,
            models,
            every=args.every,
            per_second=None if args.every else args.per_second,
            out=args.out,
            cam_model=args.cam_model,
            cam=args.cam,
            overlay=None if args.overlay == "none" else args.overlay,
            max_duration_s=args.max_duration,
            max_side=args.max_side,
            analyzer=analyzer,
            progress=progress,
        )
    except (VideoError, KeyError, ValueError) as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary_markdown(result.summary))
    print(f"{result.samples} sampled frames, {len(result.tracks)} face track(s), {result.rows} rows")
    print(f"timeline: {result.timeline_csv}\nsummary:  {result.summary_json}")
    if result.overlay:
        print(f"overlay:  {result.overlay}")
    return 0
