"""2-D maps of feature vectors (t-SNE, UMAP), a cache so each map is computed once, and UMAP's JIT warm-up.

The app shows where a model puts every test face; computing that map takes seconds to a minute,
so :class:`EmbeddingCache` keeps results keyed by the artifact the features came from.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from fer.atomic import atomic_write

log = logging.getLogger(__name__)


METHODS = ("tsne", "umap")
MIN_POINTS = 5  # fewer points have no neighbourhoods to preserve: both methods degenerate
TSNE_PCA_DIMS = 50  # t-SNE on D > 50 runs on the first 50 principal components, as sklearn's docs advise
# Barnes-Hut t-SNE synchronises its OpenMP threads a few times per iteration: on this shared 2-core
# machine 2 threads took 54-62 s for 3,500 points where 1 took 24-31 s, and 19 s against 0.5 s for 100.
TSNE_THREADS = 1


def embed_2d(features: np.ndarray, method: str = "tsne", *, seed: int = 0, **params: Any) -> np.ndarray:
    """Map ``features`` (N, D) to 2-D coordinates (N, 2) float32 with t-SNE or UMAP, deterministically per ``seed``.

    ``params`` go to ``sklearn.manifold.TSNE`` or ``umap.UMAP``; ``perplexity`` and ``n_neighbors`` are
    capped below N. For t-SNE, ``pca_dims`` (default 50, None for none) first reduces wide features with
    PCA and ``n_threads`` (default 1) sets its OpenMP threads; with its default ``init="pca"`` t-SNE gives
    the same map for every seed (only the PCA step and ``init="random"`` use it).
    Raises ``ValueError`` for an unknown method, non-finite values, or fewer than ``MIN_POINTS`` points.
    """
    x = np.asarray(features)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D (N, D), got shape {x.shape}")
    if len(x) < MIN_POINTS:
        raise ValueError(f"a 2-D map needs at least {MIN_POINTS} points, got {len(x)}")
    x = x.astype(np.float32)  # one dtype: numba compiles UMAP per dtype, and the warm-up uses this one
    if not np.isfinite(x).all():
        raise ValueError("features hold NaN or infinite values")
    if method == "tsne":
        out = _tsne(x, seed, params)
    elif method == "umap":
        out = _umap(x, seed, params)
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return np.ascontiguousarray(out, dtype=np.float32)


def _tsne(x: np.ndarray, seed: int, params: dict[str, Any]) -> np.ndarray:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    params = dict(params)
    pca_dims = params.pop("pca_dims", TSNE_PCA_DIMS)
    n_threads = params.pop("n_threads", TSNE_THREADS)
    if pca_dims and x.shape[1] > pca_dims:
        x = PCA(n_components=min(pca_dims, len(x)), random_state=seed).fit_transform(x)
    n = len(x)
    # sklearn needs perplexity < N; about N/3 keeps 3 * perplexity neighbours available to every point.
    default = min(30.0, max(1.0, (n - 1) / 3))
    params["perplexity"] = min(float(params.get("perplexity", default)), n - 1.0)
    params.setdefault("init", "pca")  # a stable global layout; it also makes the result independent of the seed
    params.setdefault("learning_rate", "auto")
    # Limits the OpenMP threads of this Python thread only (libgomp keeps the setting per thread).
    with threadpool_limits(limits=n_threads, user_api="openmp"):
        return TSNE(n_components=2, random_state=seed, **params).fit_transform(x)


def _umap(x: np.ndarray, seed: int, params: dict[str, Any]) -> np.ndarray:
    import umap
    from sklearn.neighbors import VALID_METRICS, NearestNeighbors

    params = dict(params)
    k = params["n_neighbors"] = max(2, min(int(params.get("n_neighbors", 15)), len(x) - 1))
    params.setdefault("n_jobs", 1)  # a seed makes UMAP single-threaded anyway; saying so avoids its warning
    metric = params.get("metric", "euclidean")
    if isinstance(metric, str) and metric in VALID_METRICS["brute"] and "precomputed_knn" not in params:
        # umap-learn 0.5.12 finds the neighbours of N < 4096 points through sklearn's pairwise_distances with
        # a numba metric: a Python call per pair, 50 s for 3,500 points. sklearn's exact k-NN (itself
        # included, as UMAP's own) takes a fraction of a second and needs no pynndescent JIT for larger N.
        dist, idx = NearestNeighbors(n_neighbors=k, metric=metric).fit(x).kneighbors(x)
        params["precomputed_knn"] = (idx, dist.astype(np.float32), None)
        # Without a pynndescent index UMAP warns on every fit that UMAP.transform is unavailable; we never
        # call it. Adding a filter is idempotent and, unlike catch_warnings, safe with other threads.
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning, module="umap")
    return umap.UMAP(n_components=2, random_state=seed, **params).fit_transform(x)


class EmbeddingCache:
    """Thread-safe cache of 2-D maps, in memory (LRU, ``max_items``) and optionally as ``.npy`` files.

    Keyed by model id, the artifact file the features came from (its resolved path, mtime and size),
    method, seed and the other parameters: rewriting the artifact invalidates its maps. Concurrent
    requests for one key compute it once; the others wait for that result. Returned arrays are
    read-only and shared between callers.
    """

    def __init__(
        self,
        max_items: int = 32,
        cache_dir: str | os.PathLike | None = None,
        compute: Callable[..., np.ndarray] = embed_2d,
    ) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._compute = compute
        self._lock = threading.Lock()
        self._memory: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._pending: dict[tuple, Future] = {}

    def get(
        self, model: str, artifact: str | os.PathLike, features: np.ndarray, method: str, **params: Any
    ) -> np.ndarray:
        """The (N, 2) map of ``features`` by ``method``; ``params`` (``seed`` among them) go to :func:`embed_2d`."""
        seed = int(params.pop("seed", 0))
        key = self._key(model, Path(artifact), method, seed, params)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = Future()
        if not owner:
            return pending.result()  # another thread is computing this very map
        try:
            coords = self._load(key, len(features))
            if coords is None:
                coords = np.asarray(self._compute(features, method, seed=seed, **params), dtype=np.float32)
                self._save(key, coords)
            coords = np.ascontiguousarray(coords)
            coords.flags.writeable = False  # shared by every caller: nobody may change it in place
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)  # waiters see the error; the next request tries again
            raise
        with self._lock:
            self._memory[key] = coords
            while len(self._memory) > self.max_items:
                self._memory.popitem(last=False)
            del self._pending[key]
        pending.set_result(coords)
        return coords

    def clear(self) -> None:
        """Forget the in-memory maps (files in ``cache_dir`` stay)."""
        with self._lock:
            self._memory.clear()

    @staticmethod
    def _key(model: str, artifact: Path, method: str, seed: int, params: dict[str, Any]) -> tuple:
        stat = artifact.stat()  # a missing artifact is an error: there is nothing to key the map on
        return (
            model,
            str(artifact.resolve()),
            stat.st_mtime_ns,
            stat.st_size,
            method,
            seed,
            tuple(sorted((name, repr(value)) for name, value in params.items())),  # repr: lists are fine too
        )

    def _file(self, key: tuple) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{key[0]}-{key[4]}")
        return self.cache_dir / f"{stem}-{digest}.npy"

    def _load(self, key: tuple, n: int) -> np.ndarray | None:
        path = self._file(key)
        if path is None or not path.is_file():
            return None
        try:
            coords = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cached map %s: %s", path, exc)
            return None
        if coords.shape != (n, 2) or coords.dtype != np.float32:
            log.warning("ignoring cached map %s: shape %s, expected (%d, 2) float32", path, coords.shape, n)
            return None
        return coords

    def _save(self, key: tuple, coords: np.ndarray) -> None:
        path = self._file(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda tmp: np.save(tmp, coords, allow_pickle=False))
        except OSError as exc:  # a read-only or full disk costs the cache, not the answer
            log.warning("could not cache map to %s: %s", path, exc)


_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None
_warm_done = threading.Event()
warm_up_seconds: float | None = None  # how long the warm-up took, once it has run


def warm_up_umap(block: bool = False) -> threading.Thread | None:
    """Pay UMAP's numba JIT compilation (about 20 s here) on a tiny dataset, so no user request pays it.

    The first call starts a daemon thread and returns it (after it finishes when ``block``); later calls
    start nothing and return None, waiting for the first one's thread when ``block``.
    """
    global _warm_thread
    with _warm_lock:
        first = _warm_thread is None
        if first:
            _warm_thread = threading.Thread(target=_warm_up, name="umap-warm-up", daemon=True)
            _warm_thread.start()
        thread = _warm_thread
    if block:
        thread.join()
    return thread if first else None


def umap_is_warm() -> bool:
    """Whether the warm-up has finished (successfully or not: a failure is logged, and UMAP then compiles on use)."""
    return _warm_done.is_set()


def _warm_up() -> None:
    global warm_up_seconds
    start = time.perf_counter()
    try:
        # The same path and dtype as real requests (embed_2d casts to float32): numba compiles per signature.
        x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
        embed_2d(x, "umap", n_neighbors=5, n_epochs=20)
        warm_up_seconds = time.perf_counter() - start
        log.info("UMAP warm-up took %.1f s", warm_up_seconds)
    except Exception:
        log.exception("UMAP warm-up failed")
    finally:
        _warm_done.set()


def embedding_figure(
    coords: np.ndarray,
    groups: Any,
    hover: dict[str, Any],
    order: list[str] | None = None,
    title: str = "",
) -> Any:
    """A plotly scatter of a 2-D map with one trace per group, so the legend names every group (a class, or
    correct/wrong) instead of a colour bar. ``hover``: per-point columns shown on hover (floats rounded to
    2 places); ``order``: the legend's order (default: sorted), which a group's colour is keyed on too, so a
    class keeps its colour when another is absent (coloured by true, then by predicted label). Each point's
    ``customdata[0]`` is its row index, which a selection reports back. Box and lasso selection are on (lasso
    by default)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    groups = np.asarray(groups).astype(str)
    everyone = list(order or sorted(set(groups)))
    names = [g for g in everyone if (groups == g).any()]
    palette = {"correct": "#1b7837", "wrong": "#c51b7d"}  # a colour-blind-safe pair for correct?
    columns = list(hover)
    values = [np.asarray(v) for v in hover.values()]
    fig = go.Figure()
    for name in names:
        i = everyone.index(name)  # the position in the full order, not among the groups present
        rows = np.flatnonzero(groups == name)
        custom = np.column_stack([rows, *[_rounded(v[rows]) for v in values]])
        lines = "<br>".join(f"{c}: %{{customdata[{j + 1}]}}" for j, c in enumerate(columns))
        fig.add_trace(
            go.Scatter(
                x=np.round(coords[rows, 0], 2),
                y=np.round(coords[rows, 1], 2),
                mode="markers",
                name=name,
                marker={"size": 7, "color": palette.get(name, qualitative.Plotly[i % len(qualitative.Plotly)])},
                customdata=custom,
                hovertemplate=f"{lines}<extra>{name}</extra>",
            )
        )
    fig.update_layout(
        dragmode="lasso",
        showlegend=True,  # plotly hides a one-entry legend; one predicted class still needs naming
        height=520,
        legend={"title": {"text": title}, "itemsizing": "constant"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"showticklabels": False, "title": None},  # t-SNE/UMAP axes have no units: only distances mean something
        yaxis={"showticklabels": False, "title": None},
    )
    return fig


def _rounded(values: np.ndarray) -> np.ndarray:
    """Floats as text with 2 decimals (tooltips showed raw float32s); everything else as text."""
    if np.issubdtype(values.dtype, np.floating):
        return np.char.mod("%.2f", values)
    return values.astype(str)
