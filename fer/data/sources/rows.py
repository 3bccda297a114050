"""A split that remembers each sample's row in fer2013.csv: the key FERPlus's votes are joined on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer.data.faceset import FaceSet

# fer2013.csv's Usage column names the official splits; FERPlus calls them FER2013Train/Valid/Test.
USAGE_SPLITS: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}


@dataclass(frozen=True)
class RowedSplit:
    """``faces`` plus ``fer_row``: int64, the 0-based data row of fer2013.csv per sample (-1: unknown), or None."""

    faces: FaceSet
    fer_row: np.ndarray | None = None
