"""ImageNet weights: the real torchvision loading path, exercised offline with files we make."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import convnext_base, resnet34, resnet50

import fer
from fer.pretrained import PretrainedWeightsUnavailable, cached_weights_path


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))
    return tmp_path


def plant(weights_name: str, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Put a state dict where torchvision looks for ``weights_name``, as a download would."""
    path = cached_weights_path(weights_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    torch.save(state, path)
    return state


@pytest.mark.parametrize("name", ["unet_eca_resnet34", "convcut", "psa_resnet50"])
def test_missing_weights_fail_fast_and_say_what_to_do(name: str, hub_dir: Path) -> None:
    with pytest.raises(PretrainedWeightsUnavailable, match=r"not available.*pretrained=False") as info:
        fer.build_model(name, pretrained=True)
    assert str(hub_dir) in str(info.value)


def test_resemotenet_has_no_imagenet_weights_and_says_so() -> None:
    with pytest.warns(UserWarning, match="from scratch"):
        fer.build_model("resemotenet", pretrained=True)


def test_unet_takes_the_cached_resnet34_weights(hub_dir: Path) -> None:
    state = plant("ResNet34_Weights.IMAGENET1K_V1", resnet34())
    m = fer.build_model("unet_eca_resnet34", pretrained=True)
    assert torch.equal(m.stem[0].weight, state["conv1.weight"])
    assert torch.equal(m.stages[2].layer[5].conv2.weight, state["layer3.5.conv2.weight"])


def test_psa_copies_only_matching_resnet50_weights(hub_dir: Path) -> None:
    state = plant("ResNet50_Weights.IMAGENET1K_V1", resnet50())
    torch.manual_seed(0)
    fresh = fer.build_model("psa_resnet50")
    torch.manual_seed(0)
    m = fer.build_model("psa_resnet50", pretrained=True)
    assert torch.equal(m.conv1.weight, state["conv1.weight"])
    assert torch.equal(m.layer2[1].conv1.weight, state["layer2.1.conv1.weight"])
    assert torch.equal(m.layer4[0].bn2.running_var, state["layer4.0.bn2.running_var"])
    # The PSA convs have other shapes: they keep their fresh initialisation.
    assert torch.equal(m.layer1[0].conv2.branches[0].weight, fresh.layer1[0].conv2.branches[0].weight)
    assert m.head.out_features == 7


def test_convcut_freezes_the_pretrained_backbone(hub_dir: Path) -> None:
    state = plant("ConvNeXt_Base_Weights.IMAGENET1K_V1", convnext_base())
    m = fer.build_model("convcut", pretrained=True)
    assert m.backbone_frozen
    assert torch.equal(m.backbone[3][2].block[0].weight, state["features.3.2.block.0.weight"])
    assert fer.build_model("convcut", pretrained=True, freeze_backbone=False).backbone_frozen is False
