"""Temperature scaling on a tiny generated run: ECE before and after, on the validation split it is fitted on
and on the test split it never saw.

Trains ``--model`` (default ResEmoteNet, the smallest input) for ``--epochs`` on drawn faces
(``fer.data.synthetic``: the class lives in the mouth) with ``fer.training.run.train_model``, which fits T on
the validation split and writes it to ``meta.json`` and the test ECE before/after to ``metrics.json``.

    python bench/temperature_scaling.py --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fer.data import DataBundle, make_synthetic_faces  # noqa: E402
from fer.training import config_from_recipe  # noqa: E402
from fer.training.run import train_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resemotenet")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train", type=int, default=700)
    parser.add_argument("--val", type=int, default=350)
    parser.add_argument("--test", type=int, default=350)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = DataBundle(
        splits={
            "train": make_synthetic_faces(args.train, seed=1, split="train"),
            "val": make_synthetic_faces(args.val, seed=2, split="val"),
            "test": make_synthetic_faces(args.test, seed=3, split="test"),
        },
        format="synthetic",
        source="generated",
    )
    config = config_from_recipe(args.model, epochs=args.epochs, early_stop_patience=0, seed=0)
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {args.threads} torch thread(s)")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = train_model(config, data, out, device=torch.device("cpu"), progress=False, log=lambda s: None)
        meta = json.loads((Path(out) / "meta.json").read_text())
    t, test = meta["temperature"], result["metrics"]["temperature_scaling"]
    print(
        f"{args.model}, {args.epochs} epochs on {args.train} drawn faces ({time.perf_counter() - start:.0f} s): "
        f"test accuracy {result['metrics']['accuracy']:.3f}, T = {t['value']:.3f}"
    )
    print(f"  {t['fitted_on']} ({t['n_samples']}, fitted on): ECE {t['ece_before']:.4f} -> {t['ece_after']:.4f}, "
          f"NLL {t['nll_before']:.4f} -> {t['nll_after']:.4f}")  # fmt: skip
    print(f"  test ({test['n_samples']}, unseen):       ECE {test['ece_before']:.4f} -> {test['ece_after']:.4f}, "
          f"NLL {test['nll_before']:.4f} -> {test['nll_after']:.4f}")  # fmt: skip
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
