"""A user's zip of labelled folders -> one FaceSet: crops are used as they are, photos go through face detection.

Folders of already-cropped faces (FER2013, CK+48, JAFFE crops) are used as they are: OpenCV's
frontal detector finds a face in only about half of FER2013's tight crops. Larger images are
photos: the largest detected face is used, or the centre square when none is found (counted).
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from fer.data.classes import class_index, class_set
from fer.data.faceset import DataError, FaceSet
from fer.data.images import fit_square, is_hidden
from fer.images import ImageError, load_image

CROP_MAX_SIDE = 128  # images up to this size are taken as face crops, larger ones as photos
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def faces_from_zip(path: str | Path, *, size: int = 96, max_files: int = 5000, max_bytes: int = 500_000_000) -> FaceSet:
    """Read ``class/image`` entries (at any depth below one common folder) of a zip without extracting it."""
    from fer.faces import detect_faces, whole_image_face

    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path.name}: not a readable zip file ({exc})") from exc
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir() and _usable(i.filename)]
        if not entries:
            raise DataError(f"{path.name}: no images in class folders (expected e.g. happy/img1.jpg)")
        if len(entries) > max_files:
            raise DataError(f"{path.name}: {len(entries)} images, more than the limit of {max_files}")
        if sum(i.file_size for i in entries) > max_bytes:
            raise DataError(f"{path.name}: more than {max_bytes // 1_000_000} MB uncompressed")
        images, labels, ids, notes = [], [], [], []
        detected = undetected = 0
        for info in sorted(entries, key=lambda i: i.filename):
            parts = PurePosixPath(info.filename).parts
            label = class_index(parts[-2], f"{path.name}:{info.filename}")
            try:
                rgb = load_image(archive.read(info))
            except ImageError as exc:
                raise DataError(f"{path.name}:{info.filename}: {exc}") from exc
            if max(rgb.shape[:2]) <= CROP_MAX_SIDE:
                gray = whole_image_face(rgb).gray
            else:
                faces = detect_faces(rgb)
                detected += bool(faces)
                undetected += not faces
                gray = (faces[0] if faces else whole_image_face(rgb)).gray
            images.append(fit_square(gray, size))
            labels.append(label)
            ids.append(info.filename)
    if detected or undetected:
        notes.append(
            f"{detected} photos cropped to their largest detected face; {undetected} without a detected "
            "face used whole (centre square)"
        )
    classes = class_set(parts_class for parts_class in {PurePosixPath(i).parts[-2] for i in ids})
    return FaceSet(
        np.stack(images),
        np.array(labels, np.int64),
        np.array(ids),
        classes,
        "your data",
        "all",
        path.name,
        tuple(notes),
    )


def _usable(name: str) -> bool:
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or any(is_hidden(p) for p in parts) or ".." in parts or name.startswith("/"):
        return False
    return name.lower().endswith(IMAGE_SUFFIXES)
