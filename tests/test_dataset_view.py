"""The dataset-level view: per class, the mean map and the mean region shares over an evaluation artifact.

Uses the "box" models of ``test_regions``: class 0's logit is the contrast inside a fixed box (the mouth
or the eyes of the drawn faces), class 1's is constant, so its map is empty and counts as uniform.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_regions import SIZE, BoxModel, eye_box

from fer.data.synthetic import make_synthetic_faces, mouth_box, synthetic_landmarks
from fer.evaluation.artifact import write_artifact
from fer.evaluation.predict import Predictions
from fer.explain.dataset_view import (
    CACHE_PREFIX,
    FER2013_LAYOUT,
    cached_dataset_view,
    dataset_view,
    layout_masks,
    sample_indices,
)
from fer.explain.regions import ALL_REGIONS

CLASSES = ("happy", "neutral")


def faces_and_labels(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    faces = make_synthetic_faces(n, size=SIZE, seed=5)
    return faces.images, np.arange(n) % 2


def nominal_eye_box() -> tuple[int, int, int, int]:
    """The eye box of the drawn faces' average landmarks: the same box for every face, as a model's would be."""
    return eye_box(synthetic_landmarks(64, size=SIZE, seed=5).mean(0))


@pytest.mark.parametrize("where", ["mouth", "eyes"])
def test_the_region_holding_the_evidence_gets_the_largest_mean_share(where: str) -> None:
    images, labels = faces_and_labels()
    model = BoxModel(mouth_box(SIZE) if where == "mouth" else nominal_eye_box()).eval()
    calls: list[float] = []
    view = dataset_view(model, images, labels, CLASSES, per_class=4, progress=lambda f, _: calls.append(f))
    assert view.top_region("happy") == where, dict(zip(ALL_REGIONS, view.shares[0]))
    assert view.lift[0, ALL_REGIONS.index(where)] > 2
    np.testing.assert_allclose(view.shares.sum(1), 1.0)
    assert view.counts.tolist() == [4, 4] and view.totals.tolist() == [6, 6]
    # Class 1's logit is constant: no evidence anywhere, so its shares are the regions' areas (lift 1).
    np.testing.assert_allclose(view.shares[1], view.areas)
    assert view.mean_cams.shape == (2, SIZE, SIZE) and view.mean_cams[1].max() == 0
    assert 0 <= view.mean_cams[0].min() and view.mean_cams[0].max() <= 1
    assert view.mean_faces.shape == (2, SIZE, SIZE) and view.mean_faces.dtype == np.uint8
    assert calls and calls[-1] == pytest.approx(1.0) and calls == sorted(calls)


def test_the_fixed_layout_puts_the_regions_on_the_drawn_faces() -> None:
    masks = layout_masks(SIZE)
    assert (np.stack(list(masks.values())).sum(0) == 1).all()
    drawn = synthetic_landmarks(64, size=SIZE, seed=0).mean(0)  # the drawn faces are FER2013-like
    for name, point in (("eyes", drawn[0]), ("eyes", drawn[1]), ("mouth", drawn[3:].mean(0))):
        x, y = np.rint(point).astype(int)
        assert masks[name][y, x], name
    assert FER2013_LAYOUT.shape == (5, 2)
    assert FER2013_LAYOUT[:2, 1].mean() < FER2013_LAYOUT[2, 1] < FER2013_LAYOUT[3:, 1].mean()


def test_samples_are_capped_per_class_and_repeatable() -> None:
    labels = np.array([0] * 50 + [1] * 3 + [2] * 0)
    first = sample_indices(labels, 3, per_class=10)
    assert [len(i) for i in first] == [10, 3, 0]
    assert all((labels[i] == k).all() for k, i in enumerate(first))
    assert all((a == b).all() for a, b in zip(first, sample_indices(labels, 3, per_class=10)))


def test_the_view_is_cached_beside_the_artifact_until_the_artifact_changes(tmp_path) -> None:
    images, labels = faces_and_labels()
    probs = np.tile([[0.7, 0.3]], (len(labels), 1)).astype(np.float32)
    preds = Predictions(probs=probs, features=np.zeros((len(labels), 2), np.float32), loss=None)

    def write() -> None:
        write_artifact(
            tmp_path, predictions=preds, labels=labels, ids=np.arange(len(labels)), images=images,
            class_names=CLASSES, info={},
        )  # fmt: skip

    write()
    model = BoxModel(mouth_box(SIZE)).eval()
    view, cached = cached_dataset_view(tmp_path, model, "mouth-box", per_class=3, show_bar=False)
    assert not cached and view.top_region("happy") == "mouth"
    again, cached = cached_dataset_view(tmp_path, model, "mouth-box", per_class=3, show_bar=False)
    assert cached
    np.testing.assert_array_equal(again.shares, view.shares)
    np.testing.assert_array_equal(again.mean_cams, view.mean_cams)
    assert again.class_names == CLASSES and again.counts.tolist() == [3, 3]
    assert len(list(tmp_path.glob(f"{CACHE_PREFIX}*.npz"))) == 1
    _, cached = cached_dataset_view(tmp_path, model, "another model", per_class=3, show_bar=False)
    assert not cached  # other weights: another entry
    write()  # a new evaluation replaces predictions.npz: the old views no longer apply
    _, cached = cached_dataset_view(tmp_path, model, "mouth-box", per_class=3, show_bar=False)
    assert not cached


@pytest.mark.slow  # builds two checkpoints and their artifacts: about a minute on a busy CPU
def test_the_explain_tab_section_shows_maps_a_table_and_sentences(tmp_path) -> None:
    from appserver import prepare_checkpoints

    from demo.studio import CHECKPOINT_SOURCE, Studio
    from demo.tabs.dataset_view import dataset_view_outputs

    studio = Studio(str(prepare_checkpoints(tmp_path / "ckpt")))
    seen: list[float] = []

    def progress(fraction: float, desc: str = "") -> None:
        seen.append(fraction)

    gallery, table, note = dataset_view_outputs(studio, CHECKPOINT_SOURCE, {}, "resemotenet", progress)
    assert len(gallery) == 7 and gallery[0][0].shape[2] == 3
    assert "faces)" in gallery[0][1] and "% on the" in gallery[0][1]
    assert list(table.columns) == ["class", "faces", *ALL_REGIONS] and len(table) == 7
    assert "computed now" in note and "for *happy*, ResEmoteNet puts" in note
    assert seen and seen[-1] == pytest.approx(1.0)
    _, _, again = dataset_view_outputs(studio, CHECKPOINT_SOURCE, {}, "resemotenet", progress)
    assert "from the cache" in again
    _, _, missing = dataset_view_outputs(studio, CHECKPOINT_SOURCE, {}, "psa_resnet50", progress)
    assert "No evaluation artifact" in missing
