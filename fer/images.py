"""Load any image a user can throw at the app into one thing: a writable, contiguous RGB uint8 array (H, W, 3).

Uploads are untrusted: sizes are checked from the header before any pixel is decoded, and every
decoder failure becomes an :class:`ImageError` with a message a person can act on.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes] | Image.Image | np.ndarray

_HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}  # >8 bits per pixel: stretched, not clipped
DECODE_MAX_PIXELS = 40_000_000  # the largest photo accepted at all
# Photos are analysed at most this large: face detection (fer.faces) runs at 1024 px anyway, and a
# 40-megapixel RGB array plus its copies cost over a gigabyte per request. JPEGs are even decoded at
# reduced scale.
DETECT_MAX_SIDE = 2048
MAX_ASPECT = 20.0  # a 40000x16 strip holds no face, and shrinking it leaves less than a pixel


class ImageError(ValueError):
    """An image that cannot be used: unreadable, corrupt, too small or too large. The message says which."""


def load_image(
    src: ImageSource, *, max_pixels: int = DECODE_MAX_PIXELS, min_side: int = 16, max_side: int | None = None
) -> np.ndarray:
    """Any image source -> RGB uint8 (H, W, 3), writable and C-contiguous.

    ``src`` may be a path, encoded bytes, a binary file-like object, a ``PIL.Image.Image`` or a numpy
    array (HxW gray, HxWx1/2/3/4 with alpha; uint8, uint16, bool, other integers, or float in [0, 1]).
    EXIF orientation is applied, transparency is composited on white, animations give their first
    frame, and images with more than 8 bits per sample have their actual range stretched to 0..255.

    Raises :class:`ImageError` for corrupt or non-image data and for images with more than
    ``max_pixels`` pixels or a side shorter than ``min_side``; ``TypeError`` for unsupported source types.
    With ``max_side`` the image is shrunk (aspect kept) so its longer side is at most ``max_side``
    (JPEGs are decoded at reduced scale directly), and images longer than ``MAX_ASPECT`` times their
    width are refused.
    """
    if isinstance(src, np.ndarray):
        return _finish(_shrink_array(_array_to_rgb(src, max_pixels, min_side), max_side, "array"))
    if isinstance(src, Image.Image):
        return _finish(_pil_to_rgb(src, max_pixels, min_side, "image", max_side))
    if isinstance(src, (str, os.PathLike)):
        what = str(src)
        try:
            fp = open(src, "rb")  # closed by the with below
        except OSError as exc:  # missing file, a directory, no permission: before PIL sees a byte
            raise ImageError(f"{what}: cannot open the file ({exc.strerror or exc})") from exc
        with fp, _open(fp, what, max_pixels) as im:
            return _finish(_pil_to_rgb(im, max_pixels, min_side, what, max_side))
    if isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise ImageError("image data is empty")
        with _open(io.BytesIO(bytes(src)), "image data", max_pixels) as im:
            return _finish(_pil_to_rgb(im, max_pixels, min_side, "image data", max_side))
    if hasattr(src, "read"):
        name = getattr(src, "name", None)
        what = name if isinstance(name, str) else "file"
        with _open(src, what, max_pixels) as im:
            return _finish(_pil_to_rgb(im, max_pixels, min_side, what, max_side))
    raise TypeError(f"cannot load an image from a {type(src).__name__}")


def _open(fp: Any, what: str, max_pixels: int) -> Image.Image:
    """``Image.open`` reads only the header: the size is known here, the pixels are not decoded yet."""
    try:
        return Image.open(fp)
    except Image.DecompressionBombError as exc:
        # PIL refuses images over twice its own limit before we can ask their size; its message gives it.
        raise ImageError(f"{what}: image is too large ({exc}); the limit is {max_pixels:,} pixels") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{what}: not an image, or an image format that cannot be read") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{what}: corrupt image header ({exc})") from exc


def _check_size(size: tuple[int, int], max_pixels: int, min_side: int, what: str) -> None:
    w, h = int(size[0]), int(size[1])
    if w * h > max_pixels:
        raise ImageError(f"{what}: image is {w}x{h} = {w * h:,} pixels, more than the limit of {max_pixels:,} pixels")
    if min(w, h) < min_side:
        raise ImageError(f"{what}: image is {w}x{h} pixels, too small: each side must be at least {min_side} pixels")


def _check_aspect(size: tuple[int, int], what: str) -> None:
    w, h = int(size[0]), int(size[1])
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise ImageError(
            f"{what}: image is {w}x{h} pixels, too long and thin to hold a face (at most {MAX_ASPECT:g}:1)"
        )


def _shrunk_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    scale = max_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _shrink_array(rgb: np.ndarray, max_side: int | None, what: str) -> np.ndarray:
    if max_side is None:
        return rgb
    _check_aspect((rgb.shape[1], rgb.shape[0]), what)
    if max(rgb.shape[:2]) <= max_side:
        return rgb
    import cv2

    return cv2.resize(rgb, _shrunk_size((rgb.shape[1], rgb.shape[0]), max_side), interpolation=cv2.INTER_AREA)


def _pil_to_rgb(im: Image.Image, max_pixels: int, min_side: int, what: str, max_side: int | None = None) -> np.ndarray:
    _check_size(im.size, max_pixels, min_side, what)  # from the header: nothing decoded yet
    if max_side is not None:
        _check_aspect(im.size, what)
        if max(im.size) > max_side and im.format == "JPEG":
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale: the full-size pixels never exist in memory.
            im.draft(im.mode, _shrunk_size(im.size, max_side))
    frame = getattr(im, "tell", lambda: 0)()
    animated = getattr(im, "n_frames", 1) > 1
    try:
        if animated and frame != 0:
            im.seek(0)
        try:
            im.load()
        except Image.DecompressionBombError as exc:
            raise ImageError(f"{what}: image is too large ({exc}); the limit is {max_pixels:,} pixels") from exc
        except Exception as exc:  # untrusted bytes: any decoder failure is a bad image, not a bug of ours
            raise ImageError(f"{what}: corrupt or truncated image ({type(exc).__name__}: {exc})") from exc
        try:
            oriented = ImageOps.exif_transpose(im)
        except Exception:  # a broken EXIF block: keep the pixels as stored rather than refuse the photo
            oriented = im
        if max_side is not None and max(oriented.size) > max_side and oriented.mode not in _HIGH_DEPTH_MODES:
            # reduce() by an integer factor first, then a light resample: no full-size float copy.
            oriented = oriented.resize(
                _shrunk_size(oriented.size, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0
            )
        return _shrink_array(_mode_to_rgb(oriented, what), max_side, what)
    finally:
        if animated and frame != 0:
            im.seek(frame)  # leave a caller's image on the frame it was on


def _mode_to_rgb(im: Image.Image, what: str) -> np.ndarray:
    if im.mode in _HIGH_DEPTH_MODES:
        return _gray_to_rgb(_stretch(np.array(im)))
    if im.mode == "RGB" and "transparency" not in im.info:
        return np.array(im)
    try:
        if {"A", "a"} & set(im.getbands()) or "transparency" in im.info:  # RGBA, LA, PA, P with tRNS, ...
            return _on_white(np.array(im.convert("RGBA")))
        return np.array(im.convert("RGB"))  # L, 1, P, CMYK, YCbCr, LAB, HSV
    except (ValueError, OSError) as exc:
        raise ImageError(f"{what}: cannot convert an image of mode {im.mode} to RGB ({exc})") from exc


def _array_to_rgb(a: np.ndarray, max_pixels: int, min_side: int) -> np.ndarray:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise ImageError(f"array of shape {a.shape} is not an image: expected HxW, HxWx1, HxWx2, HxWx3 or HxWx4")
    _check_size((a.shape[1], a.shape[0]), max_pixels, min_side, "array")
    a = _to_uint8(a)
    if a.ndim == 2:
        return _gray_to_rgb(a)
    if a.shape[2] == 2:  # gray + alpha
        return _on_white(np.concatenate([np.repeat(a[:, :, :1], 3, axis=2), a[:, :, 1:]], axis=2))
    if a.shape[2] == 4:
        return _on_white(a)
    return a


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageError("float image array holds NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ImageError(f"float image arrays must hold values in [0, 1]; this one spans [{lo:g}, {hi:g}]")
        return np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        if a.dtype != np.uint16 and a.min() >= 0 and a.max() <= 255:
            return a.astype(np.uint8)  # e.g. int64 arrays built from Python lists of 0..255
        if a.ndim == 3 and a.shape[2] in (2, 4):  # stretch the colour; alpha keeps its own scale
            return np.concatenate([_stretch(a[:, :, :-1]), _alpha_to_uint8(a[:, :, -1:])], axis=2)
        return _stretch(a)
    raise ImageError(f"unsupported image array dtype {a.dtype}")


def _alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    # Opaque is the dtype's maximum for unsigned data (65535 for uint16), else the largest value present.
    top = np.iinfo(alpha.dtype).max if alpha.dtype.kind == "u" else max(int(alpha.max()), 1)
    return np.rint(np.clip(alpha.astype(np.float64) / top, 0, 1) * 255).astype(np.uint8)


def _stretch(a: np.ndarray) -> np.ndarray:
    """Map the values actually used to 0..255: 12-bit data in a 16-bit container is not left near-black."""
    x = a.astype(np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return np.zeros(a.shape, np.uint8)
    lo, hi = float(x[finite].min()), float(x[finite].max())
    if hi > lo:
        x = (x - lo) / (hi - lo)
    elif a.dtype.kind == "f":  # a flat image: no range to stretch, read the value on the usual 0..1 scale
        x = np.full_like(x, lo)
    else:
        x = np.full_like(x, lo / 65535.0)
    return np.rint(np.clip(np.nan_to_num(x, nan=0.0), 0, 1) * 255).astype(np.uint8)


def _gray_to_rgb(g: np.ndarray) -> np.ndarray:
    return np.repeat(g[:, :, None], 3, axis=2)


def _on_white(rgba: np.ndarray) -> np.ndarray:
    """Composite straight (non-premultiplied) RGBA on a white background, as a browser shows it."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    rgb = rgba[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.rint(rgb).astype(np.uint8)


def _finish(rgb: np.ndarray) -> np.ndarray:
    # Own, writable, contiguous memory: never a view of a caller's array or of PIL's buffer.
    return np.array(rgb, dtype=np.uint8, order="C", copy=True)
