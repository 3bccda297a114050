"""One entry point for every dataset layout: ``load_dataset(path)`` recognises the format and reads it."""

from __future__ import annotations

import csv
from pathlib import Path

from fer.data.bundle import DataBundle
from fer.data.faceset import SPLITS, DataError
from fer.data.sources.fer2013_csv import read_fer2013_csv
from fer.data.sources.ferplus import VOTES_FILE, is_votes_header, read_ferplus_votes, relabel_with_ferplus
from fer.data.sources.image_folders import has_class_layout, has_split_layout, read_class_folders, read_split_folders
from fer.data.sources.npz import npz_split_files, read_npz, read_npz_dir
from fer.data.sources.rafdb import LABEL_FILE, find_label_file, read_rafdb
from fer.data.sources.rows import RowedSplit
from fer.data.split import carve_val

FORMATS = (
    "fer2013_csv",  # Kaggle fer2013.csv (a file, or a folder holding it)
    "ferplus_votes",  # fer2013new.csv: labels only, needs FER2013 images
    "npz",  # one .npz file: split "all"
    "npz_dir",  # train.npz / publictest.npz / privatetest.npz
    "rafdb",  # RAF-DB basic
    "image_split_folders",  # train/ test/ (val/) folders of class folders, e.g. Kaggle's FER2013 images
    "image_class_folders",  # class folders: split "all"
)
FER2013_CSV = "fer2013.csv"
LOOKED_FOR = (
    "a CSV with a 'pixels' column (fer2013.csv), a .npz file, train.npz/publictest.npz/privatetest.npz "
    "(here or in fer2013/), fer2013.csv (here or in fer2013/), RAF-DB's list_patition_label.txt "
    "(here or in EmoLabel/), train/ val/ test/ folders of class folders, or folders named after emotions "
    "(angry, happy, ...)"
)


def detect_format(path: str | Path) -> str:
    """Which of ``FORMATS`` ``path`` holds; DataError saying what was looked for if none."""
    return _resolve(Path(path))[0]


def load_dataset(
    path: str | Path,
    *,
    ferplus: str | Path | None = None,
    image_size: int = 96,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> DataBundle:
    """Read the dataset at ``path`` into canonical splits (labels in FER2013's order, + contempt).

    ``ferplus``: FERPlus's ``fer2013new.csv`` (or its folder) to relabel FER2013 images with its majority votes.
    ``image_size``: side that image folders of mixed sizes are resized to (same-size square images keep theirs).
    ``val_fraction``, ``seed``: a dataset with train but no val gets a stratified val carved from train (0: none).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    path = Path(path)
    fmt, where = _resolve(path)
    notes: list[str] = []
    if fmt == "ferplus_votes":
        raise DataError(
            f"{path}: this is FERPlus's vote file ({VOTES_FILE}); it holds labels but no images. Give the FER2013 "
            "images as the data (fer2013.csv or the npz files) and this file as the FERPlus votes (--ferplus)"
        )
    if fmt in ("fer2013_csv", "npz", "npz_dir"):
        votes = read_ferplus_votes(ferplus) if ferplus is not None else None  # a bad votes path fails first
        rowed = _read_rowed(fmt, where)
        if votes is not None:
            splits = relabel_with_ferplus(rowed, votes)
            fmt += "+ferplus"
        else:
            splits = {k: s.faces for k, s in rowed.items()}
    else:
        if ferplus is not None:
            raise DataError(
                f"{path}: FERPlus votes can only relabel FER2013 images joined by their fer2013.csv row "
                f"(fer2013.csv, or npz files with 'fer_row'); this is {fmt}"
            )
        reader = {"rafdb": read_rafdb, "image_split_folders": read_split_folders}.get(fmt, read_class_folders)
        splits = reader(where, image_size=image_size)
    if "train" in splits and "val" not in splits:
        if val_fraction > 0:
            splits["train"], splits["val"] = carve_val(splits["train"], val_fraction, seed)  # notes on both
        else:
            notes.append("no val split and val_fraction=0: none carved")
    ordered = {s: splits[s] for s in SPLITS if s in splits}
    return DataBundle(ordered, fmt, str(path), tuple(notes))


def _read_rowed(fmt: str, where: Path) -> dict[str, RowedSplit]:
    if fmt == "fer2013_csv":
        return read_fer2013_csv(where)
    if fmt == "npz":
        return {"all": read_npz(where, split="all")}
    return read_npz_dir(where)


def _resolve(path: Path) -> tuple[str, Path]:
    """(format, the file or folder its reader takes): folders may hold the data one level down."""
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_file():
        return _resolve_file(path)
    if npz_split_files(path):
        return "npz_dir", path
    if npz_split_files(path / "fer2013"):  # e.g. shared/data, which also holds ferplus/
        return "npz_dir", path / "fer2013"
    for csv_file in (path / FER2013_CSV, path / "fer2013" / FER2013_CSV):  # Kaggle's archive unpacks to fer2013/
        if csv_file.is_file():
            return "fer2013_csv", csv_file
    if find_label_file(path) is not None:
        return "rafdb", path
    if has_split_layout(path):
        return "image_split_folders", path
    if has_class_layout(path):
        return "image_class_folders", path
    if (path / VOTES_FILE).is_file():
        return "ferplus_votes", path / VOTES_FILE
    raise DataError(f"{path}: not a dataset layout we recognise; looked for {LOOKED_FOR}")


def _resolve_file(path: Path) -> tuple[str, Path]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz", path
    if path.name == LABEL_FILE:  # RAF-DB's label file given directly
        root = path.parent.parent if path.parent.name == "EmoLabel" else path.parent
        return "rafdb", root
    if suffix == ".csv":
        header = _csv_header(path)
        if "pixels" in {h.strip().lower() for h in header}:
            return "fer2013_csv", path
        if is_votes_header(header):
            return "ferplus_votes", path
        raise DataError(f"{path}: a CSV without a 'pixels' column (header {header}); looked for {LOOKED_FOR}")
    raise DataError(f"{path}: not a dataset file we recognise; looked for {LOOKED_FOR}")


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return next(csv.reader(f), [])
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: not a readable CSV ({err})") from err
