"""load_image: every source type and pixel format becomes RGB uint8; bad, tiny and huge images fail clearly."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer.images import ImageError, load_image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def halves(w: int = 60, h: int = 40, left: tuple = RED, right: tuple = BLUE) -> Image.Image:
    """Left half one colour, right half another: shows rotations and flips."""
    a = np.zeros((h, w, 3), np.uint8)
    a[:, : w // 2] = left
    a[:, w // 2 :] = right
    return Image.fromarray(a)


def png_with_size(width: int, height: int) -> bytes:
    """A valid small PNG whose IHDR claims another size (CRC fixed): decoding it would fail, reading its header not."""
    data = bytearray(encode(Image.new("L", (16, 16)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def check_rgb(a: np.ndarray, shape: tuple[int, int]) -> None:
    assert a.dtype == np.uint8
    assert a.shape == (*shape, 3)
    assert a.flags.c_contiguous and a.flags.writeable and a.flags.owndata


# --- sources -----------------------------------------------------------------------------------


def test_every_source_type_gives_the_same_pixels(tmp_path: Path) -> None:
    im = halves()
    png = encode(im, "PNG")
    path = tmp_path / "halves.png"
    path.write_bytes(png)
    expected = np.asarray(im)
    for src in (str(path), path, png, bytearray(png), memoryview(png), io.BytesIO(png), im, expected):
        out = load_image(src)
        check_rgb(out, (40, 60))
        np.testing.assert_array_equal(out, expected)


def test_open_and_unseekable_files(tmp_path: Path) -> None:
    png = encode(halves(), "PNG")

    class Stream:  # a pipe or socket: read() only
        def __init__(self, data: bytes) -> None:
            self._buf = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._buf.read(n)

    np.testing.assert_array_equal(load_image(Stream(png)), np.asarray(halves()))
    path = tmp_path / "a.png"
    path.write_bytes(png)
    with open(path, "rb") as fh:
        assert load_image(fh).shape == (40, 60, 3)
        assert not fh.closed  # the caller's file stays the caller's
    with open(path, "rb") as fh, pytest.raises(ImageError, match="a.png: image is 60x40"):
        load_image(fh, min_side=50)  # messages name an open file's path too


def test_array_input_is_copied_and_made_contiguous() -> None:
    a = np.asarray(halves())
    flipped = a[:, ::-1]  # a non-contiguous view
    out = load_image(flipped)
    check_rgb(out, (40, 60))
    np.testing.assert_array_equal(out, flipped)
    out[:] = 0
    assert a.any()  # the caller's array was not touched

    readonly = np.asarray(halves())
    readonly.flags.writeable = False
    assert load_image(readonly).flags.writeable


def test_array_dtypes_and_channels() -> None:
    gray = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) % 256
    out = load_image(gray.astype(np.uint8))
    check_rgb(out, (32, 32))
    assert (out[:, :, 0] == out[:, :, 2]).all() and out[:, :, 0].max() == 255

    assert load_image(gray[:, :, None].astype(np.uint8)).shape == (32, 32, 3)
    assert set(np.unique(load_image(gray > 100))) == {0, 255}
    np.testing.assert_array_equal(load_image(gray.astype(np.int64)), out)  # Python-int arrays of 0..255

    floats = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    f = load_image(floats)
    assert f.min() == 0 and f.max() == 255

    wide = np.linspace(1000, 3000, 32 * 32).reshape(32, 32).astype(np.uint16)
    w = load_image(wide)[:, :, 0]
    assert w.min() == 0 and w.max() == 255


def test_float_arrays_outside_unit_range_are_refused() -> None:
    with pytest.raises(ImageError, match=r"\[0, 1\]"):
        load_image(np.full((32, 32), 200.0))
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full((32, 32), np.nan))


def test_rgba_and_gray_alpha_arrays_are_composited_on_white() -> None:
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[:10] = (255, 0, 0, 255)  # opaque red on top, transparent black below
    out = load_image(rgba)
    assert (out[:10] == RED).all() and (out[10:] == WHITE).all()

    la = np.zeros((20, 20, 2), np.uint8)
    la[:, :, 1] = 128  # half-transparent black
    assert np.abs(load_image(la).astype(int) - 127).max() <= 1

    rgba16 = np.full((20, 20, 4), 1000, np.uint16)  # colour spans 1000..3000, alpha uses the full 16 bits
    rgba16[:10] = (3000, 1000, 1000, 65535)
    rgba16[10:, :, 3] = 0
    out16 = load_image(rgba16)
    assert (out16[:10] == RED).all() and (out16[10:] == WHITE).all()


def test_bad_arrays_and_types() -> None:
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((20, 20, 5), np.uint8))
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((2, 20, 20, 3), np.uint8))
    with pytest.raises(ImageError, match="dtype"):
        load_image(np.zeros((20, 20), np.complex64))
    with pytest.raises(TypeError, match="int"):
        load_image(42)


# --- pixel formats -----------------------------------------------------------------------------


def test_exif_orientation_is_applied() -> None:
    im = halves(60, 40)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    out = load_image(encode(im, "JPEG", quality=95, exif=exif))
    check_rgb(out, (60, 40))  # width and height swap
    top, bottom = out[:25].reshape(-1, 3).mean(0), out[35:].reshape(-1, 3).mean(0)
    assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_transparent_png_and_palette_images_go_on_white() -> None:
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 20, 10))
    out = load_image(encode(rgba, "PNG"))
    assert (out[:10] == BLUE).all() and (out[10:] == WHITE).all()

    la = Image.new("LA", (20, 20), (0, 0))
    assert (load_image(encode(la, "PNG")) == 255).all()

    pal = rgba.convert("RGB").convert("P")  # black is palette index 0: mark it transparent
    assert pal.getpixel((0, 15)) == 0
    for fmt in ("PNG", "GIF"):
        data = encode(pal, fmt, transparency=0)
        assert Image.open(io.BytesIO(data)).info.get("transparency") == 0
        out = load_image(data)
        assert (out[:10] == BLUE).all() and (out[10:] == WHITE).all(), fmt

    opaque = load_image(encode(pal, "GIF"))  # the same palette image with no transparency: black stays black
    assert (opaque[:10] == BLUE).all() and (opaque[10:] == 0).all()


def test_grayscale_and_one_bit() -> None:
    g = Image.fromarray(np.tile(np.arange(0, 256, 8, dtype=np.uint8), (20, 1)))
    out = load_image(encode(g, "PNG"))
    check_rgb(out, (20, 32))
    np.testing.assert_array_equal(out[:, :, 1], np.asarray(g))

    one = Image.fromarray(np.eye(20, dtype=bool))
    assert one.mode == "1"
    out = load_image(encode(one, "PNG"))
    assert set(np.unique(out)) == {0, 255} and (out[np.eye(20, dtype=bool)] == 255).all()


def test_sixteen_bit_png_is_stretched_not_clipped() -> None:
    values = np.linspace(1000, 3000, 64 * 64).reshape(64, 64).astype(np.uint16)
    im = Image.fromarray(values)
    assert im.mode == "I;16"
    out = load_image(encode(im, "PNG"))[:, :, 0]
    assert out.min() <= 1 and out.max() >= 254
    assert len(np.unique(out)) > 200  # a real ramp, not a clipped flat image
    assert np.all(np.diff(out.ravel().astype(int)) >= 0)  # order kept


@pytest.mark.parametrize("mode", ["I;16B", "I", "F"])
def test_high_depth_tiffs(mode: str) -> None:
    ramp = np.linspace(-50 if mode != "I;16B" else 500, 4000, 32 * 32).reshape(32, 32)
    if mode == "I;16B":
        im = Image.frombytes(mode, (32, 32), ramp.astype(">u2").tobytes())
    else:
        im = Image.fromarray(ramp.astype(np.int32 if mode == "I" else np.float32))
    assert im.mode == mode
    out = load_image(encode(im, "TIFF"))[:, :, 0]
    assert out.min() == 0 and out.max() == 255


def test_cmyk_and_ycbcr() -> None:
    cmyk = halves().convert("CMYK")
    out = load_image(encode(cmyk, "JPEG", quality=95))
    assert out[:, :20].reshape(-1, 3).mean(0)[0] > 200 and out[:, 40:].reshape(-1, 3).mean(0)[2] > 200

    ycc = halves().convert("YCbCr")
    out = load_image(ycc)
    assert np.abs(out.astype(int) - np.asarray(halves()).astype(int)).max() <= 4


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animations_give_their_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (24, 24), c) for c in (RED, BLUE, (0, 255, 0))]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    out = load_image(data)
    assert np.abs(out.astype(int) - RED).max() <= 3


def test_a_pil_animation_on_a_later_frame_gives_frame_zero_and_stays_put() -> None:
    frames = [Image.new("RGB", (24, 24), c) for c in (RED, BLUE)]
    im = Image.open(io.BytesIO(encode(frames[0], "GIF", save_all=True, append_images=frames[1:])))
    im.seek(1)
    assert (load_image(im) == RED).all()
    assert im.tell() == 1


# --- refusals ----------------------------------------------------------------------------------


def test_tiny_images_are_refused_with_their_size() -> None:
    with pytest.raises(ImageError, match=r"10x8 pixels.*at least 16"):
        load_image(encode(Image.new("RGB", (10, 8)), "PNG"))
    with pytest.raises(ImageError, match="10x8"):
        load_image(np.zeros((8, 10, 3), np.uint8))
    assert load_image(np.zeros((8, 10, 3), np.uint8), min_side=8).shape == (8, 10, 3)


def test_huge_images_are_refused_from_the_header() -> None:
    # The pixels of these files are 16x16: a decoder would fail with "truncated", so the size decided.
    start = time.perf_counter()
    with pytest.raises(ImageError, match=r"10000x5000 = 50,000,000 pixels.*40,000,000"):
        load_image(png_with_size(10_000, 5_000))
    with pytest.raises(ImageError, match=r"too large.*40,000,000"):  # past PIL's own bomb limit
        load_image(png_with_size(20_000, 20_000))
    assert time.perf_counter() - start < 1.0

    with pytest.raises(ImageError, match=r"40x40 = 1,600 pixels.*1,000"):
        load_image(np.zeros((40, 40, 3), np.uint8), max_pixels=1_000)
    with pytest.raises(ImageError, match="1,000"):
        load_image(encode(Image.new("RGB", (40, 40)), "PNG"), max_pixels=1_000)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image"),
    ],
)
def test_non_image_bytes(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_truncated_and_corrupt_files_name_their_path(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for fmt in ("PNG", "JPEG"):
        full = encode(Image.fromarray(noise), fmt)
        path = tmp_path / f"cut.{fmt.lower()}"
        path.write_bytes(full[: len(full) // 2])
        with pytest.raises(ImageError, match=rf"cut\.{fmt.lower()}.*(truncated|corrupt)"):
            load_image(path)

    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(ImageError, match="notes.png: not an image"):
        load_image(text)

    with pytest.raises(ImageError, match="missing.png"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match=str(tmp_path)):
        load_image(tmp_path)  # a directory
