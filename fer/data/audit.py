"""Leakage audit: exact pixel duplicates between train and the evaluation splits, and inside train.

FER2013 ships with such twins (the same web image scraped twice), so a model can be scored on faces it
trained on. Exact equality only; near-duplicates (re-encodings, crops) are not detected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from fer.data.bundle import DataBundle
from fer.data.faceset import FaceSet


@dataclass(frozen=True)
class DuplicateReport:
    """Exact-duplicate counts for one bundle.

    ``train_twins[s]``: indices of train images whose exact pixels also occur in split ``s``.
    ``twins_in_train[s]``: how many of split ``s``'s images also occur in train. The two differ when one side
    holds several copies (3 identical train images matching 1 val image count 3 and 1).
    ``between[(a, b)]``: how many of ``a``'s images occur in ``b``, for the non-train splits.
    ``within_train``: train images that have an identical twin inside train, in ``within_train_groups`` groups,
    of which ``conflicting_groups`` carry more than one label.
    """

    train_size: int
    split_sizes: dict[str, int]
    train_twins: dict[str, np.ndarray]
    twins_in_train: dict[str, int]
    within_train: int
    within_train_groups: int
    conflicting_groups: int
    between: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def leaking_train_indices(self) -> np.ndarray:
        """Train indices with a twin in any evaluation split (what ``drop_train_duplicates`` removes)."""
        parts = list(self.train_twins.values())
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def summary(self) -> str:
        if not self.train_size:
            text = "no train split: nothing to audit for train/eval leakage"
        elif not self.train_twins:
            text = "no evaluation split to compare train with"
        else:
            text = "train has " + " and ".join(
                f"{len(i):,} exact duplicates of {s} images" for s, i in self.train_twins.items()
            )
            text += (
                " (" + ", ".join(f"{n:,} {s} images have a twin in train" for s, n in self.twins_in_train.items()) + ")"
            )
        if self.train_size:
            text += (
                f"; {self.within_train:,} train images have a twin inside train "
                f"({self.within_train_groups:,} groups, {self.conflicting_groups:,} with conflicting labels)"
            )
        for (a, b), count in self.between.items():
            text += f"; {count:,} {a} images have a twin in {b}"
        return text


def image_keys(faces: FaceSet) -> np.ndarray:
    """A 16-byte BLAKE2 digest per image (shape included), as an ``S16`` array: equal keys <=> equal pixels."""
    shape = np.asarray(faces.images.shape[1:], dtype=np.int64).tobytes()
    images = np.ascontiguousarray(faces.images)
    return np.asarray([hashlib.blake2b(shape + img.tobytes(), digest_size=16).digest() for img in images], dtype="S16")


def audit_duplicates(bundle: DataBundle) -> DuplicateReport:
    """Count exact pixel duplicates: train vs every other split, and inside train."""
    keys = {s: image_keys(f) for s, f in bundle.splits.items()}
    others = [s for s in ("val", "test", "all") if s in keys]
    train = bundle.get("train")
    between: dict[tuple[str, str], int] = {}
    for i, a in enumerate(others):
        for b in others[i + 1 :]:
            between[(b, a)] = int(np.isin(keys[b], keys[a]).sum())
    if train is None:
        return DuplicateReport(0, {s: len(bundle[s]) for s in others}, {}, {}, 0, 0, 0, between)
    tk = keys["train"]
    twins = {s: np.flatnonzero(np.isin(tk, keys[s])) for s in others}
    twins_in_train = {s: int(np.isin(keys[s], tk).sum()) for s in others}
    _, group, counts = np.unique(tk, return_inverse=True, return_counts=True)
    repeated = counts[group] > 1
    # A group conflicts when its images do not all share one label: count distinct (group, label) pairs.
    pairs = np.unique(np.stack([group[repeated], train.labels[repeated]]), axis=1)
    labels_per_group = np.bincount(pairs[0], minlength=len(counts))
    return DuplicateReport(
        train_size=len(train),
        split_sizes={s: len(bundle[s]) for s in others},
        train_twins=twins,
        twins_in_train=twins_in_train,
        within_train=int(repeated.sum()),
        within_train_groups=int((counts > 1).sum()),
        conflicting_groups=int((labels_per_group > 1).sum()),
        between=between,
    )


def drop_train_duplicates(bundle: DataBundle) -> tuple[DataBundle, int]:
    """A bundle whose train split has no exact twin of any val/test/all image, and how many were removed."""
    report = audit_duplicates(bundle)
    drop = report.leaking_train_indices
    if not len(drop):
        return bundle, 0
    train = bundle["train"]
    keep = np.ones(len(train), dtype=bool)
    keep[drop] = False
    where = "/".join(s for s, idx in report.train_twins.items() if len(idx))
    note = f"dropped {len(drop):,} train images that are exact pixel twins of {where} images (leakage)"
    splits = dict(bundle.splits)
    splits["train"] = train.subset(keep, note=note)
    return DataBundle(splits, bundle.format, bundle.source, bundle.notes), len(drop)
