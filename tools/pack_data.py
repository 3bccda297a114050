"""Pack FER2013 train + PublicTest (``../shared/data/fer2013``) into one file under 50 MiB for a GPU run.

The faces are decoded JPEGs, so general-purpose compressors barely shrink them: the npz files take
71 MB, ``xz -6`` of them 71 MB, lossless WebP 71% of the raw pixels. Predicting each pixel from its
left, upper and upper-left neighbours (the MED predictor of JPEG-LS / LOCO-I) and compressing the
residuals with LZMA gets to about 69%, 51 MB for both splits: lossless, checked on unpacking.

    python tools/pack_data.py pack ../shared/data/fer2013 .gpu/fer2013.pack
    python tools/pack_data.py unpack .gpu/fer2013.pack /tmp/fer2013   # -> train.npz, publictest.npz

The packed file is research-only data like its source: it lives in an ignored folder, is carried to
the GPU machine and never committed.
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import struct
import sys
from pathlib import Path

import numpy as np

MAGIC = b"FERPACK1"
SPLITS = ("train", "publictest")
KEEP = ("labels", "names", "usage", "class_names")  # everything the npz reader uses besides the pixels


def _med_prediction(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    # JPEG-LS's median edge detector: min(a, b) above an edge, max(a, b) below one, else a + b - c.
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    return np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))


def encode(images: np.ndarray) -> bytes:
    """uint8 (N, H, W) -> LZMA-compressed zigzag residuals of the MED prediction."""
    x = images.astype(np.int16)
    a, b, c = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    a[:, :, 1:] = x[:, :, :-1]
    b[:, 1:, :] = x[:, :-1, :]
    c[:, 1:, 1:] = x[:, :-1, :-1]
    pred = _med_prediction(a, b, c)
    pred[:, 1:, 0] = x[:, :-1, 0]  # first column: the pixel above
    pred[:, 0, 1:] = x[:, 0, :-1]  # first row: the pixel to the left
    pred[:, 0, 0] = 0
    s = ((x - pred + 128) % 256) - 128
    zigzag = np.where(s >= 0, 2 * s, -2 * s - 1).astype(np.uint8)
    return lzma.compress(zigzag.tobytes(), preset=9)


def decode(blob: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """Inverse of :func:`encode`: pixel by pixel in raster order, vectorised over the N images."""
    z = np.frombuffer(lzma.decompress(blob), np.uint8).reshape(shape).astype(np.int16)
    s = np.where(z % 2 == 0, z // 2, -(z + 1) // 2)
    n, h, w = shape
    x = np.zeros(shape, np.int16)
    for i in range(h):
        for j in range(w):
            if i == 0 and j == 0:
                pred = np.zeros(n, np.int16)
            elif i == 0:
                pred = x[:, 0, j - 1]
            elif j == 0:
                pred = x[:, i - 1, 0]
            else:
                pred = _med_prediction(x[:, i, j - 1], x[:, i - 1, j], x[:, i - 1, j - 1])
            x[:, i, j] = (pred + s[:, i, j]) % 256
    return x.astype(np.uint8)


def pack(source: Path, target: Path) -> int:
    """Write ``target`` from ``source/{train,publictest}.npz``; returns its size in bytes."""
    parts: list[tuple[dict, bytes]] = []
    for split in SPLITS:
        with np.load(source / f"{split}.npz") as d:
            images = d["images"]
            extras = io.BytesIO()
            np.savez_compressed(extras, **{k: d[k] for k in KEEP if k in d.files})
            header = {"split": split, "shape": list(images.shape)}
            pixels = encode(images)
            decoded = decode(pixels, images.shape)
            if not np.array_equal(decoded, images):  # lossless, or it does not ship
                raise AssertionError(f"{split}: round trip differs")
            parts.append(({**header, "pixels": len(pixels), "extras": extras.tell()}, pixels + extras.getvalue()))
    target.parent.mkdir(parents=True, exist_ok=True)
    index = json.dumps([h for h, _ in parts]).encode()
    with open(target, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(index)) + index)
        for _, body in parts:
            f.write(body)
    return target.stat().st_size


def unpack(source: Path, target: Path) -> list[Path]:
    """Write ``target/{train,publictest}.npz`` (the layout ``fer.data`` reads) from a packed file."""
    data = source.read_bytes()
    if data[:8] != MAGIC:
        raise ValueError(f"{source}: not a file written by tools/pack_data.py")
    (size,) = struct.unpack("<I", data[8:12])
    index, offset = json.loads(data[12 : 12 + size]), 12 + size
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for header in index:
        pixels = data[offset : offset + header["pixels"]]
        offset += header["pixels"]
        extras = np.load(io.BytesIO(data[offset : offset + header["extras"]]))
        offset += header["extras"]
        images = decode(pixels, tuple(header["shape"]))
        path = target / f"{header['split']}.npz"
        np.savez(path, images=images, **{k: extras[k] for k in extras.files})
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["pack", "unpack"])
    p.add_argument("source", type=Path)
    p.add_argument("target", type=Path)
    args = p.parse_args(argv)
    if args.command == "pack":
        size = pack(args.source, args.target)
        print(f"wrote {args.target}: {size / 2**20:.1f} MiB")
        if size > 50 * 2**20:
            print("warning: over the 50 MiB a GPU run carries comfortably", file=sys.stderr)
    else:
        for path in unpack(args.source, args.target):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
