"""Where does a model look, class by class, over a whole evaluation set: the mean CAM and mean region shares.

"For *happy*, ResEmoteNet puts 58% of its map on the mouth." Computed from an evaluation artifact
(``predictions.npz``: its 48 px face thumbnails and true labels), so it works for the app's trained
checkpoints and for an uploaded dataset alike.

- **Which faces**: per true class, at most ``per_class`` faces (a seeded random sample, the same every
  time), each explained for its *true* class with Grad-CAM (or another method): the question is where the
  model finds the evidence for the class the face shows.
- **Regions without landmarks**: dataset crops (FER2013's 48x48 and the like) come without landmarks, and
  they are centred and scaled alike, so every crop gets the same regions, drawn from FER2013's average
  landmark layout (:data:`FER2013_LAYOUT`, measured by ``tools/fer2013_layout.py``: the median of MTCNN's
  five landmarks on 368 PublicTest faces). Faces far from that layout get regions that miss a little.
- **Mean map**: the per-face maps (each in [0, 1]) averaged at the model's input size; **mean shares**:
  the per-face region shares averaged, so they sum to 1 and weigh every face alike.
- **Cost and cache**: one batched CAM pass per class and model; the result is written beside the artifact
  (``dataset_view.<key>.npz``), keyed on the artifact file's size and time and on the model's weights, so
  it is computed once per artifact and model.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from fer.atomic import atomic_write
from fer.budget import check_budget
from fer.evaluation.artifact import PREDICTIONS_FILE
from fer.explain.cam import compute_cam
from fer.explain.regions import ALL_REGIONS, REGIONS, lift, region_masks, region_shares
from fer.preprocess import to_model_input
from fer.runtime.trunk import TrunkRunner

# Median MTCNN landmarks on FER2013 PublicTest crops (tools/fer2013_layout.py, 368 of 400 faces found), as x, y
# fractions of the side, in fer.faces.LANDMARKS order: left eye, right eye, nose tip, mouth left, mouth right.
FER2013_LAYOUT = np.array([[0.314, 0.393], [0.686, 0.380], [0.504, 0.597], [0.352, 0.781], [0.663, 0.771]])
PER_CLASS = 16  # faces per class: bounds the cost (bench/dataset_view_cost.py: 112 faces, 0.3-0.7 s each on CPU)
BATCH = 32
SEED = 0
CACHE_PREFIX = "dataset_view."

Progress = Callable[[float, str], object]  # (fraction done, what is running), e.g. a gr.Progress


@dataclass(frozen=True)
class DatasetView:
    """Per class (rows in ``class_names`` order): the mean map, the mean region shares, and how many faces."""

    class_names: tuple[str, ...]
    method: str
    mean_cams: np.ndarray  # float32 (K, S, S) in [0, 1]; zeros for a class with no faces
    mean_faces: np.ndarray  # uint8 (K, S, S): the mean of the faces used, to draw the map on
    shares: np.ndarray  # float64 (K, len(ALL_REGIONS)): mean share of the map's mass per region; rows sum to 1
    areas: np.ndarray  # float64 (len(ALL_REGIONS),): each region's share of the crop
    counts: np.ndarray  # int64 (K,): faces explained per class
    totals: np.ndarray  # int64 (K,): faces of the class in the artifact

    @property
    def lift(self) -> np.ndarray:
        """shares / areas: 2.4 means 2.4x the map's mass a uniform map would put in the region."""
        return lift(self.shares, self.areas)

    def share(self, class_name: str, region: str) -> float:
        return float(self.shares[self.class_names.index(class_name), ALL_REGIONS.index(region)])

    def top_region(self, class_name: str) -> str:
        """The facial region (not ``rest``) with the largest mean share for ``class_name``."""
        row = self.shares[self.class_names.index(class_name)]
        return max(REGIONS, key=lambda r: row[ALL_REGIONS.index(r)])


def layout_masks(size: int, layout: np.ndarray = FER2013_LAYOUT) -> dict[str, np.ndarray]:
    """The region masks of a ``size`` px crop with the landmarks at ``layout`` (fractions of the side)."""
    points = np.asarray(layout, dtype=np.float64) * size - 0.5  # pixel centres at integers
    return region_masks(points, size)


def sample_indices(labels: np.ndarray, num_classes: int, per_class: int, seed: int = SEED) -> list[np.ndarray]:
    """Per class, at most ``per_class`` indices of its samples: a seeded random choice, sorted."""
    rng = np.random.default_rng(seed)
    picked = []
    for k in range(num_classes):
        idx = np.flatnonzero(labels == k)
        if len(idx) > per_class:
            idx = np.sort(rng.choice(idx, per_class, replace=False))
        picked.append(idx)
    return picked


