"""A loaded dataset: its splits (train / val / test / all) and where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from fer.data.faceset import SPLITS, DataError, FaceSet


@dataclass
class DataBundle:
    """The splits one ``load_dataset`` call produced.

    ``format`` is what ``detect_format`` recognised (e.g. ``"npz_dir"``, ``"fer2013_csv+ferplus"``), ``source``
    the path given, ``notes`` what the loader decided for the dataset as a whole (per-split decisions are
    in each ``FaceSet.notes``).
    """

    splits: dict[str, FaceSet]
    format: str
    source: str
    notes: tuple[str, ...] = field(default=())

    def __getitem__(self, split: str) -> FaceSet:
        if split not in self.splits:
            raise DataError(f"{self.source}: no {split!r} split; this dataset has {self._names()}")
        return self.splits[split]

    def __contains__(self, split: object) -> bool:
        return split in self.splits

    def get(self, split: str) -> FaceSet | None:
        return self.splits.get(split)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The label set; every split of a bundle shares it."""
        return next(iter(self.splits.values())).class_names

    def eval_split(self, preferred: str = "test") -> FaceSet:
        """The split to report results on: ``preferred`` if present, else test, else all, else val."""
        for split in (preferred, "test", "all", "val"):
            if split in self.splits:
                return self.splits[split]
        raise DataError(f"{self.source}: nothing to evaluate on (no test, all or val split); it has {self._names()}")

    def summary(self) -> str:
        """One line per split (in train, val, test, all order) with its notes, then the dataset's own notes."""
        lines = [self.splits[s].summary() for s in SPLITS if s in self.splits]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _names(self) -> str:
        return ", ".join(self.splits) or "no splits"
