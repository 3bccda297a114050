"""A validation split carved out of train, for datasets that publish only train and test (RAF-DB, folders)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fer.data.faceset import DataError, FaceSet


def carve_val(train: FaceSet, fraction: float, seed: int = 0) -> tuple[FaceSet, FaceSet]:
    """(train without val, val): ``fraction`` of every class, chosen with ``seed``.

    Stratified so that rare classes (disgust, contempt) are in val in the same proportion as in train;
    a class too small to give one sample at this fraction stays entirely in train.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"val fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    in_val = np.zeros(len(train), dtype=bool)
    for label in np.unique(train.labels):
        members = np.flatnonzero(train.labels == label)
        in_val[rng.permutation(members)[: int(round(len(members) * fraction))]] = True
    note = (
        f"no official val split: val is a stratified {fraction:.0%} of {train.name} train (seed {seed}), "
        f"{int(in_val.sum())} images; train keeps {int((~in_val).sum())}"
    )
    val = train.subset(in_val, note=note)
    return train.subset(~in_val, note=note), replace(val, split="val")
