"""Writers for small datasets in every on-disk format we read, from known arrays (for tests only)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

FERPLUS_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
# RAF-DB's label order (1-based): Surprise, Fear, Disgust, Happiness, Sadness, Anger, Neutral.
OURS_TO_RAFDB = {5: 1, 2: 2, 1: 3, 3: 4, 4: 5, 0: 6, 6: 7}


def pixel_string(image: np.ndarray) -> str:
    return " ".join(str(int(p)) for p in image.reshape(-1))


def write_fer2013_csv(path: Path, images: np.ndarray, labels: Sequence[int], usages: Sequence[str]) -> Path:
    """Kaggle's fer2013.csv: emotion,pixels,Usage."""
    lines = ["emotion,pixels,Usage"]
    lines += [f"{label},{pixel_string(img)},{usage}" for img, label, usage in zip(images, labels, usages)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_votes_csv(path: Path, votes: Sequence[Sequence[int]], usages: Sequence[str]) -> Path:
    """FERPlus's fer2013new.csv: one row of 10 vote counts per fer2013.csv row."""
    lines = [FERPLUS_HEADER]
    for i, (row, usage) in enumerate(zip(votes, usages)):
        lines.append(f"{usage},fer{i:07d}.png," + ",".join(str(int(v)) for v in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_npz(path: Path, images: np.ndarray, labels: np.ndarray, **extra: np.ndarray) -> Path:
    """Our npz format; ``extra`` adds names, class_names, fer_row, ..."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, labels=np.asarray(labels, dtype=np.int64), **extra)
    return path


def save_image(path: Path, image: np.ndarray | Image.Image, **save_args: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = image if isinstance(image, Image.Image) else Image.fromarray(image)
    im.save(path, **save_args)
    return path


def write_class_folders(root: Path, images: np.ndarray, folders: Sequence[str], names: Sequence[str]) -> list[Path]:
    """``root/<folder>/<name>`` as lossless PNG (the extension in ``name`` decides the format)."""
    return [save_image(root / folder / name, img) for img, folder, name in zip(images, folders, names)]


def write_rafdb(
    root: Path, images: np.ndarray, labels: Sequence[int], names: Sequence[str], *, emolabel: bool = True
) -> Path:
    """RAF-DB basic: label file (RAF-DB's 1..7 codes) + 100x100 RGB aligned JPEGs. ``labels`` are OUR indices."""
    label_dir = root / "EmoLabel" if emolabel else root
    label_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{name} {OURS_TO_RAFDB[int(label)]}" for name, label in zip(names, labels)]
    label_file = label_dir / "list_patition_label.txt"
    label_file.write_text("\n".join(lines) + "\n")
    for img, name in zip(images, names):
        rgb = Image.fromarray(img).resize((100, 100), Image.Resampling.BILINEAR).convert("RGB")
        save_image(root / "Image" / "aligned" / f"{Path(name).stem}_aligned.jpg", rgb, quality=95)
    return label_file


def zip_of_synthetic_faces(path: Path, n: int = 14, seed: int = 4, folder: str = "") -> Path:
    """A zip of ``n`` drawn faces as PNGs in class-named folders (``folder/<class>/<i>.png``), as users upload."""
    import io
    import zipfile

    from fer.data import make_synthetic_faces

    faces = make_synthetic_faces(n, seed=seed)
    prefix = f"{folder}/" if folder else ""
    with zipfile.ZipFile(path, "w") as z:
        for i, (img, label) in enumerate(zip(faces.images, faces.labels)):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, "PNG")
            z.writestr(f"{prefix}{faces.class_names[label]}/{i}.png", buf.getvalue())
    return path
