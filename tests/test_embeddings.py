"""2-D maps: clusters stay apart, seeds repeat, the cache computes each map once, UMAP's JIT is paid up front."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors

import fer.embeddings as E
from fer.embeddings import EmbeddingCache, embed_2d, umap_is_warm, warm_up_umap


def blobs(n_per: int = 25, k: int = 4, dim: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``k`` Gaussian blobs, unit spread, centres about 20 apart: trivially separable in D dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=20 / np.sqrt(2 * dim), size=(k, dim)) * np.sqrt(dim)
    labels = np.repeat(np.arange(k), n_per)
    x = centres[labels] + rng.normal(size=(len(labels), dim))
    return x.astype(np.float32), labels


def knn_accuracy(coords: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN: how often a point's 2-D neighbours (itself excluded) vote for its own blob."""
    idx = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords, return_distance=False)[:, 1:]
    votes = labels[idx]
    predicted = np.array([np.bincount(v).argmax() for v in votes])
    return float((predicted == labels).mean())


def artifact(tmp_path: Path, name: str = "features.npy") -> Path:
    path = tmp_path / name
    path.write_bytes(b"features of some model")
    return path


class Counting:
    """A fast stand-in for embed_2d that counts its calls and can be slowed down or made to fail."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, features: np.ndarray, method: str, *, seed: int = 0, **params) -> np.ndarray:
        with self.lock:
            self.calls += 1
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("boom")
        return (features[:, :2] + seed).astype(np.float32)


# --- warm-up (first: the UMAP tests below then run on compiled code) --------------------------------


def test_warm_up_runs_once_in_a_daemon_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    real = E._warm_up
    monkeypatch.setattr(E, "_warm_up", lambda: (runs.append(1), real()))

    thread = warm_up_umap()
    assert isinstance(thread, threading.Thread) and thread.daemon
    assert warm_up_umap() is None  # already started: nothing new
    assert warm_up_umap(block=True) is None  # waits for the running one, starts nothing
    assert not thread.is_alive() and umap_is_warm()
    assert runs == [1]
    assert E.warm_up_seconds is not None and E.warm_up_seconds > 0  # it ran and succeeded
    assert not [t for t in threading.enumerate() if t.name == "umap-warm-up"]

    start = time.perf_counter()
    x, labels = blobs(n_per=15, k=3, dim=16)
    assert embed_2d(x, "umap").shape == (45, 2)
    print(f"warm-up {E.warm_up_seconds:.1f} s; a UMAP fit after it {time.perf_counter() - start:.2f} s")


# --- embed_2d ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, dim", [("tsne", 128), ("tsne", 20), ("umap", 64)])
def test_separated_blobs_stay_separated(method: str, dim: int) -> None:
    x, labels = blobs(dim=dim)
    coords = embed_2d(x, method)
    assert coords.shape == (len(x), 2) and coords.dtype == np.float32 and coords.flags.c_contiguous
    assert np.isfinite(coords).all()
    assert knn_accuracy(coords, labels) > 0.95
    assert silhouette_score(coords, labels) > 0.5


@pytest.mark.parametrize("method, params", [("tsne", {"init": "random"}), ("umap", {})])
def test_deterministic_for_a_seed(method: str, params: dict) -> None:
    x, _ = blobs(n_per=15, k=3, dim=32)
    a = embed_2d(x, method, seed=3, **params)
    np.testing.assert_array_equal(a, embed_2d(x, method, seed=3, **params))
    assert not np.array_equal(a, embed_2d(x, method, seed=4, **params))


def test_tsne_with_pca_init_is_the_same_for_every_seed() -> None:
    x, _ = blobs(n_per=15, k=3, dim=32)
    np.testing.assert_array_equal(embed_2d(x, "tsne", seed=0), embed_2d(x, "tsne", seed=1))


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_few_points(method: str) -> None:
    x, _ = blobs(n_per=5, k=1, dim=8)
    coords = embed_2d(x, method)  # perplexity / n_neighbors capped below N
    assert coords.shape == (5, 2) and np.isfinite(coords).all()
    coords = embed_2d(x[:5], method, **({"perplexity": 50} if method == "tsne" else {"n_neighbors": 50}))
    assert coords.shape == (5, 2)
    with pytest.raises(ValueError, match="at least 5 points, got 4"):
        embed_2d(x[:4], method)


def test_bad_input() -> None:
    x, _ = blobs(n_per=5, k=2, dim=8)
    with pytest.raises(ValueError, match="unknown method 'pca'"):
        embed_2d(x, "pca")
    with pytest.raises(ValueError, match="2-D"):
        embed_2d(x[0], "tsne")
    x[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        embed_2d(x, "umap")


# --- EmbeddingCache ------------------------------------------------------------------------------


def test_cache_hit_returns_the_same_array_without_recomputing(tmp_path: Path) -> None:
    compute = Counting()
    cache = EmbeddingCache(compute=compute)
    x, _ = blobs(n_per=5, k=2, dim=8)
    path = artifact(tmp_path)
    a = cache.get("resemotenet", path, x, "tsne", perplexity=3)
    b = cache.get("resemotenet", path, x, "tsne", perplexity=3)
    assert b is a and compute.calls == 1
    assert not a.flags.writeable  # shared: nobody may change it in place
    np.testing.assert_array_equal(a, x[:, :2])

    # Anything in the key that changes is another map.
    cache.get("convcut", path, x, "tsne", perplexity=3)
    cache.get("resemotenet", path, x, "umap", perplexity=3)
    cache.get("resemotenet", path, x, "tsne", perplexity=4)
    c = cache.get("resemotenet", path, x, "tsne", perplexity=3, seed=1)
    assert compute.calls == 5
    np.testing.assert_array_equal(c, x[:, :2] + 1)  # the seed reaches the compute function
    cache.get("resemotenet", str(path), x, "tsne", perplexity=3)  # a str path is the same artifact
    assert compute.calls == 5
    cache.get("resemotenet", path, x, "umap", target_weight=[0.5])  # unhashable parameter values work
    assert cache.get("resemotenet", path, x, "umap", target_weight=[0.5]) is not None and compute.calls == 6


def test_a_rewritten_artifact_is_recomputed(tmp_path: Path) -> None:
    compute = Counting()
    cache = EmbeddingCache(compute=compute)
    x, _ = blobs(n_per=5, k=2, dim=8)
    path = artifact(tmp_path)
    cache.get("m", path, x, "tsne")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same size, new mtime
    cache.get("m", path, x, "tsne")
    assert compute.calls == 2
    cache.get("m", path, x, "tsne")
    assert compute.calls == 2
    with pytest.raises(FileNotFoundError):
        cache.get("m", tmp_path / "gone.npy", x, "tsne")


def test_memory_is_bounded_lru(tmp_path: Path) -> None:
    compute = Counting()
    cache = EmbeddingCache(max_items=2, compute=compute)
    x, _ = blobs(n_per=5, k=2, dim=8)
    path = artifact(tmp_path)
    for seed in (0, 1, 0, 2):  # 0 is used again before 2 arrives, so 1 is the least recent
        cache.get("m", path, x, "tsne", seed=seed)
    assert compute.calls == 3
    cache.get("m", path, x, "tsne", seed=0)
    assert compute.calls == 3
    cache.get("m", path, x, "tsne", seed=1)
    assert compute.calls == 4
    with pytest.raises(ValueError):
        EmbeddingCache(max_items=0)


def test_disk_cache_survives_a_new_cache_and_ignores_bad_files(tmp_path: Path) -> None:
    x, _ = blobs(n_per=5, k=2, dim=8)
    path = artifact(tmp_path)
    cache_dir = tmp_path / "maps"
    first = Counting()
    a = EmbeddingCache(cache_dir=cache_dir, compute=first).get("psa/resnet50", path, x, "umap", n_neighbors=4)
    files = list(cache_dir.glob("*.npy"))
    assert first.calls == 1 and len(files) == 1 and "/" not in files[0].name
    assert not list(cache_dir.glob(".*"))  # no temporary files left behind

    second = Counting()
    b = EmbeddingCache(cache_dir=cache_dir, compute=second).get("psa/resnet50", path, x, "umap", n_neighbors=4)
    assert second.calls == 0
    np.testing.assert_array_equal(a, b)

    files[0].write_bytes(b"not a numpy file")
    third = Counting()
    c = EmbeddingCache(cache_dir=cache_dir, compute=third).get("psa/resnet50", path, x, "umap", n_neighbors=4)
    assert third.calls == 1
    np.testing.assert_array_equal(a, c)
    assert np.array_equal(np.load(files[0]), a)  # rewritten


def test_concurrent_requests_compute_once(tmp_path: Path) -> None:
    compute = Counting(delay=0.3)
    cache = EmbeddingCache(compute=compute)
    x, _ = blobs(n_per=5, k=2, dim=8)
    path = artifact(tmp_path)
    results = []
    start = threading.Barrier(6)

    def request() -> None:
        start.wait()
        results.append(cache.get("m", path, x, "tsne", perplexity=2))

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert compute.calls == 1
    assert len(results) == 6 and all(r is results[0] for r in results)


def test_a_failure_reaches_every_waiter_and_is_not_cached(tmp_path: Path) -> None:
    compute = Counting(delay=0.3, fail=True)
    cache = EmbeddingCache(compute=compute)
    x, _ = blobs(n_per=5, k=2, dim=8)
    path = artifact(tmp_path)
    errors = []
    start = threading.Barrier(3)

    def request() -> None:
        start.wait()
        try:
            cache.get("m", path, x, "tsne")
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert compute.calls == 1 and len(errors) == 3
    compute.fail = False
    assert cache.get("m", path, x, "tsne").shape == (10, 2)
    assert compute.calls == 2


def test_cache_with_the_real_embedding(tmp_path: Path) -> None:
    x, labels = blobs(n_per=10, k=3, dim=16)
    cache = EmbeddingCache(cache_dir=tmp_path / "maps")
    path = artifact(tmp_path)
    a = cache.get("resemotenet", path, x, "tsne", seed=0)
    np.testing.assert_array_equal(a, embed_2d(x, "tsne", seed=0))
    assert cache.get("resemotenet", path, x, "tsne", seed=0) is a
    assert knn_accuracy(a, labels) > 0.95


def test_a_class_keeps_its_colour_when_another_class_is_absent() -> None:
    order = ["angry", "disgust", "fear", "happy"]
    coords = np.arange(12, dtype=float).reshape(6, 2)
    hover = {"id": np.arange(6)}
    by_true = E.embedding_figure(coords, ["angry", "disgust", "fear", "happy", "fear", "angry"], hover, order)
    by_predicted = E.embedding_figure(coords, ["angry", "fear", "fear", "happy", "fear", "angry"], hover, order)
    colours = [{t.name: t.marker.color for t in fig.data} for fig in (by_true, by_predicted)]
    assert "disgust" not in colours[1]  # nobody is predicted disgust
    assert all(colours[0][c] == colours[1][c] for c in ("angry", "fear", "happy"))
    assert len(set(colours[0].values())) == 4  # still one colour per class
