"""What every tab shares: the analyzer (models loaded lazily, once), evaluation artifacts, the embedding cache.

One ``Studio`` serves all users; anything per user lives in ``gr.State`` (never here), so results
never cross between sessions.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import fer
from demo.limits import ANALYZE_TIME_LIMIT_S
from fer.checkpoints import META_FILE, CheckpointError, inspect_checkpoint, read_meta
from fer.embeddings import EmbeddingCache, warm_up_umap
from fer.evaluation import load_artifact
from fer.evaluation.artifact import METRICS_FILE, PREDICTIONS_FILE
from fer.explain.cam import score_cam_passes
from fer.explain.dataset_view import PER_CLASS as DATASET_VIEW_PER_CLASS
from fer.explain.dataset_view import DatasetView, Progress, cached_dataset_view
from fer.inference import Analyzer
from fer.stats import count_macs, count_parameters, measure_latency
from fer.zoo import CheckpointLocation, ModelZoo, checkpoint_root, locate

CHECKPOINT_SOURCE = "trained checkpoints"
UPLOAD_SOURCE = "your data"
MAX_CACHED_ARTIFACTS = 32  # four models x a few sessions' uploads; an artifact of 3,589 faces is ~15 MB


@dataclass(frozen=True)
class Artifact:
    """An evaluation artifact of one model: metrics plus per-sample arrays."""

    model: str
    path: Path
    metrics: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @property
    def label(self) -> str:
        m = self.metrics
        return f"{m.get('dataset', '?')} {m.get('split', '?')}, {m['n_samples']} faces"

    @property
    def trained(self) -> bool:
        """Whether the weights behind it were trained: train.py's artifacts are; an upload's says (``trained``)."""
        return bool(self.metrics.get("trained", True))


@dataclass(frozen=True)
class CheckpointCheck:
    """One model's checkpoint judged as the zoo's loader would judge it, without loading it."""

    where: CheckpointLocation
    problem: str | None  # why a checkpoint that is there cannot be used (another model's, corrupt); None if usable
    class_names: tuple[str, ...] | None  # from metadata the loader accepts

    @property
    def trained(self) -> bool | None:
        """True: a usable checkpoint; False: none or an unusable one; None: on the Hub, unknown until loaded."""
        if self.where.found is None:
            return None
        return self.where.found and self.problem is None


class Studio:
    """The app's shared, thread-safe back end: a thin layer over ``fer``."""

    def __init__(self, checkpoints: str | None = None) -> None:
        self.root = checkpoint_root(checkpoints)
        self.zoo = ModelZoo(self.root)
        self.analyzer = Analyzer(self.zoo)
        self.embeddings = EmbeddingCache(max_items=64)
        self._stats: dict[str, dict[str, float]] = {}
        self._artifacts: dict[tuple, Artifact] = {}
        self._lock = threading.Lock()
        # Everything the studio writes (example photos, evaluation artifacts) lives in one private folder
        # (mode 0700, unpredictable name: nothing planted can redirect a write), removed with the studio.
        self.scratch = Path(tempfile.mkdtemp(prefix="fer-studio-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.scratch), True)

    def new_upload_dir(self) -> Path:
        """A fresh folder for one evaluation of a user's upload."""
        return Path(tempfile.mkdtemp(prefix="upload-", dir=self.scratch))

    def remove_uploads(self, uploads: dict | None) -> None:
        """Delete a session's evaluation folders (a new evaluation replaces them; a closed session drops them)."""
        for directory in {Path(d).parent for d in (uploads or {}).values()}:
            if directory.parent == self.scratch:  # only folders we created
                shutil.rmtree(directory, ignore_errors=True)

    def start_background_work(self) -> None:
        """UMAP's numba compile (~15-25 s) is paid at start-up in a daemon thread, never inside a request."""
        warm_up_umap(block=False)

    def checkpoint(self, name: str) -> CheckpointCheck:
        """``name``'s checkpoint as the loader would judge it (another model's is refused), without loading it.

        The status line, the banner and the class names all ask this one check (a small JSON file and the
        weights' 8-byte header: cheap enough to redo, so a changed checkpoint is seen at once)."""
        where = locate(name, self.root)
        if not where.found:
            return CheckpointCheck(where, None, None)
        directory = Path(where.source)
        problem = inspect_checkpoint(directory, model_name=name)
        names = None
        if problem is None:
            try:  # the loader's own reader: metadata it would refuse gives no names here either
                names = read_meta(directory / META_FILE).get("class_names")
            except CheckpointError as exc:  # changed since it was inspected
                problem = str(exc).split(": ", 1)[-1]
        return CheckpointCheck(where, problem, tuple(names) if names else None)

    def checkpoint_status(self) -> str:
        """One line per model: trained checkpoint found, or untrained weights (checked without loading)."""
        lines = []
        for name in fer.list_models():
            check = self.checkpoint(name)
            where = check.where
            state = {
                True: f"trained checkpoint `{where.source}`",
                False: "**untrained weights** (no checkpoint)",
                None: f"checkpoint on the Hub `{where.source}`",
            }[where.found]
            if check.problem:  # a file that is there but no usable checkpoint (another model's, a stray link): say so
                state = f"**untrained weights** (unusable checkpoint: {check.problem})"
            lines.append(f"- {fer.get_spec(name).display_name}: {state}")
        return f"Checkpoints from `{self.root}`:\n" + "\n".join(lines)

    def trained(self, name: str) -> bool | None:
        """Whether ``name`` runs trained weights: True, False, or None for a Hub checkpoint not loaded yet."""
        if name in self.zoo.loaded():
            return self.zoo.get(name).trained
        return self.checkpoint(name).trained

    def checkpoint_banner(self) -> str:
        """One line for the top of the page: which models run untrained weights (checked without loading)."""
        untrained = [fer.get_spec(m).display_name for m in fer.list_models() if self.trained(m) is False]
        if not untrained:
            return "✓ Every model has a checkpoint: predictions and maps come from trained weights."
        which = "every model" if len(untrained) == len(fer.list_models()) else ", ".join(untrained)
        return (
            f"⚠️ **Untrained weights** ({which}): their predictions are guesses and their maps explain nothing "
            "(*Checkpoints* below says how to fix it)."
        )

    def class_names(self, name: str) -> tuple[str, ...]:
        """The model's classes, without loading it where possible: loaded model, else its checkpoint's metadata,
        else the untrained head's seven."""
        if name in self.zoo.loaded():
            return self.zoo.get(name).class_names
        return self.checkpoint(name).class_names or fer.FER2013_CLASSES

    # --- artifacts -------------------------------------------------------------------------------------------
    def _artifact_files(self, model: str, source: str, uploads: dict | None) -> tuple[Path, Path] | None:
        """The artifact's metrics and predictions files when both exist, else None (nothing is read)."""
        if source == UPLOAD_SOURCE:
            directory = (uploads or {}).get(model)
        else:
            directory = Path(locate(model, self.root).source)
        if directory is None:
            return None
        files = (Path(directory) / METRICS_FILE, Path(directory) / PREDICTIONS_FILE)
        return files if all(f.exists() for f in files) else None

    def has_artifact(self, model: str, source: str = CHECKPOINT_SOURCE, uploads: dict | None = None) -> bool:
        return self._artifact_files(model, source, uploads) is not None

    def artifact(self, model: str, source: str = CHECKPOINT_SOURCE, uploads: dict | None = None) -> Artifact | None:
        """The model's artifact from the checkpoints (train.py's output) or from this session's uploaded data."""
        files = self._artifact_files(model, source, uploads)
        if files is None:
            return None
        directory = files[0].parent
        # Every cell click and range selection asks again: read the files once per version, not per request.
        key = (str(directory), *((f.stat().st_mtime_ns, f.stat().st_size) for f in files))
        with self._lock:
            cached = self._artifacts.get(key)
        if cached is None:
            metrics, arrays = load_artifact(directory)
            cached = Artifact(model, Path(directory), metrics, arrays)
            with self._lock:
                if len(self._artifacts) >= MAX_CACHED_ARTIFACTS:
                    self._artifacts.pop(next(iter(self._artifacts)))  # oldest first
                self._artifacts[key] = cached
        return cached

    def dataset_view(
        self,
        model: str,
        source: str = CHECKPOINT_SOURCE,
        uploads: dict | None = None,
        per_class: int = DATASET_VIEW_PER_CLASS,
        progress: Progress | None = None,
    ) -> tuple[DatasetView, Artifact, bool] | None:
        """The model's per-class mean map and region shares on its artifact (cached beside it), the artifact,
        and whether the view came from the cache; None without an artifact."""
        art = self.artifact(model, source, uploads)
        if art is None:
            return None
        loaded = self.zoo.get(model)
        model_id = loaded.meta.get("weights_sha256") or f"untrained:{model}"  # untrained weights: a fixed seed
        view, cached = cached_dataset_view(
            art.path,
            loaded.model,
            model_id,
            art.arrays,
            per_class=per_class,
            progress=progress,
            show_bar=False,
            trunk=loaded.trunk,
        )
        return view, art, cached

    def artifacts(self, source: str = CHECKPOINT_SOURCE, uploads: dict | None = None) -> dict[str, Artifact]:
        found = {name: self.artifact(name, source, uploads) for name in fer.list_models()}
        return {k: v for k, v in found.items() if v is not None}

    def default_source(self, uploads: dict | None, model: str | None = None) -> str:
        """The evaluation data a tab should open on: the trained checkpoints' when they have an artifact (for
        ``model``, or any model), else this session's uploaded data when it has one, else the checkpoints'."""
        names = [model] if model else fer.list_models()
        if any(self.has_artifact(n, CHECKPOINT_SOURCE) for n in names):  # no npz read just to choose
            return CHECKPOINT_SOURCE
        if any(self.has_artifact(n, UPLOAD_SOURCE, uploads) for n in names):
            return UPLOAD_SOURCE
        return CHECKPOINT_SOURCE

    # --- Score-CAM's cost -------------------------------------------------------------------------------------
    def score_cam_seconds(self, model: str) -> float:
        """Estimated Score-CAM time for one face: one forward pass per channel of the CAM layer."""
        with self._lock:
            passes = self._stats.get(model, {}).get("score_cam_passes")
        if passes is None:
            passes = score_cam_passes(self.zoo.get(model).model)
        stats = self.stats(model, measure=True)
        with self._lock:
            stats["score_cam_passes"] = passes
        return passes * stats["latency_ms"] / 1000

    def score_cam_refusal(self, model: str) -> str | None:
        """Why Score-CAM is refused for ``model`` even on one face (it would not finish in time), or None."""
        seconds = self.score_cam_seconds(model)
        if seconds <= 0.8 * ANALYZE_TIME_LIMIT_S:
            return None
        return (
            f"Score-CAM with {fer.get_spec(model).display_name} would take about {seconds:.0f} s here, over the "
            f"{ANALYZE_TIME_LIMIT_S:.0f} s limit of a request. Choose Grad-CAM or another method, or a smaller model."
        )

    # --- model facts -----------------------------------------------------------------------------------------
    def stats(self, model: str, measure: bool = False) -> dict[str, float]:
        """Parameters and MACs (computed once), CPU latency when ``measure`` (the model must be loaded)."""
        with self._lock:
            cached = self._stats.get(model)
        if cached is None or (measure and "latency_ms" not in cached):
            loaded = self.zoo.get(model)
            cached = dict(cached or {})
            cached.setdefault("params_m", count_parameters(loaded.model) / 1e6)
            cached.setdefault("gmacs", count_macs(loaded.model) / 1e9)
            if measure:
                cached["latency_ms"] = measure_latency(loaded.model) * 1000
            with self._lock:
                self._stats[model] = cached
        return cached
