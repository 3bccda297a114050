"""Untrusted uploads stay bounded: zips are counted as they inflate, big photos are decoded small."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer.budget import BudgetExceeded, time_limit
from fer.data import DataError
from fer.data.upload import faces_from_zip
from fer.images import DETECT_MAX_SIDE, ImageError, load_image


def png(side: int = 48, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (side, side), np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def lying_zip(path: Path, payload: bytes, compression: int, declared: int) -> Path:
    """One entry ``happy/x.png`` whose headers claim ``declared`` uncompressed bytes (the real CRC kept)."""
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr("happy/x.png", payload)
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 22 : local + 26] = struct.pack("<I", declared)
    data[central + 24 : central + 28] = struct.pack("<I", declared)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("compression", "message"),
    [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "LZMA")],
)
def test_bzip2_and_lzma_entries_are_refused_before_inflating(tmp_path: Path, compression: int, message: str) -> None:
    bomb = lying_zip(tmp_path / "bomb.zip", bytes(40_000_000), compression, declared=100)
    assert bomb.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=message):
            faces_from_zip(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_a_deflate_entry_that_understates_its_size_is_read_in_bounded_chunks(tmp_path: Path) -> None:
    bomb = lying_zip(tmp_path / "bomb.zip", bytes(40_000_000), zipfile.ZIP_DEFLATED, declared=100)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="corrupt zip entry") as info:
            faces_from_zip(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000  # archive.read inflated all 40 MB before
    assert str(tmp_path) not in str(info.value)


def test_inflated_bytes_are_counted_against_the_limit(tmp_path: Path) -> None:
    # Honest headers, but the entry inflates past the per-upload limit: refused at the limit, not after.
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("happy/a.png", png() + bytes(3_000_000))
    with pytest.raises(DataError, match="over the size limit"):
        faces_from_zip(path, max_bytes=10_000_000, max_entry_bytes=1_000_000)


def test_encrypted_and_corrupt_zips_get_clean_messages(tmp_path: Path) -> None:
    path = tmp_path / "locked.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("happy/a.png", png())
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" flag bit
        at = data.index(sig) + offset
        data[at] |= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="encrypted") as info:
        faces_from_zip(path)
    assert str(tmp_path) not in str(info.value)
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DataError, match="not a readable zip") as info:
        faces_from_zip(tmp_path / "junk.zip")
    assert str(tmp_path) not in str(info.value)


def test_bad_files_are_skipped_and_reported_on_request(tmp_path: Path) -> None:
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(3):
            z.writestr(f"happy/{i}.png", png(seed=i))
        z.writestr("sad/broken.png", b"not an image at all")
    with pytest.raises(DataError, match="sad/broken.png.*skip unreadable"):
        faces_from_zip(path)
    seen: list[tuple[int, int]] = []
    faces = faces_from_zip(path, skip_bad=True, progress=lambda done, total: seen.append((done, total)))
    assert len(faces) == 3
    assert any("1 unreadable files skipped: sad/broken.png" in note for note in faces.notes)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]  # progress after every image, bad ones included


def test_zip_reading_stops_at_its_time_budget(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(50):
            z.writestr(f"happy/{i}.png", png(seed=i))
    with time_limit(0.0, what="reading the zip"), pytest.raises(BudgetExceeded, match="time limit"):
        faces_from_zip(path)


def test_large_photos_are_decoded_at_the_size_detection_needs(tmp_path: Path) -> None:
    big = np.random.default_rng(0).integers(0, 255, (3000, 4200, 3), np.uint8)
    jpeg = io.BytesIO()
    Image.fromarray(big).save(jpeg, "JPEG")
    start = time.perf_counter()
    small = load_image(jpeg.getvalue(), max_side=1000)
    assert max(small.shape[:2]) <= 1000 and small.shape[0] / small.shape[1] == pytest.approx(3000 / 4200, abs=0.01)
    assert time.perf_counter() - start < 2
    as_png = tmp_path / "big.png"
    Image.fromarray(big[:, :, 0]).save(as_png)
    assert max(load_image(as_png, max_side=DETECT_MAX_SIDE).shape[:2]) == DETECT_MAX_SIDE
    assert load_image(as_png).shape[:2] == (3000, 4200)  # without max_side: unchanged
    assert max(load_image(big, max_side=500).shape[:2]) == 500  # arrays (webcam frames) too


def test_a_long_thin_strip_is_refused_with_a_message_not_an_opencv_assertion(tmp_path: Path) -> None:
    strip = tmp_path / "strip.png"
    Image.new("L", (40000, 16)).save(strip)
    with pytest.raises(ImageError, match="too long and thin"):
        load_image(strip, max_side=DETECT_MAX_SIDE)
