"""Time to analyse a 30-second 640x480 clip at 2 sampled frames per second, on this machine.

The clip is made here (``fer.video.democlip``: two faces from scikit-image's astronaut crossing the frame,
30 frames/s, mp4v), so every run sees the same input. Variants, run interleaved round by round in one
process after a warm-up so that a busy neighbour slows all of them alike; medians reported:

* ``decode``: stream the clip and decode the 60 sampled frames only (``SampledFrames``), the floor;
* ``one model``: ``analyze_video`` with one model (default resemotenet), no CAM, VP8 overlay: the issue's case;
* ``one model + CAM``: the same with the model's Grad-CAM drawn on the overlay.

Untrained weights (no checkpoint): time does not depend on their values. The goal is a run shorter than
the clip (30 s). The machine is shared: wall times grow with the neighbours' load (printed), the process's
CPU seconds much less.

    python bench/video_throughput.py                   # 3 rounds
    python bench/video_throughput.py --rounds 1 --model convcut --json /tmp/video.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fer.inference import Analyzer  # noqa: E402
from fer.video import analyze_video  # noqa: E402
from fer.video.democlip import write_demo_clip  # noqa: E402
from fer.video.reader import SampledFrames  # noqa: E402
from fer.zoo import ModelZoo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="resemotenet")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    work = Path(tempfile.mkdtemp(prefix="fer-video-bench-"))
    clip = write_demo_clip(work / "clip.mp4", seconds=args.seconds, fps=30, size=(640, 480), faces=2)
    analyzer = Analyzer(ModelZoo(work / "no-checkpoints"))
    analyzer.zoo.get(args.model)  # model construction is not part of a video's cost

    def decode() -> dict:
        with SampledFrames(clip, per_second=2) as frames:
            return {"samples": sum(1 for _ in frames)}

    def run(cam: bool) -> dict:
        r = analyze_video(
            clip, [args.model], per_second=2, out=work / "out", cam_model=args.model if cam else None, analyzer=analyzer
        )
        return {"samples": r.samples, "rows": r.rows, "tracks": len(r.tracks)}

    variants = {"decode": decode, "one model": lambda: run(False), "one model + CAM": lambda: run(True)}
    analyze_video(clip, [args.model], every=150, out=work / "warm", analyzer=analyzer)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    facts: dict[str, dict] = {}
    load_before = os.getloadavg()
    for i in range(args.rounds):
        for name, fn in variants.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            facts[name] = fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
        print(f"round {i + 1}: " + ", ".join(f"{n} {t[-1]:.1f} s" for n, t in times.items()), flush=True)

    report = {
        "clip": {"seconds": args.seconds, "size": [640, 480], "fps": 30, "faces": 2, "sampled_per_second": 2},
        "model": args.model,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "load_average_before": load_before,
        "load_average_at_end": os.getloadavg(),
        "median_s": {name: round(statistics.median(t), 2) for name, t in times.items()},
        # CPU seconds of this process (all its threads): what the run costs whatever the neighbours do.
        "median_cpu_s": {name: round(statistics.median(t), 2) for name, t in cpu.items()},
        "all_s": {name: [round(x, 2) for x in t] for name, t in times.items()},
        "facts": facts,
    }
    report["clip_seconds_per_wall_second"] = {
        name: round(args.seconds / m, 2) for name, m in report["median_s"].items()
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
