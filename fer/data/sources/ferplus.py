"""FERPlus: Microsoft's 10-annotator votes (``fer2013new.csv``) that relabel the FER2013 images into 8 classes.

The votes file holds no pixels: its row i is fer2013.csv's data row i, so the images come from fer2013.csv
or from our npz files through their ``fer_row`` array.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fer.data.faceset import DataError, FaceSet
from fer.data.sources.rows import USAGE_SPLITS, RowedSplit
from fer.labels import FERPLUS_CLASSES

VOTES_FILE = "fer2013new.csv"
# fer2013new.csv's vote columns, in its order; the last two are not emotions.
VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
# Vote column -> our index (FER2013's order + contempt): neutral->6, happiness->3, ..., contempt->7.
COLUMN_TO_OURS = np.array([6, 3, 5, 4, 0, 1, 2, 7], dtype=np.int64)
UNKNOWN = -1  # majority_labels' value for "no clear majority" or a majority of "unknown" votes
NOT_A_FACE = -2  # majority_labels' value for a majority of NF ("not a face") votes
_SPLIT_USAGE = {split: usage for usage, split in USAGE_SPLITS.items()}


@dataclass(frozen=True)
class FerPlusVotes:
    """The votes file: ``votes`` int64 (rows, 10) in ``VOTE_COLUMNS`` order, ``usage`` per row, in fer2013.csv order."""

    votes: np.ndarray
    usage: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.votes)


def is_votes_header(header: list[str]) -> bool:
    """Whether a CSV header is fer2013new.csv's (vote columns, no pixels)."""
    names = {h.strip() for h in header}
    return {"Usage", *VOTE_COLUMNS} <= names and "pixels" not in {n.lower() for n in names}


def find_votes_file(path: str | Path) -> Path:
    """``path`` itself, or ``fer2013new.csv`` in it or in its ``ferplus/`` subfolder when it is a directory."""
    path = Path(path)
    candidates = [path / VOTES_FILE, path / "ferplus" / VOTES_FILE] if path.is_dir() else [path]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise DataError(f"{path}: no FERPlus votes file ({VOTES_FILE}) there")
    return found


def read_ferplus_votes(path: str | Path) -> FerPlusVotes:
    """Parse ``fer2013new.csv``; a bad row raises DataError naming the file and line (header = line 1)."""
    path = find_votes_file(path)
    try:
        votes, usage = _read_votes(path)
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not a text CSV ({err})") from err
    except csv.Error as err:
        raise DataError(f"{path}: unreadable CSV ({err})") from err
    if not votes:
        raise DataError(f"{path}: no data rows")
    return FerPlusVotes(np.asarray(votes, dtype=np.int64), np.asarray(usage), str(path))


def _read_votes(path: Path) -> tuple[list[list[int]], list[str]]:
    votes: list[list[int]] = []
    usage: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if not is_votes_header(header):
            raise DataError(f"{path}: line 1: expected FERPlus columns Usage, Image name, {', '.join(VOTE_COLUMNS)}")
        cols = [header.index(c) for c in VOTE_COLUMNS]
        i_usage = header.index("Usage")
        for row in reader:
            if not row:
                continue
            where = f"{path}: line {reader.line_num}"
            if len(row) != len(header):
                raise DataError(f"{where}: {len(row)} fields, expected {len(header)}")
            if row[i_usage].strip() not in USAGE_SPLITS:
                raise DataError(f"{where}: unknown Usage {row[i_usage]!r}; expected one of {', '.join(USAGE_SPLITS)}")
            try:
                counts = [int(row[c]) for c in cols]
            except ValueError:
                raise DataError(f"{where}: vote counts must be integers, got {[row[c] for c in cols]}") from None
            if min(counts) < 0:
                raise DataError(f"{where}: negative vote count {counts}")
            votes.append(counts)
            usage.append(row[i_usage].strip())
    return votes, usage


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """FERPlus's "majority" mode, as in its ``ferplus.py``: one label per row, in our order, or UNKNOWN / NOT_A_FACE.

    First every count of a single vote is zeroed (outlier removal); then the top count must be more than half
    of what remains, else the row is "unknown". A majority of the unknown or NF columns gives those too.
    """
    v = np.asarray(votes, dtype=np.int64).copy()
    v[v <= 1] = 0
    top = v.argmax(axis=1)
    has_majority = v.max(axis=1) * 2 > v.sum(axis=1)  # integer form of max > 0.5 * sum
    out = np.full(len(v), UNKNOWN, dtype=np.int64)
    emotion = has_majority & (top < len(COLUMN_TO_OURS))
    out[emotion] = COLUMN_TO_OURS[top[emotion]]
    out[has_majority & (top == VOTE_COLUMNS.index("NF"))] = NOT_A_FACE
    return out


def relabel_with_ferplus(splits: dict[str, RowedSplit], votes: FerPlusVotes) -> dict[str, FaceSet]:
    """FER2013 images with FERPlus majority labels (8 classes); unjoinable, unknown and not-a-face samples dropped.

    Each split's notes say how many were dropped and why.
    """
    labels = majority_labels(votes.votes)
    out: dict[str, FaceSet] = {}
    for split, part in splits.items():
        faces, rows = part.faces, part.fer_row
        if rows is None:
            raise DataError(
                f"{faces.source}: no fer2013.csv row per image ('fer_row'), so the FERPlus votes cannot be joined"
            )
        if len(rows) and rows.max() >= len(votes):
            raise DataError(f"{faces.source}: fer_row up to {rows.max()}, but {votes.source} has {len(votes)} rows")
        joined = rows >= 0
        usage = _SPLIT_USAGE.get(split)
        if usage is not None:
            wrong = joined & (votes.usage[np.where(joined, rows, 0)] != usage)
            if wrong.any():
                first = int(np.flatnonzero(wrong)[0])
                raise DataError(
                    f"{faces.source}: {int(wrong.sum())} {split} images join to votes rows whose Usage is not {usage} "
                    f"(e.g. {faces.ids[first]} -> row {rows[first]}); the two files do not belong together"
                )
        label = np.where(joined, labels[np.where(joined, rows, 0)], UNKNOWN)
        keep = joined & (label >= 0)
        unknown, not_face = int((joined & (label == UNKNOWN)).sum()), int((label == NOT_A_FACE).sum())
        note = (
            f"FERPlus majority labels from {votes.source}: kept {int(keep.sum())} of {len(faces)}; dropped "
            f"{int((~joined).sum())} without a fer2013.csv row, {unknown} unknown (no majority after removing "
            f"single votes, or a majority of 'unknown'), {not_face} not a face (NF)"
        )
        kept = faces.subset(keep)
        out[split] = replace(
            kept,
            labels=label[keep],
            class_names=FERPLUS_CLASSES,
            name="FERPlus",
            notes=kept.notes + (note,),
        )
    return out
