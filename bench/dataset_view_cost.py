"""Cost of the dataset-level view (fer.explain.dataset_view): computing it per model, and reading it from its cache.

An artifact of drawn 48 px faces (``fer.data.synthetic``, 7 classes) is written to a temporary folder; each of
the four models (untrained weights: the cost does not depend on training) computes its view with Grad-CAM on
``--per-class`` faces per class, then reads it back from the cache beside the artifact. One torch thread by
default, models in turn, so a busy neighbour slows all alike.

    python bench/dataset_view_cost.py --per-class 16
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fer  # noqa: E402
from fer.data.synthetic import make_synthetic_faces  # noqa: E402
from fer.evaluation.artifact import write_artifact  # noqa: E402
from fer.evaluation.predict import Predictions  # noqa: E402
from fer.explain.dataset_view import cached_dataset_view  # noqa: E402
from fer.zoo import ModelZoo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="*", default=fer.list_models())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    faces = make_synthetic_faces(7 * args.per_class * 2, seed=0, split="test")
    n, k = len(faces.labels), len(faces.class_names)
    preds = Predictions(np.full((n, k), 1 / k, np.float32), np.zeros((n, 1), np.float32), None)
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {args.threads} torch thread(s), {args.per_class} faces per class")
    with tempfile.TemporaryDirectory() as tmp:
        write_artifact(
            tmp, predictions=preds, labels=faces.labels, ids=faces.ids, images=faces.images,
            class_names=faces.class_names, info={},
        )  # fmt: skip
        zoo = ModelZoo(Path(tmp) / "no-checkpoints")
        for name in args.models:
            model = zoo.get(name).model
            start = time.perf_counter()
            view, cached = cached_dataset_view(
                tmp, model, f"untrained:{name}", per_class=args.per_class, show_bar=False
            )
            compute = time.perf_counter() - start
            assert not cached
            start = time.perf_counter()
            _, cached = cached_dataset_view(tmp, model, f"untrained:{name}", per_class=args.per_class, show_bar=False)
            read = time.perf_counter() - start
            assert cached
            done = int(view.counts.sum())
            print(
                f"{name:18s} {done} faces: {compute:6.1f} s ({compute / done * 1000:5.0f} ms/face), "
                f"from the cache {read * 1000:5.1f} ms"
            )
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
