"""BatchNorm folded into convolutions: the zoo's inference copies give today's probabilities and maps."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from fer.explain.cam import compute_cam
from fer.fold_batchnorm import fold_batchnorm, foldable_pairs
from fer.zoo import _for_inference

MODELS = ["convcut", "psa_resnet50", "resemotenet", "unet_eca_resnet34"]
PROB_TOLERANCE = 1e-5  # absolute, on softmax probabilities
CAM_TOLERANCE = 1e-4  # absolute, on maps in [0, 1]: the fast CAM path's tolerance against the library


def with_trained_like_batchnorm(model: nn.Module) -> nn.Module:
    """Random BatchNorm statistics and affine terms: fresh ones are the identity, and folding them proves nothing."""
    g = torch.Generator().manual_seed(5)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.2)
    return model


@pytest.mark.parametrize("name", MODELS)
def test_folded_model_gives_todays_probabilities_and_maps(name: str, built_model) -> None:
    today = with_trained_like_batchnorm(built_model(name)).eval().to(memory_format=torch.channels_last)
    folded = _for_inference(copy.deepcopy(today))
    norms = [m for m in today.modules() if isinstance(m, nn.BatchNorm2d)]
    left = [m for m in folded.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(left) < len(norms) or not norms  # convcut has LayerNorms only
    size = today.spec.input.size
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    x = x.contiguous(memory_format=torch.channels_last)
    a = compute_cam(today, x, "gradcam", targets=[1, None])
    b = compute_cam(folded, x, "gradcam", targets=[1, None])
    assert a.targets == b.targets
    np.testing.assert_allclose(b.logits.softmax(1).numpy(), a.logits.softmax(1).numpy(), atol=PROB_TOLERANCE)
    np.testing.assert_allclose(b.cams, a.cams, atol=CAM_TOLERANCE)


def test_resnet_style_pairs_are_found_and_a_shared_conv_output_is_not_folded() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
            self.conv2, self.bn2 = nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)
            self.act = nn.ReLU()
            self.bn3 = nn.BatchNorm2d(4)  # reads an activation, not a conv's output

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.bn1(self.conv1(x))
            z = self.conv2(y)
            return self.bn3(self.act(z)) + self.bn2(z)  # conv2's output is read by act first: not only bn2's

    net = with_trained_like_batchnorm(Net()).eval()
    x = torch.randn(2, 3, 8, 8)
    assert foldable_pairs(net, x) == [("conv1", "bn1")]
    expected = net(x)
    assert fold_batchnorm(net, x) == [("conv1", "bn1")]
    assert isinstance(net.bn1, nn.Identity) and isinstance(net.bn2, nn.BatchNorm2d)
    torch.testing.assert_close(net(x), expected, atol=1e-5, rtol=1e-5)


def test_training_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1)), torch.zeros(1, 1, 2, 2))
