"""A user's zip of labelled folders -> one FaceSet: crops are used as they are, photos go through face detection.

Folders of already-cropped faces (FER2013, CK+48, JAFFE crops) are used as they are: OpenCV's
frontal detector finds a face in only about half of FER2013's tight crops. Larger images are
photos: the largest detected face is used, or the centre square when none is found (counted).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np

from fer.budget import check_budget
from fer.data.classes import class_index, class_set
from fer.data.faceset import DataError, FaceSet
from fer.data.images import fit_square, is_hidden
from fer.images import DECODE_MAX_PIXELS, DETECT_MAX_SIDE, ImageError, load_image

CROP_MAX_SIDE = 128  # images up to this size are taken as face crops, larger ones as photos
MAX_FILES = 2000  # faces per upload: four models over 2,000 faces take about a minute on two cores
MAX_BYTES = 300_000_000  # uncompressed bytes of all images together, counted as they are inflated
MAX_ENTRY_BYTES = 40_000_000  # one image file (a 40-megapixel photo compresses far below this)
READ_CHUNK = 1 << 20
# bzip2 and LZMA inflate a whole compressed block at once (2.4 KB became 6 GB): only these are read.
SAFE_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def faces_from_zip(
    path: str | Path,
    *,
    size: int = 96,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
    max_entry_bytes: int = MAX_ENTRY_BYTES,
    skip_bad: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> FaceSet:
    """Read ``class/image`` entries (at any depth below one common folder) of a zip without extracting it.

    Sizes are counted on the bytes actually inflated, never on the sizes the zip declares. With
    ``skip_bad`` an unreadable image is left out and named in the notes instead of failing the whole
    zip. ``progress(done, total)`` is called after every image; a :mod:`fer.budget` limit in force is
    checked there too.
    """
    from fer.faces import detect_faces, whole_image_face

    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise DataError(f"{path.name}: not a readable zip file ({_reason(exc)})") from exc
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir() and _usable(i.filename)]
        if not entries:
            raise DataError(f"{path.name}: no images in class folders (expected e.g. happy/img1.jpg)")
        if len(entries) > max_files:
            raise DataError(f"{path.name}: {len(entries)} images, more than the limit of {max_files}")
        if sum(i.file_size for i in entries) > max_bytes:
            raise DataError(f"{path.name}: more than {max_bytes // 1_000_000} MB uncompressed")
        for info in entries:
            if info.compress_type not in SAFE_COMPRESSION:
                how = COMPRESSION_NAMES.get(info.compress_type, f"method {info.compress_type}")
                raise DataError(
                    f"{path.name}: {info.filename} uses {how} compression; only standard (deflate) or stored "
                    "zips are read. Re-create the zip with your system's usual zip tool."
                )
            if info.flag_bits & 0x1:
                raise DataError(f"{path.name}: {info.filename} is encrypted; upload a zip without a password")
        images, labels, ids, notes, skipped = [], [], [], [], []
        detected = undetected = 0
        budget_left = max_bytes
        ordered = sorted(entries, key=lambda i: i.filename)
        for done, info in enumerate(ordered, 1):
            check_budget()
            parts = PurePosixPath(info.filename).parts
            label = class_index(parts[-2], f"{path.name}:{info.filename}")
            try:
                raw = _read_entry(archive, info, min(max_entry_bytes, budget_left))
                budget_left -= len(raw)
                rgb = load_image(raw, max_pixels=DECODE_MAX_PIXELS, max_side=DETECT_MAX_SIDE)
            except (ImageError, _BadEntry) as exc:
                if isinstance(exc, _BadEntry) and exc.fatal:
                    raise DataError(f"{path.name}: {exc}") from None
                if not skip_bad:
                    raise DataError(
                        f"{path.name}:{info.filename}: {exc} (tick *skip unreadable files* to leave such files out)"
                    ) from None
                skipped.append(f"{info.filename} ({exc})")
                if progress:
                    progress(done, len(ordered))
                continue
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
            if progress:
                progress(done, len(ordered))
    if not images:
        raise DataError(f"{path.name}: none of its {len(ordered)} images could be read ({skipped[0]})")
    if skipped:
        shown = "; ".join(skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        notes.append(f"{len(skipped)} unreadable files skipped: {shown}")
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


class _BadEntry(Exception):
    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal  # a limit of the whole upload, not one bad file


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, inflated in bounded chunks and counted as they come: a lying header cannot hurt."""
    out = bytearray()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(READ_CHUNK):
                out += chunk
                if len(out) > limit:
                    raise _BadEntry(
                        f"{info.filename} inflates to more than {limit // 1_000_000} MB, over the size limit", True
                    )
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise _BadEntry(f"corrupt zip entry ({_reason(exc)})") from None
    return bytes(out)


def _reason(exc: BaseException) -> str:
    """A short reason without server paths: zipfile and OSError messages can name the temp file."""
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text.split(" for file ")[0].split(": '/")[0][:120]


def _usable(name: str) -> bool:
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or any(is_hidden(p) for p in parts) or ".." in parts or name.startswith("/"):
        return False
    return name.lower().endswith(IMAGE_SUFFIXES)
