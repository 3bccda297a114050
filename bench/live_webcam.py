"""Live webcam rate on this machine: frames/s of detection + one model at 640x480, on generated frames.

The frames: scikit-image's ``astronaut``'s head (grown so the face is about 145 px tall, as at arm's
length from a webcam) pasted onto a noisy background, drifting a few pixels per frame, so detection cannot be
cached. For each model, two ways run interleaved frame by frame:

* ``full``: detection as the photo path does it, on the 640x480 frame, faces from ``fer.faces.MIN_FACE``
  (``fer.live.analyze_frame(..., detect_width=None, min_face=MIN_FACE)``);
* ``live``: the live path, detection and crops on the frame shrunk to ``fer.live.DETECT_WIDTH``,
  faces from ``fer.live.LIVE_MIN_FACE`` frame pixels.

Both run ``analyze_faces(..., cam=None)`` with the zoo's models (untrained weights: speed does not depend on
them). We report frames/s (median per-frame wall time), the process's CPU time per frame (less
disturbed by a busy neighbour), and whether both found the face in every frame.

    python bench/live_webcam.py                      # resemotenet, 60 frames, 2 threads
    python bench/live_webcam.py --models resemotenet,convcut --frames 30 --json /tmp/live.json
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# isort: split
import cv2
import numpy as np
import torch
from skimage import data as skdata

from fer.faces import MIN_FACE
from fer.inference import Analyzer
from fer.live import DETECT_WIDTH, LIVE_MIN_FACE, LIVE_MODEL, analyze_frame
from fer.zoo import ModelZoo

FPS_GOAL = 8.0
WIDTH, HEIGHT = 640, 480


def make_frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """640x480 RGB frames: the astronaut's head and shoulders drifting over a noisy background."""
    rng = np.random.default_rng(seed)
    # The astronaut's head, grown so the face is about 145 px tall, as at arm's length from a webcam.
    person = cv2.resize(skdata.astronaut()[0:256, 100:356], (400, 400), interpolation=cv2.INTER_CUBIC)
    background = rng.integers(60, 200, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        frame = background.copy()
        dx, dy = int(120 + 100 * np.sin(i / 7)), int(40 + 35 * np.cos(i / 5))
        frame[dy : dy + 400, dx : dx + 400] = person
        frame = np.clip(frame.astype(np.int16) + rng.integers(-6, 7, frame.shape), 0, 255).astype(np.uint8)
        frames.append(frame)
    return frames


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=LIVE_MODEL)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    frames = make_frames(args.frames)
    ways = {"full": (None, MIN_FACE), "live": (DETECT_WIDTH, LIVE_MIN_FACE)}
    print(f"{args.frames} frames {WIDTH}x{HEIGHT}, {args.threads} threads, live detection at {DETECT_WIDTH} px wide")
    results = {}
    with tempfile.TemporaryDirectory() as empty:
        analyzer = Analyzer(ModelZoo(empty))
        for model in args.models.split(","):
            analyzer.zoo.get(model)
            for width, min_face in ways.values():  # warm-up
                analyze_frame(analyzer, frames[0], model, width, min_face)
            times: dict[str, list[float]] = {way: [] for way in ways}
            found: dict[str, int] = dict.fromkeys(ways, 0)
            cpu: dict[str, list[float]] = {way: [] for way in ways}
            for frame in frames:
                for way, (width, min_face) in ways.items():
                    start, start_cpu = time.perf_counter(), time.process_time()
                    faces = analyze_frame(analyzer, frame, model, width, min_face)
                    cpu[way].append(time.process_time() - start_cpu)
                    times[way].append(time.perf_counter() - start)
                    found[way] += bool(faces)
            row = {
                way: {
                    "median_ms": 1000 * statistics.median(t),
                    "fps": 1 / statistics.median(t),
                    "median_cpu_ms": 1000 * statistics.median(cpu[way]),
                    "frames_with_a_face": found[way],
                }
                for way, t in times.items()
            }
            speedups = [f / live for f, live in zip(times["full"], times["live"])]
            row["live_speedup"] = statistics.median(speedups)
            row["goal_met"] = row["live"]["fps"] >= FPS_GOAL
            results[model] = row
            print(f"\n{model}")
            for way in ways:
                r = row[way]
                print(
                    f"  {way:<5} {r['median_ms']:7.1f} ms/frame  {r['fps']:5.1f} frames/s  "
                    f"CPU {r['median_cpu_ms']:6.1f} ms/frame  "
                    f"face in {r['frames_with_a_face']}/{len(frames)} frames"
                )
            print(
                f"  live/full speed-up {row['live_speedup']:.2f}x; goal >= {FPS_GOAL:g} frames/s: "
                f"{'MET' if row['goal_met'] else 'NOT MET'}"
            )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        settings = {"frames": args.frames, "threads": args.threads, "detect_width": DETECT_WIDTH}
        Path(args.json).write_text(json.dumps({"settings": settings, "models": results}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
