"""Facial regions, region shares of a CAM, occlusion by region and agreement between maps.

The "box" models have their evidence in a fixed box: their logit is the mean contrast against mid-grey
inside it. No training: Grad-CAM and occlusion of such a model are known exactly, so the tests are too.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tiny_model import SPEC
from torch import nn

from fer.data.synthetic import make_synthetic_faces, mouth_box, synthetic_landmarks
from fer.explain.agreement import cam_agreement
from fer.explain.cam import compute_cam
from fer.explain.occlusion import GREY, occlusion_drops
from fer.explain.regions import ALL_REGIONS, REGIONS, region_masks, region_shares, scale_points
from fer.faces import Face
from fer.inference import Analyzer
from fer.models.base import FERModel
from fer.preprocess import to_model_input
from fer.zoo import LoadedModel

SIZE = 48
BOX_SPEC = dataclasses.replace(SPEC, name="box_model", cam_target_layer="features")


class _GreyContrast(nn.Module):
    """Squared distance of each pixel from the occlusion grey, averaged over channels: 0 where greyed out."""

    def __init__(self, box: tuple[int, int, int, int]) -> None:
        super().__init__()
        spec = BOX_SPEC.input
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(spec.std).view(1, -1, 1, 1))
        mask = torch.zeros(1, 1, spec.size, spec.size)
        x0, y0, x1, y1 = box
        mask[..., y0:y1, x0:x1] = 1
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = x * self.std + self.mean
        return ((pixels - GREY / 255.0) ** 2).mean(1, keepdim=True) * 50 * self.mask


class BoxModel(FERModel):
    """Class 0's logit is the contrast inside ``box``; class 1's is 0."""

    def __init__(self, box: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.features = _GreyContrast(box)
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[1.0], [0.0]]))
            self.head.bias.zero_()
        self.spec = BOX_SPEC
        self.box_area = float(self.features.mask.sum())

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).sum((2, 3)) / self.box_area


def face_and_landmarks(seed: int = 3) -> tuple[torch.Tensor, np.ndarray]:
    faces = make_synthetic_faces(1, size=SIZE, seed=seed)
    x = to_model_input(torch.from_numpy(faces.images), BOX_SPEC.input)
    return x, synthetic_landmarks(1, size=SIZE, seed=seed)[0]


def eye_box(landmarks: np.ndarray) -> tuple[int, int, int, int]:
    """A box around both eye landmarks, 3 px either side: evidence in the eyes and nowhere else."""
    (lx, ly), (rx, ry) = landmarks[0], landmarks[1]
    return int(lx) - 3, int(min(ly, ry)) - 2, int(rx) + 4, int(max(ly, ry)) + 3


def test_regions_partition_the_crop_and_sit_where_the_features_are() -> None:
    landmarks = synthetic_landmarks(1, size=SIZE, seed=0)[0]
    masks = region_masks(landmarks, SIZE)
    assert tuple(masks) == ALL_REGIONS
    stack = np.stack(list(masks.values()))
    assert (stack.sum(0) == 1).all()  # every pixel in exactly one region
    for name, point in (("eyes", landmarks[0]), ("eyes", landmarks[1]), ("nose", landmarks[2] - [0, 1])):
        x, y = np.rint(point).astype(int)
        assert masks[name][y, x], name
    mx, my = np.rint(landmarks[3:].mean(0)).astype(int)
    assert masks["mouth"][my, mx]
    ex, ey = np.rint(landmarks[0]).astype(int)
    assert masks["brows"][ey - 4, ex]  # above the eye
    assert all(masks[name].sum() > 0 for name in REGIONS)


def test_regions_follow_a_tilted_head() -> None:
    landmarks = synthetic_landmarks(1, size=SIZE, seed=0)[0]
    centre = np.array([SIZE / 2, SIZE / 2])
    turn = np.deg2rad(20)
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    tilted = (landmarks - centre) @ rot.T + centre
    masks = region_masks(tilted, SIZE)
    for point in tilted[:2]:
        x, y = np.rint(point).astype(int)
        assert masks["eyes"][y, x]
    mx, my = np.rint(tilted[3:].mean(0)).astype(int)
    assert masks["mouth"][my, mx]


def test_scale_points_keeps_pixel_centres() -> None:
    np.testing.assert_allclose(scale_points(np.array([[-0.5, 47.5]]), 48, 96), [[-0.5, 95.5]])


def test_shares_sum_to_one_and_lift_is_share_over_area() -> None:
    masks = region_masks(synthetic_landmarks(1, size=SIZE, seed=0)[0], SIZE)
    cam = np.random.default_rng(0).random((SIZE, SIZE))
    result = region_shares(cam, masks)
    assert sum(result.shares.values()) == pytest.approx(1.0)
    assert sum(result.areas.values()) == pytest.approx(1.0)
    for name in ALL_REGIONS:
        assert result.lift[name] == pytest.approx(result.shares[name] / result.areas[name])
    uniform = region_shares(np.zeros((SIZE, SIZE)), masks)  # no evidence: the area shares, lift 1
    assert uniform.shares == pytest.approx(uniform.areas)
    with pytest.raises(ValueError, match="masks are"):
        region_shares(np.ones((10, 10)), masks)


@pytest.mark.parametrize("where", ["mouth", "eyes"])
def test_the_region_holding_the_evidence_gets_the_largest_share_and_occlusion_drop(where: str) -> None:
    x, landmarks = face_and_landmarks()
    box = mouth_box(SIZE) if where == "mouth" else eye_box(landmarks)
    model = BoxModel(box).eval()
    result = compute_cam(model, x, "gradcam")
    assert result.targets == [0]
    masks = region_masks(landmarks, SIZE)
    shares = region_shares(result.cams[0], masks)
    named = {name: shares.shares[name] for name in REGIONS}
    assert max(named, key=named.get) == where, shares.shares
    assert shares.lift[where] > 2
    drops = occlusion_drops(model, x, [masks], result.targets)[0]
    assert set(drops) == set(ALL_REGIONS)
    assert max(REGIONS, key=drops.get) == where, drops  # "rest" is not a feature: it holds the box's margins
    assert drops[where] > 0.05
    far = "eyes" if where == "mouth" else "mouth"
    assert drops[far] == pytest.approx(0.0, abs=1e-6)  # the box does not reach it: greying it changes nothing


def test_occlusion_batches_several_faces_and_checks_its_arguments() -> None:
    x, landmarks = face_and_landmarks()
    model = BoxModel(mouth_box(SIZE)).eval()
    masks = region_masks(landmarks, SIZE)
    two = occlusion_drops(model, torch.cat([x, x]), [masks, masks], [0, 1])
    assert two[0]["mouth"] == pytest.approx(-two[1]["mouth"], abs=1e-6)  # class 1 gains what class 0 loses
    with pytest.raises(ValueError, match="mask sets"):
        occlusion_drops(model, x, [masks, masks], [0])
    # Given the unoccluded probabilities, only the chosen regions go through the model: the same drops.
    with torch.no_grad():
        p = model(x).softmax(1)[0, 0].item()
    known = occlusion_drops(model, x, [masks], [0], regions=["mouth", "eyes"], baseline=[p])[0]
    assert set(known) == {"mouth", "eyes"}
    assert known["mouth"] == pytest.approx(two[0]["mouth"], abs=1e-6)


def test_a_map_agrees_with_itself_fully_and_less_with_its_flip() -> None:
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    cam = np.exp(-((xs - 12) ** 2 + (ys - 35) ** 2) / 80.0).astype(np.float32)  # a blob low on the left
    cam += rng.random((SIZE, SIZE)).astype(np.float32) * 0.01
    small = cam[::4, ::4].copy()  # another model's coarser map of the same thing
    agreement = cam_agreement({"a": cam, "same": cam.copy(), "flip": cam[:, ::-1].copy(), "coarse": small})
    assert agreement.models == ("a", "same", "flip", "coarse")
    assert agreement.spearman.shape == agreement.top_iou.shape == (4, 4)
    assert agreement.spearman[0, 1] == pytest.approx(1.0)
    assert agreement.top_iou[0, 1] == pytest.approx(1.0)
    assert agreement.spearman[0, 2] < 0.5 and agreement.top_iou[0, 2] < 0.5
    assert agreement.spearman[0, 3] > 0.5 and agreement.top_iou[0, 3] > agreement.top_iou[0, 2]
    np.testing.assert_allclose(agreement.spearman, agreement.spearman.T)
    assert agreement.consensus.shape == (SIZE, SIZE)
    assert 0 <= agreement.consensus.min() and agreement.consensus.max() <= 1


def test_a_constant_map_agrees_with_nothing_but_itself() -> None:
    agreement = cam_agreement({"flat": np.zeros((7, 7)), "map": np.arange(49.0).reshape(7, 7)})
    np.testing.assert_allclose(agreement.spearman, [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="at least one"):
        cam_agreement({})


class _Zoo:
    """Stands in for ModelZoo: the box models, by name."""

    def __init__(self, models: dict[str, nn.Module]) -> None:
        self.models = models

    def get(self, name: str) -> LoadedModel:
        return LoadedModel(self.models[name], {}, False, ("happy", "neutral"), "a box model (tests)")


def test_analyze_faces_fills_regions_occlusion_and_agreement_only_where_it_can() -> None:
    faces = make_synthetic_faces(1, size=SIZE, seed=3)
    landmarks = synthetic_landmarks(1, size=SIZE, seed=3)[0]
    gray = faces.images[0]
    with_landmarks = Face(
        box=(0, 0, SIZE, SIZE), score=1.0, gray=gray, crop_box=(0, 0, SIZE, SIZE), landmarks=landmarks
    )
    without = Face(box=(0, 0, SIZE, SIZE), score=None, gray=gray)
    zoo = _Zoo({"mouth": BoxModel(mouth_box(SIZE)).eval(), "eyes": BoxModel(eye_box(landmarks)).eval()})
    analyzer = Analyzer(zoo)  # type: ignore[arg-type]
    first, second = analyzer.analyze_faces([with_landmarks, without], ["mouth", "eyes"])
    for name, where in (("mouth", "mouth"), ("eyes", "eyes")):
        read = first.models[name]
        assert read.regions is not None and read.occlusion is not None and read.region_lift is not None
        assert sum(read.regions.values()) == pytest.approx(1.0)
        assert max(REGIONS, key=read.regions.get) == where
        assert max(REGIONS, key=read.occlusion.get) == where and set(read.occlusion) == set(REGIONS)
        assert second.models[name].regions is None and second.models[name].occlusion is None
        assert second.models[name].cam is not None
    assert first.cam_agreement is not None and first.cam_agreement.models == ("mouth", "eyes")
    assert first.cam_agreement.spearman[0, 1] < 0.5  # they look at different places
    assert second.cam_agreement is not None  # the maps of a face without landmarks still compare
    plain = analyzer.analyze_faces([with_landmarks], ["mouth", "eyes"], cam=None)[0]
    assert plain.cam_agreement is None and plain.models["mouth"].regions is None
    shares_only = analyzer.analyze_faces([with_landmarks], ["mouth"], occlusion=False)[0].models["mouth"]
    assert shares_only.regions == first.models["mouth"].regions and shares_only.occlusion is None
    off = analyzer.analyze_faces([with_landmarks], ["mouth", "eyes"], regions=False)[0]
    assert off.cam_agreement is None and off.models["mouth"].occlusion is None
