"""Our ``.npz`` format: ``images`` uint8 (N, H, W), ``labels``, optional ``names``, ``class_names``, ``fer_row``.

A directory holds ``train.npz`` / ``publictest.npz`` / ``privatetest.npz`` (FER2013's three usages); a lone
``.npz`` file is one split, "all". Files are read without pickle, so a crafted file cannot run code.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from fer.data.classes import class_index, class_set
from fer.data.faceset import DataError, FaceSet
from fer.data.sources.rows import RowedSplit
from fer.labels import FER2013_CLASSES, FERPLUS_CLASSES

NPZ_SPLITS: dict[str, str] = {"train.npz": "train", "publictest.npz": "val", "privatetest.npz": "test"}
# The arrays we read; others (e.g. usage, fer_row_ambiguous in shared/data) are left alone.
KNOWN_ARRAYS = ("images", "labels", "names", "class_names", "fer_row")


def npz_split_files(directory: str | Path) -> dict[str, Path]:
    """The split files present in ``directory``: split name -> path."""
    directory = Path(directory)
    return {split: directory / f for f, split in NPZ_SPLITS.items() if (directory / f).is_file()}


def read_npz_dir(directory: str | Path, name: str = "FER2013") -> dict[str, RowedSplit]:
    """Every split file in ``directory``; all splits get one label set (FERPlus's if any file has contempt)."""
    files = npz_split_files(directory)
    if not files:
        raise DataError(f"{directory}: none of {', '.join(NPZ_SPLITS)} found")
    splits = {split: read_npz(path, split=split, name=name) for split, path in files.items()}
    if any(s.faces.class_names == FERPLUS_CLASSES for s in splits.values()):
        # Our 8 classes extend the 7 in the same order, so widening the label set keeps every label valid.
        splits = {k: RowedSplit(_widen(s.faces), s.fer_row) for k, s in splits.items()}
    return splits


def read_npz(path: str | Path, split: str = "all", name: str | None = None) -> RowedSplit:
    """One ``.npz`` file as one split; labels mapped to our order through its ``class_names`` when present."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            arrays = {k: _array(z, k, path) for k in KNOWN_ARRAYS if k in keys}
    except DataError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:  # ValueError: not a zip, would need pickle
        raise DataError(f"{path}: not a readable .npz file ({err})") from err
    for key in ("images", "labels"):
        if key not in arrays:
            raise DataError(f"{path}: no {key!r} array (it has {', '.join(sorted(keys)) or 'nothing'})")
    images = arrays["images"]
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{path}: 'images' must be uint8 (N, H, W), got {images.dtype} {images.shape}")
    n = len(images)
    labels = _vector(arrays["labels"], "labels", n, path, integer=True).astype(np.int64)
    labels, class_names = _canonical_labels(labels, arrays.get("class_names"), path)
    if "names" in arrays:
        ids = _vector(arrays["names"], "names", n, path, integer=False).astype(str)
        if len(np.unique(ids)) != n:
            raise DataError(f"{path}: 'names' are not unique, so they cannot identify samples")
    else:
        ids = np.asarray([f"{path.name}:{i}" for i in range(n)])
    fer_row = None
    if "fer_row" in arrays:
        fer_row = _vector(arrays["fer_row"], "fer_row", n, path, integer=True).astype(np.int64)
        if n and fer_row.min() < -1:
            raise DataError(f"{path}: 'fer_row' has values below -1 (-1 means unknown)")
    faces = FaceSet(
        images=images,
        labels=labels,
        ids=ids,
        class_names=class_names,
        name=name or path.stem,
        split=split,
        source=str(path),
    )
    return RowedSplit(faces, fer_row)


def _array(z: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return z[key]
    except ValueError as err:  # an object array: it would need pickle, which we refuse
        raise DataError(f"{path}: array {key!r} cannot be read without pickle ({err})") from err
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: array {key!r} is corrupt ({err})") from err


def _vector(a: np.ndarray, key: str, n: int, path: Path, *, integer: bool) -> np.ndarray:
    kinds = "iu" if integer else "US"
    if a.ndim != 1 or len(a) != n or a.dtype.kind not in kinds:
        want = "integers" if integer else "strings"
        raise DataError(f"{path}: {key!r} must be {n} {want} (one per image), got {a.dtype} {a.shape}")
    return a


def _canonical_labels(labels: np.ndarray, names: np.ndarray | None, path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels in our order. With ``class_names`` the file's order is mapped by name, never assumed."""
    if names is None:
        # Our own files without class_names are in our order; label 7 can only be contempt (FERPlus).
        if len(labels) and (labels.min() < 0 or labels.max() >= len(FERPLUS_CLASSES)):
            raise DataError(f"{path}: labels outside 0..7 (min {labels.min()}, max {labels.max()}) and no class_names")
        return labels, (FERPLUS_CLASSES if len(labels) and labels.max() == 7 else FER2013_CLASSES)
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise DataError(f"{path}: 'class_names' must be a 1-D string array, got {names.dtype} {names.shape}")
    names = names.astype(str).tolist()  # plain str, so messages read 'sad', not np.str_('sad')
    where = f"{path} class_names"
    to_ours = np.asarray([class_index(n, where) for n in names], dtype=np.int64)
    if len(set(to_ours.tolist())) != len(to_ours):
        raise DataError(f"{where}: two names mean the same class: {list(names)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(names)):
        raise DataError(f"{path}: labels outside 0..{len(names) - 1} ({len(names)} class_names)")
    return to_ours[labels], class_set(names)


def _widen(faces: FaceSet) -> FaceSet:
    return replace(faces, class_names=FERPLUS_CLASSES)