def dataset_view(
    model: nn.Module,
    faces: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    method: str = "gradcam",
    per_class: int = PER_CLASS,
    layout: np.ndarray = FER2013_LAYOUT,
    progress: Progress | None = None,
    show_bar: bool = True,
    trunk: TrunkRunner | None = None,
) -> DatasetView:
    """The per-class view of ``model`` on uint8 gray ``faces`` (N, H, W) with true ``labels`` (N,).

    ``progress`` is called after each class with the fraction done; ``show_bar`` also draws a tqdm bar.
    ``trunk``: the model's runner in another runtime (``LoadedModel.trunk``), as the analyzer's CAMs use it.
    """
    class_names = tuple(str(c) for c in class_names)
    labels = np.asarray(labels, dtype=np.int64)
    size = model.spec.input.size
    masks = layout_masks(size, layout)
    areas = _in_order(region_shares(np.zeros((size, size)), masks).areas)
    picked = sample_indices(labels, len(class_names), per_class)
    k = len(class_names)
    mean_cams = np.zeros((k, size, size), np.float32)
    mean_faces = np.zeros((k, size, size), np.uint8)
    shares = np.tile(areas, (k, 1))  # a class with no faces: the uniform map's shares, which are the areas
    device = next(model.parameters()).device
    total = sum(len(i) for i in picked)
    done = 0
    bar = tqdm(total=total, desc=f"dataset view ({model.spec.name})", unit="face", disable=not show_bar)
    try:
        for c, idx in enumerate(picked):
            if not len(idx):
                continue
            cams = []
            for start in range(0, len(idx), BATCH):
                check_budget()
                batch = torch.from_numpy(np.ascontiguousarray(faces[idx[start : start + BATCH]]))
                x = to_model_input(batch.to(device), model.spec.input).contiguous(memory_format=torch.channels_last)
                cams.append(compute_cam(model, x, method, targets=c, trunk=trunk).cams)
                done += len(batch)
                bar.update(len(batch))
                if progress is not None:
                    progress(done / total, f"{class_names[c]}: {done}/{total} faces")
            maps = np.concatenate(cams).astype(np.float64)  # (n, S, S)
            shares[c] = np.mean([_in_order(region_shares(m, masks).shares) for m in maps], axis=0)
            mean_cams[c] = maps.mean(0)
            mean_faces[c] = _mean_face(faces[idx], size)
    finally:
        bar.close()
    return DatasetView(
        class_names=class_names,
        method=method,
        mean_cams=mean_cams,
        mean_faces=mean_faces,
        shares=shares,
        areas=areas,
        counts=np.array([len(i) for i in picked], np.int64),
        totals=np.bincount(labels, minlength=k)[:k].astype(np.int64),
    )


def _in_order(per_region: dict[str, float]) -> np.ndarray:
    return np.array([per_region[name] for name in ALL_REGIONS])


def _mean_face(faces: np.ndarray, size: int) -> np.ndarray:
    import cv2

    mean = faces.astype(np.float32).mean(0)
    if mean.shape != (size, size):
        mean = cv2.resize(mean, (size, size), interpolation=cv2.INTER_LINEAR)
    return np.clip(mean.round(), 0, 255).astype(np.uint8)


def cache_key(artifact_dir: str | os.PathLike, model_id: str, method: str, per_class: int) -> str:
    """Names the cached view: the artifact's predictions file (size, time) and the model's weights."""
    stat = (Path(artifact_dir) / PREDICTIONS_FILE).stat()
    text = f"{stat.st_size}:{stat.st_mtime_ns}:{model_id}:{method}:{per_class}:{FER2013_LAYOUT.tobytes().hex()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_dataset_view(
    artifact_dir: str | os.PathLike,
    model: nn.Module,
    model_id: str,
    arrays: dict[str, np.ndarray] | None = None,
    *,
    method: str = "gradcam",
    per_class: int = PER_CLASS,
    progress: Progress | None = None,
    show_bar: bool = True,
    trunk: TrunkRunner | None = None,
) -> tuple[DatasetView, bool]:
    """The view of ``model`` on the artifact in ``artifact_dir``, from the cache beside it when there is one;
    returns ``(view, from_cache)``.

    ``model_id`` tells models apart for the cache (e.g. the checkpoint's ``weights_sha256``, or a name
    for untrained weights from a fixed seed). ``arrays``: the artifact's arrays when already loaded.
    """
    directory = Path(artifact_dir)
    path = directory / f"{CACHE_PREFIX}{cache_key(directory, model_id, method, per_class)}.npz"
    if path.exists():
        try:
            return _read(path), True
        except (OSError, ValueError, KeyError):  # a damaged cache file is recomputed, not fatal
            pass
    if arrays is None:
        with np.load(directory / PREDICTIONS_FILE, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("thumbnails", "y_true", "class_names")}
    view = dataset_view(
        model,
        arrays["thumbnails"],
        arrays["y_true"],
        [str(c) for c in arrays["class_names"]],
        method=method,
        per_class=per_class,
        progress=progress,
        show_bar=show_bar,
        trunk=trunk,
    )
    try:
        atomic_write(path, lambda tmp: _write(tmp, view))
    except OSError:  # a read-only artifact folder: the view is still returned, just not kept
        pass
    return view, False


def _write(path: Path, view: DatasetView) -> None:
    np.savez_compressed(
        path,
        class_names=np.asarray(view.class_names, dtype=str),
        method=np.asarray(view.method),
        mean_cams=view.mean_cams,
        mean_faces=view.mean_faces,
        shares=view.shares,
        areas=view.areas,
        counts=view.counts,
        totals=view.totals,
    )


def _read(path: Path) -> DatasetView:
    with np.load(path, allow_pickle=False) as d:
        return DatasetView(
            class_names=tuple(str(c) for c in d["class_names"]),
            method=str(d["method"]),
            mean_cams=d["mean_cams"],
            mean_faces=d["mean_faces"],
            shares=d["shares"],
            areas=d["areas"],
            counts=d["counts"],
            totals=d["totals"],
        )
