"""Image files -> one uint8 grayscale (N, S, S) array, whatever their mode, orientation and size."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fer.data.faceset import DataError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm"})
_RESAMPLE = Image.Resampling.LANCZOS
_ORIENTATION = 0x0112  # EXIF tag


def is_hidden(name: str) -> bool:
    """Junk that archives and file browsers leave: ``.DS_Store``, ``._IMG.jpg``, ``__MACOSX``."""
    return name.startswith(".") or name == "__MACOSX"


def is_image_file(path: Path) -> bool:
    """An image by its extension, and not hidden."""
    return path.is_file() and not is_hidden(path.name) and path.suffix.lower() in IMAGE_SUFFIXES


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively, hidden folders skipped), sorted so loading is deterministic."""
    found: list[Path] = []
    # os.walk reads each directory once with scandir; Path.rglob + is_file() would stat every file again.
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not is_hidden(d)]
        found += [
            Path(dirpath, f) for f in filenames if not is_hidden(f) and os.path.splitext(f)[1].lower() in IMAGE_SUFFIXES
        ]
    return sorted(found, key=lambda p: p.as_posix())


def subfolders(folder: Path) -> list[Path]:
    """Non-hidden subfolders, sorted."""
    return sorted((p for p in folder.iterdir() if p.is_dir() and not is_hidden(p.name)), key=lambda p: p.name)


def read_images(paths: Sequence[Path], image_size: int) -> tuple[np.ndarray, str | None]:
    """Decode ``paths`` to uint8 (N, S, S): native size if all share one square size, else ``image_size``.

    Returns the array and a note describing any resizing (None when none was needed).
    """
    # One pass: keep native pixels while every image has the same square size; at the first that does not,
    # resize what was kept and everything after it. Memory stays at about the size of the result.
    kept: list[np.ndarray] = []
    sizes: set[tuple[int, int]] = set()
    resizing = False
    for path in paths:
        gray = read_gray(path)
        h, w = gray.shape
        sizes.add((w, h))
        if not resizing and (w != h or len(sizes) > 1):
            resizing = True
            kept = [fit_square(k, image_size) for k in kept]
        kept.append(fit_square(gray, image_size) if resizing else gray)
    if not resizing:
        return np.stack(kept) if kept else np.zeros((0, image_size, image_size), np.uint8), None
    shown = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:5]) + (", ..." if len(sizes) > 5 else "")
    note = f"images of {len(sizes)} sizes ({shown}) center-cropped to square and resized to {image_size}x{image_size}"
    return np.stack(kept), note


def read_gray(path: Path) -> np.ndarray:
    """One image as uint8 grayscale (H, W), upright per its EXIF orientation tag."""
    try:
        with Image.open(path) as im:
            if im.getexif().get(_ORIENTATION, 1) != 1:  # most files have none; exif_transpose would copy anyway
                im = ImageOps.exif_transpose(im)
            gray = _to_gray(im)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as err:
        # PIL reports corrupt files as OSError, unknown formats as UnidentifiedImageError, bad headers as SyntaxError.
        raise DataError(f"{path}: cannot read image ({err})") from err
    return np.asarray(gray, dtype=np.uint8)


def fit_square(gray: np.ndarray, side: int) -> np.ndarray:
    """Center-crop to a square and resize to ``side`` (Lanczos). Cropping rather than squashing: faces are
    usually centred, and squashing would change their geometry."""
    if gray.shape == (side, side):
        return gray
    return np.asarray(ImageOps.fit(Image.fromarray(gray), (side, side), method=_RESAMPLE), dtype=np.uint8)


def _to_gray(im: Image.Image) -> Image.Image:
    """Any PIL mode -> "L" (ITU-R 601 luma); alpha composited on white, 16-bit scaled (not clipped) to 8-bit."""
    mode = im.mode
    if mode == "L":
        return im.copy()
    if mode.startswith("I;16") or mode == "I":
        # 16-bit PNG/TIFF: map 0..65535 onto 0..255 (x / 257); clipping would turn most faces white.
        wide = np.asarray(im).astype(np.int64).clip(0, 65535)
        return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), mode="L")
    if mode == "F":
        values = np.asarray(im, dtype=np.float64)
        scale = 255.0 if np.nanmax(values, initial=0.0) <= 1.0 else 1.0  # 0..1 floats or 0..255 floats
        return Image.fromarray(np.nan_to_num(values * scale).clip(0, 255).round().astype(np.uint8), mode="L")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
        # Transparent pixels carry arbitrary colour (often black); show them as a viewer would, on white.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    if mode in ("CMYK", "YCbCr", "P", "1", "RGB", "RGBX"):
        return im.convert("RGB").convert("L") if mode != "RGB" else im.convert("L")
    raise ValueError(f"unsupported image mode {mode}")
