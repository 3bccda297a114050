"""Labelled image folders: Kaggle's FER2013 layout ``root/train|test/<emotion>/*`` or any ``root/<class>/*``.

The second covers CK+, JAFFE and a user's own photos; it has no official split, so it is one split, "all".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer.data.classes import canonical_class, class_index, class_set
from fer.data.faceset import SPLITS, DataError, FaceSet
from fer.data.images import is_image_file, list_images, read_images, subfolders

# Split folder names (any case) -> our split.
SPLIT_FOLDERS: dict[str, str] = {"train": "train", "val": "val", "validation": "val", "test": "test"}
# Kaggle's FER2013 folders keep the csv's Usage as a file-name prefix; test/ mixes PublicTest and PrivateTest.
PREFIX_SPLITS: dict[str, str] = {"PublicTest_": "val", "PrivateTest_": "test"}
FER2013_PREFIXES = ("Training_", "PublicTest_", "PrivateTest_")


def has_split_layout(root: str | Path) -> bool:
    """Whether ``root`` has a train/, test/, val/ or validation/ folder (any case)."""
    return any(d.name.lower() in SPLIT_FOLDERS for d in subfolders(Path(root)))


def has_class_layout(root: str | Path) -> bool:
    """Whether some subfolder of ``root`` is named after an emotion we know."""
    return any(canonical_class(d.name) is not None for d in subfolders(Path(root)))


def read_split_folders(root: str | Path, image_size: int = 96) -> dict[str, FaceSet]:
    """``root/<split>/<class>/*``: train, val|validation and test folders; ``PublicTest_*`` files in test/ -> val."""
    root = Path(root)
    class_dirs: list[tuple[Path, str]] = []  # (class folder, the split its files go to unless their prefix says)
    for split_dir in subfolders(root):
        base = SPLIT_FOLDERS.get(split_dir.name.lower())
        if base is None:
            expected = ", ".join(f"{k}/" for k in SPLIT_FOLDERS)
            raise DataError(f"{split_dir}: unexpected folder next to the split folders (expected only {expected})")
        _refuse_loose_images(split_dir)
        class_dirs += [(d, base) for d in subfolders(split_dir)]
    entries = _entries(class_dirs)
    is_fer = any(f.name.startswith(FER2013_PREFIXES) for f, _, _ in entries)
    classes = class_set(d.name for d, _ in class_dirs)
    return _read(root, entries, classes, image_size, name="FER2013" if is_fer else root.name)


def read_class_folders(root: str | Path, image_size: int = 96) -> dict[str, FaceSet]:
    """``root/<class>/*`` (nested folders inside a class folder are fine): a single split, "all"."""
    root = Path(root)
    _refuse_loose_images(root)
    class_dirs = subfolders(root)
    entries = _entries([(d, "all") for d in class_dirs])
    return _read(root, entries, class_set(d.name for d in class_dirs), image_size, name=root.name or "folder")


def _entries(class_dirs: list[tuple[Path, str]]) -> list[tuple[Path, int, str]]:
    """(file, label, split) for every image; every class folder is checked first, even an empty one,
    so a misspelt folder fails before any image is decoded."""
    labels = [class_index(d.name, str(d)) for d, _ in class_dirs]
    return [
        (file, label, _file_split(file.name, base) if base == "test" else base)
        for (d, base), label in zip(class_dirs, labels)
        for file in list_images(d)
    ]


def _file_split(file_name: str, base: str) -> str:
    for prefix, split in PREFIX_SPLITS.items():
        if file_name.startswith(prefix):
            return split
    return base


def _refuse_loose_images(folder: Path) -> None:
    # An image outside any class folder has no label; skipping it silently would hide a packing mistake.
    loose = sorted(p.name for p in folder.iterdir() if is_image_file(p))
    if loose:
        raise DataError(f"{folder}: {len(loose)} image(s) outside a class folder (e.g. {loose[0]}), so without a label")


def _read(
    root: Path, entries: list[tuple[Path, int, str]], class_names: tuple[str, ...], image_size: int, name: str
) -> dict[str, FaceSet]:
    if not entries:
        raise DataError(f"{root}: no images found in class folders")
    images, resize_note = read_images([f for f, _, _ in entries], image_size)
    labels = np.asarray([label for _, label, _ in entries], dtype=np.int64)
    ids = np.asarray([f.relative_to(root).as_posix() for f, _, _ in entries])
    splits = np.asarray([s for _, _, s in entries])
    notes = (resize_note,) if resize_note else ()
    out: dict[str, FaceSet] = {}
    for split in SPLITS:
        keep = splits == split
        if keep.any():
            out[split] = FaceSet(
                images=images[keep],
                labels=labels[keep],
                ids=ids[keep],
                class_names=class_names,
                name=name,
                split=split,
                source=str(root),
                notes=notes,
            )
    return out
