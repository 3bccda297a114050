"""The one thing every data reader yields: grayscale uint8 faces, labels in our order, sample ids."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

SPLITS = ("train", "val", "test", "all")


class DataError(ValueError):
    """Bad input data; the message names the file (and row or image) and the problem."""


@dataclass(frozen=True)
class FaceSet:
    """One split of a dataset.

    ``images`` are uint8 grayscale, shape (N, H, W), all the same size; ``labels`` are int64
    indices into ``class_names`` (FER2013's order, plus contempt for 8-class sets); ``ids`` are
    unique strings that find the sample again (a file path, a CSV row).
    """

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    class_names: tuple[str, ...]
    name: str  # dataset name: "FER2013", "FERPlus", "RAF-DB", "folder", ...
    split: str  # one of SPLITS
    source: str  # the file or directory it was read from
    notes: tuple[str, ...] = field(default=())  # what the reader dropped or decided

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 3:
            raise DataError(
                f"{self.source}: images must be uint8 (N, H, W), got {self.images.dtype} {self.images.shape}"
            )
        if len(self.labels) != n or len(self.ids) != n:
            raise DataError(f"{self.source}: {n} images, {len(self.labels)} labels, {len(self.ids)} ids")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise DataError(f"{self.source}: labels outside 0..{len(self.class_names) - 1}")
        if self.split not in SPLITS:
            raise DataError(f"{self.source}: unknown split {self.split!r}")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray, note: str | None = None) -> FaceSet:
        """The samples at ``index`` (an integer or boolean array)."""
        notes = self.notes + ((note,) if note else ())
        return replace(self, images=self.images[index], labels=self.labels[index], ids=self.ids[index], notes=notes)

    def class_counts(self) -> dict[str, int]:
        counts = Counter(self.labels.tolist())
        return {name: counts.get(i, 0) for i, name in enumerate(self.class_names)}

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.class_counts().items())
        h, w = self.images.shape[1:] if len(self) else (0, 0)
        text = f"{self.name} {self.split}: {len(self)} images {h}x{w} ({counts}) from {self.source}"
        return text + "".join(f"\n  note: {n}" for n in self.notes)
