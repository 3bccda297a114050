"""RAF-DB basic: ``list_patition_label.txt`` (sic) + aligned 100x100 RGB faces, official train/test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer.data.faceset import DataError, FaceSet
from fer.data.images import read_images
from fer.labels import FER2013_CLASSES

LABEL_FILE = "list_patition_label.txt"  # RAF-DB's own spelling
LABEL_FILE_PLACES = (LABEL_FILE, f"EmoLabel/{LABEL_FILE}")
IMAGE_DIRS = ("Image/aligned", "aligned")
# RAF-DB labels 1..7 are Surprise, Fear, Disgust, Happiness, Sadness, Anger, Neutral; index 0 is unused.
RAFDB_TO_OURS = np.array([-1, 5, 2, 1, 3, 4, 0, 6], dtype=np.int64)
NAME_SPLITS = {"train_": "train", "test_": "test"}


def find_label_file(root: str | Path) -> Path | None:
    """``root/list_patition_label.txt`` or ``root/EmoLabel/list_patition_label.txt``, if either exists."""
    return next((Path(root) / p for p in LABEL_FILE_PLACES if (Path(root) / p).is_file()), None)


def read_rafdb(root: str | Path, image_size: int = 96) -> dict[str, FaceSet]:
    """Every labelled image: ``train_*`` -> train, ``test_*`` -> test; labels mapped to our order.

    A bad label line or a missing image raises DataError naming the label file and line.
    """
    root = Path(root)
    label_file = find_label_file(root)
    if label_file is None:
        raise DataError(f"{root}: no RAF-DB label file ({' or '.join(LABEL_FILE_PLACES)})")
    image_dir = next((root / d for d in IMAGE_DIRS if (root / d).is_dir()), None)
    if image_dir is None:
        raise DataError(f"{root}: no aligned RAF-DB images ({' or '.join(d + '/' for d in IMAGE_DIRS)})")
    paths, labels, splits = _parse(label_file, image_dir)
    images, resize_note = read_images(paths, image_size)
    ids = np.asarray([p.relative_to(root).as_posix() for p in paths])
    labels_ = RAFDB_TO_OURS[np.asarray(labels, dtype=np.int64)]
    splits_ = np.asarray(splits)
    out: dict[str, FaceSet] = {}
    for split in ("train", "test"):
        keep = splits_ == split
        if keep.any():
            out[split] = FaceSet(
                images=images[keep],
                labels=labels_[keep],
                ids=ids[keep],
                class_names=FER2013_CLASSES,
                name="RAF-DB",
                split=split,
                source=str(root),
                notes=(resize_note,) if resize_note else (),
            )
    return out


def _parse(label_file: Path, image_dir: Path) -> tuple[list[Path], list[int], list[str]]:
    paths: list[Path] = []
    labels: list[int] = []
    splits: list[str] = []
    seen: set[str] = set()
    try:
        lines = label_file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{label_file}: not a text file ({err})") from err
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{label_file}: line {number}"
        fields = line.split()
        if len(fields) != 2:
            raise DataError(f"{where}: expected '<image name> <label 1..7>', got {line!r}")
        name, label_text = fields
        split = next((s for prefix, s in NAME_SPLITS.items() if name.startswith(prefix)), None)
        if split is None:
            raise DataError(f"{where}: image name {name!r} starts with neither train_ nor test_")
        if not (label_text.isascii() and label_text.isdigit() and 1 <= int(label_text) <= 7):
            raise DataError(f"{where}: label {label_text!r} is not in 1..7")
        if name in seen:
            raise DataError(f"{where}: {name} is listed twice")
        seen.add(name)
        image = image_dir / f"{Path(name).stem}_aligned{Path(name).suffix or '.jpg'}"
        if not image.is_file():
            raise DataError(f"{where}: image {image} not found")
        paths.append(image)
        labels.append(int(label_text))
        splits.append(split)
    if not paths:
        raise DataError(f"{label_file}: no labelled images")
    return paths, labels, splits
