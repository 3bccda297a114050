"""Measure FER2013's average five-landmark layout: where MTCNN puts the eyes, nose and mouth corners on its crops.

FER2013-style dataset crops (48x48, no landmarks) get their facial regions from this fixed layout
(``fer.explain.dataset_view.FER2013_LAYOUT``). Each PublicTest face is scaled 4x onto a mid-grey canvas twice its
size (MTCNN needs a margin around a face), detected upright, and its landmarks mapped back to the 48 px crop;
the layout is the per-coordinate median over the faces found, as fractions of the side.

    python tools/fer2013_layout.py --n 400      # about a minute on one CPU core
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fer import mtcnn  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013" / "publictest.npz"
SCALE = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400, help="faces to try (evenly spread over the split)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    with np.load(args.data, allow_pickle=False) as data:
        images = data["images"]
    picked = np.linspace(0, len(images) - 1, args.n).astype(int)
    side = images.shape[1]
    big = side * SCALE
    pad = big // 2
    found = []
    for i in picked:
        face = cv2.resize(images[i], (big, big), interpolation=cv2.INTER_CUBIC)
        canvas = np.full((big + 2 * pad, big + 2 * pad), 128, np.uint8)
        canvas[pad : pad + big, pad : pad + big] = face
        dets = mtcnn.detect(cv2.cvtColor(canvas, cv2.COLOR_GRAY2RGB), big // 3)
        if not len(dets.scores):
            continue
        best = int(np.argmax(dets.scores))
        if dets.scores[best] < 0.9:
            continue
        points = (np.asarray(dets.landmarks[best], np.float64) - pad + 0.5) / SCALE - 0.5  # 48 px pixel centres
        found.append((points + 0.5) / side)  # fractions of the side, pixel edges at 0 and 1
    layout = np.median(np.stack(found), 0)
    print(f"{len(found)} of {len(picked)} faces found; median layout (x, y as fractions of the side):")
    for name, (x, y) in zip(("left eye", "right eye", "nose", "mouth left", "mouth right"), layout):
        print(f"  {name:12s} ({x:.3f}, {y:.3f})")
    print(f"eye midpoint y {layout[:2, 1].mean():.3f}, mouth midpoint y {layout[3:, 1].mean():.3f}")


if __name__ == "__main__":
    main()
