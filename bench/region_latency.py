"""Added latency of region shares, agreement and occlusion: ``analyze_faces`` with them off, without occlusion, on.

One synthetic 48 px face with its true landmarks, the four models untrained (an empty checkpoint folder),
Grad-CAM on; the three settings alternate, and the report is the medians and their ratios.
Run: ``OMP_NUM_THREADS=1 python bench/region_latency.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from fer.data.synthetic import make_synthetic_faces, synthetic_landmarks
from fer.faces import Face
from fer.inference import Analyzer
from fer.registry import list_models
from fer.zoo import ModelZoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    gray = make_synthetic_faces(1, size=48, seed=0).images[0]
    landmarks = synthetic_landmarks(1, size=48, seed=0)[0]
    face = Face(box=(0, 0, 48, 48), score=1.0, gray=gray, crop_box=(0, 0, 48, 48), landmarks=landmarks)
    with tempfile.TemporaryDirectory() as empty:
        analyzer = Analyzer(ModelZoo(empty))
        names = list_models()
        analyzer.analyze_faces([face], names)  # load the models and warm up
        settings = {"off": (False, False), "shares + agreement": (True, False), "all, with occlusion": (True, True)}
        times: dict[str, list[float]] = {key: [] for key in settings}
        for _ in range(args.repeats):
            for key, (regions, occlusion) in settings.items():
                start = time.perf_counter()
                analyzer.analyze_faces([face], names, regions=regions, occlusion=occlusion)
                times[key].append(time.perf_counter() - start)
    print(f"torch threads {torch.get_num_threads()}, {args.repeats} repeats, four models, one face, Grad-CAM")
    off = statistics.median(times["off"])
    for key in settings:
        t = statistics.median(times[key])
        print(f"{key}: {t * 1000:.0f} ms, added {1000 * (t - off):.0f} ms ({t / off:.2f}x)")
    for name in names:  # each model alone: where the occlusion time goes
        alone = {key: [] for key in ("off", "all, with occlusion")}
        for _ in range(args.repeats):
            for key in alone:
                regions, occlusion = settings[key]
                start = time.perf_counter()
                analyzer.analyze_faces([face], [name], regions=regions, occlusion=occlusion)
                alone[key].append(time.perf_counter() - start)
        a, b = (statistics.median(v) for v in alone.values())
        print(f"  {name}: {a * 1000:.0f} -> {b * 1000:.0f} ms ({b / a:.2f}x)")


if __name__ == "__main__":
    main()
