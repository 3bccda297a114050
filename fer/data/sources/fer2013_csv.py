"""Kaggle's ``fer2013.csv`` (columns emotion, pixels, Usage): 35,887 48x48 faces with the official splits."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from fer.data.faceset import DataError, FaceSet
from fer.data.sources.rows import USAGE_SPLITS, RowedSplit
from fer.labels import FER2013_CLASSES

SIDE = 48
REQUIRED = ("emotion", "pixels", "usage")


def read_fer2013_csv(path: str | Path) -> dict[str, RowedSplit]:
    """Every row of ``path``, split by Usage (Training -> train, PublicTest -> val, PrivateTest -> test).

    Nothing is skipped: a malformed row raises DataError naming the file and its line (header = line 1).
    ``fer_row`` is the 0-based data row, the index FERPlus's ``fer2013new.csv`` uses.
    """
    path = Path(path)
    images: list[np.ndarray] = []
    labels: list[int] = []
    splits: list[str] = []
    try:
        # utf-8-sig: a CSV saved by Excel starts with a byte-order mark that would otherwise stick to "emotion".
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}: empty file, expected a header emotion,pixels,Usage")
            # Some copies (icml_face_data.csv) write " Usage", " pixels": compare stripped, case-folded names.
            columns = [h.strip().lower() for h in header]
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise DataError(f"{path}: line 1: missing column(s) {', '.join(missing)}; header is {header}")
            i_label, i_pixels, i_usage = (columns.index(c) for c in REQUIRED)
            for row in reader:
                if not row:  # a blank line (e.g. at the end) holds no sample
                    continue
                where = f"{path}: line {reader.line_num}"
                if len(row) != len(header):
                    raise DataError(f"{where}: {len(row)} fields, expected {len(header)} ({', '.join(header)})")
                labels.append(_label(row[i_label], where))
                splits.append(_split(row[i_usage], where))
                images.append(_pixels(row[i_pixels], where))
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not a text CSV ({err})") from err
    except csv.Error as err:  # e.g. a NUL byte, an unterminated quote, a field over the size limit
        raise DataError(f"{path}: line {reader.line_num}: unreadable CSV ({err})") from err
    if not images:
        raise DataError(f"{path}: no data rows")
    return _by_split(path, np.stack(images), np.asarray(labels, dtype=np.int64), np.asarray(splits))


def _label(text: str, where: str) -> int:
    try:
        label = int(text)
    except ValueError:
        raise DataError(f"{where}: emotion {text!r} is not an integer") from None
    if not 0 <= label < len(FER2013_CLASSES):
        raise DataError(f"{where}: emotion {label} outside 0..{len(FER2013_CLASSES) - 1}")
    return label


def _split(text: str, where: str) -> str:
    split = USAGE_SPLITS.get(text.strip())
    if split is None:
        raise DataError(f"{where}: unknown Usage {text!r}; expected one of {', '.join(USAGE_SPLITS)}")
    return split


def _pixels(text: str, where: str) -> np.ndarray:
    # np.fromstring parses in C (~70 us a row); a Python split + int() would take 5x longer on 35,887 rows.
    try:
        values = np.fromstring(text, dtype=np.int64, sep=" ")
    except ValueError:
        raise DataError(f"{where}: pixels are not space-separated integers: {text[:40]!r}...") from None
    if values.size != SIDE * SIDE:
        raise DataError(f"{where}: {values.size} pixel values, expected {SIDE * SIDE} ({SIDE}x{SIDE})")
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 255:
        raise DataError(f"{where}: pixel values outside 0..255 (min {low}, max {high})")
    return values.astype(np.uint8).reshape(SIDE, SIDE)


def _by_split(path: Path, images: np.ndarray, labels: np.ndarray, splits: np.ndarray) -> dict[str, RowedSplit]:
    rows = np.arange(len(images), dtype=np.int64)
    ids = np.asarray([f"{path.name}:row={r}" for r in rows])
    out: dict[str, RowedSplit] = {}
    for split in ("train", "val", "test"):
        keep = splits == split
        if keep.any():
            faces = FaceSet(
                images=images[keep],
                labels=labels[keep],
                ids=ids[keep],
                class_names=FER2013_CLASSES,
                name="FER2013",
                split=split,
                source=str(path),
            )
            out[split] = RowedSplit(faces, rows[keep])
    return out
