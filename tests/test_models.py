"""Every registered model: shapes, gradients, determinism, and architecture facts from the papers."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import convnext_base, resnet50

import fer
from fer.blocks import ECA, PSAModule, UNetMask, eca_kernel_size

MODELS = ["unet_eca_resnet34", "resemotenet", "convcut", "psa_resnet50"]


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module", params=MODELS)
def model(request: pytest.FixtureRequest, built_model) -> nn.Module:
    return built_model(request.param)


def batch(model: nn.Module, n: int = 2) -> torch.Tensor:
    size = model.spec.input.size
    return torch.randn(n, model.spec.input.channels, size, size)


SMALL = 64  # every model runs at 64 px (ResEmoteNet's own size); 224-px passes cost 12x more on a CPU


def small_batch(model: nn.Module, n: int = 2) -> torch.Tensor:
    """For properties that do not depend on the input size (gradients reach, determinism, dropout, head width)."""
    return torch.randn(n, model.spec.input.channels, SMALL, SMALL)


def test_registry_lists_the_four_models() -> None:
    assert fer.list_models() == sorted(MODELS)


def test_forward_gives_finite_logits_and_embed_feeds_the_head(model: nn.Module) -> None:
    model.eval()
    x = batch(model)
    with torch.no_grad():
        logits = model(x)
        feats = model.embed(x)
    assert logits.shape == (2, 7)
    assert torch.isfinite(logits).all()
    assert feats.shape == (2, model.spec.embed_dim)
    assert torch.allclose(model.head(feats), logits, atol=1e-5)


def test_backward_reaches_every_trainable_parameter(model: nn.Module) -> None:
    model.train()
    model.zero_grad()
    loss = nn.functional.cross_entropy(model(small_batch(model)), torch.tensor([0, 3]))
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    no_grad = [n for n, p in trainable if p.grad is None or not torch.isfinite(p.grad).all()]
    assert no_grad == []
    assert any(p.grad.abs().sum() > 0 for _, p in trainable)


def test_eval_is_deterministic(model: nn.Module) -> None:
    model.eval()
    x = small_batch(model)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_train_mode_is_random_exactly_when_the_model_has_dropout(model: nn.Module) -> None:
    model.train()
    x = small_batch(model)
    has_dropout = any(isinstance(m, (nn.Dropout, nn.Dropout2d)) for m in model.modules())
    assert has_dropout == (model.spec.name != "psa_resnet50")  # ResNet50's head has none
    with torch.no_grad():
        assert torch.equal(model(x), model(x)) != has_dropout


@pytest.mark.parametrize("name", MODELS)
def test_ferplus_head_has_eight_classes(name: str, built_model) -> None:
    m = built_model(name, num_classes=8).eval()
    with torch.no_grad():
        assert m(small_batch(m, 1)).shape == (1, 8)


def test_cam_target_layer_resolves_and_can_be_overridden(model: nn.Module) -> None:
    layer = fer.get_cam_target_layer(model)
    assert isinstance(layer, nn.Module)
    assert fer.get_cam_target_layer(model, "head") is model.head
    with pytest.raises(ValueError, match="no layer"):
        fer.get_cam_target_layer(model, "no.such.layer")


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="resemotenet"):
        fer.get_spec("resnet")


def test_specs_carry_paper_recipe_and_card() -> None:
    for name in MODELS:
        spec = fer.get_spec(name)
        assert spec.paper.title and spec.paper.file.endswith(".txt")
        assert spec.reported and all(0 < v <= 100 for v in spec.reported.values())
        assert spec.recipe.lr > 0 and spec.recipe.batch_size > 0 and spec.recipe.epochs > 0
        assert spec.paper_says and spec.we_do
        assert spec.input.mean == (0.485, 0.456, 0.406)
        assert spec.to_dict()["recipe"]["optimizer"] in ("sgd", "adam")


# --- ResEmoteNet -----------------------------------------------------------------------------


def test_resemotenet_has_80_2_million_parameters_as_the_official_code(built_model) -> None:
    m = built_model("resemotenet")
    assert abs(n_params(m) - 80.2e6) < 0.1e6
    # The three residual blocks hold most of them: 3.67 M + 14.68 M + 58.73 M.
    res = [n_params(getattr(m, f"res_block{i}")) for i in (1, 2, 3)]
    assert [round(r / 1e6, 1) for r in res] == [3.7, 14.7, 58.7]


def test_resemotenet_cam_target_is_the_16x16_third_block(built_model) -> None:
    m = built_model("resemotenet").eval()
    seen = {}

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        seen["shape"] = output.shape

    fer.get_cam_target_layer(m).register_forward_hook(hook)
    with torch.no_grad():
        m(torch.randn(1, 3, 64, 64))
    assert seen["shape"] == (1, 256, 16, 16)


# --- U-Net/ECA ResNet34 ----------------------------------------------------------------------


def unet_mask_params(c: int, depth: int) -> int:
    """Parameter count of UNetMask(c, depth) derived from its definition in the model card."""
    widths = [c * 2**i for i in range(1, depth + 1)]
    total = 0
    for cin, cout in zip([c, *widths[:-1]], widths):  # conv3x3 (no bias) + BN + ECA
        total += 9 * cin * cout + 2 * cout + eca_kernel_size(cout)
    for i in range(depth - 1, 0, -1):  # transposed conv 2x2 (bias) + 1x1 fuse (no bias) + BN
        cin, cout = widths[i], widths[i - 1]
        total += 4 * cin * cout + cout + 2 * cout * cout + 2 * cout
    return total + widths[0] * c + c  # final 1x1 conv


def test_unet_depths_widths_and_eca_kernels(built_model) -> None:
    m = built_model("unet_eca_resnet34")
    masks = [stage.mask for stage in m.stages]
    assert [mask.depth for mask in masks] == [4, 3, 2, 1]
    assert [len(mask.encoder) for mask in masks] == [4, 3, 2, 1]
    assert [len(mask.decoder) for mask in masks] == [3, 2, 1, 0]
    # Every stage's U-Net bottoms out at 1024 channels (64*16, 128*8, 256*4, 512*2).
    assert [mask.encoder[-1].conv[0].out_channels for mask in masks] == [1024] * 4
    for mask, c in zip(masks, (64, 128, 256, 512)):
        assert mask.out.out_channels == c
        assert n_params(mask) == unet_mask_params(c, mask.depth)
        for eca in (mod for mod in mask.modules() if isinstance(mod, ECA)):
            channels = eca.conv.weight.shape  # (1, 1, k)
            assert channels[-1] == eca.kernel_size
    assert {mod.kernel_size for mod in m.modules() if isinstance(mod, ECA)} == {5}  # 128..1024 channels


@pytest.mark.parametrize(("channels", "k"), [(32, 3), (64, 3), (128, 5), (256, 5), (512, 5), (1024, 5), (2048, 7)])
def test_eca_kernel_size_formula(channels: int, k: int) -> None:
    assert eca_kernel_size(channels) == k


def test_unet_backbone_is_resnet34_plus_masks(built_model) -> None:
    m = built_model("unet_eca_resnet34")
    assert [len(stage.layer) for stage in m.stages] == [3, 4, 6, 3]
    masks = sum(n_params(stage.mask) for stage in m.stages)
    assert n_params(m) - masks == 21_284_672 + 512 * 7 + 7  # ResNet34 without its fc, plus our head


@pytest.mark.parametrize("size", [(7, 7), (9, 9), (13, 11), (3, 3)])
def test_unet_mask_keeps_odd_sizes(size: tuple[int, int]) -> None:
    mask = UNetMask(8, 3).eval()
    x = torch.randn(1, 8, *size)
    assert mask(x).shape == x.shape


def test_unet_model_runs_at_other_input_sizes(built_model) -> None:
    m = built_model("unet_eca_resnet34").eval()
    with torch.no_grad():
        assert m(torch.randn(1, 3, 100, 100)).shape == (1, 7)  # stages at 25, 13, 7, 4


def test_unet_mask_is_a_residual_channel_softmax(built_model) -> None:
    stage = built_model("unet_eca_resnet34").stages[3].eval()
    x = torch.randn(1, 256, 14, 14)
    with torch.no_grad():
        feat = stage.layer(x)
        out = stage(x)
    active = feat > 0  # after ReLU, zero features stay zero
    ratio = out[active] / feat[active]  # 1 + softmax_c(mask): a residual gain in (1, 2)
    assert ((ratio > 1) & (ratio < 2)).all()
    assert torch.equal(out[~active], feat[~active])
    weights = stage.mask(feat).softmax(dim=1)
    assert torch.allclose(out, feat * (1 + weights), atol=1e-6)


# --- Conv-cut --------------------------------------------------------------------------------


def test_convcut_truncates_convnext_base_after_stage_2(built_model) -> None:
    m = built_model("convcut").eval()
    assert len(m.backbone) == 4
    with torch.device("meta"):  # the reference's structure only: no memory, no slow initialisation
        reference = convnext_base()
    assert n_params(m.backbone) == n_params(reference.features[:4])
    with torch.no_grad():
        assert m.backbone(torch.randn(1, 3, 224, 224)).shape == (1, 256, 28, 28)
    detail = 2 * 256 + (256 * 16 + 256 * 256 + 256) + (256 * 4 + 256 * 256 + 256)
    assert n_params(m.detail) == detail
    assert n_params(m) == n_params(m.backbone) + detail + 256 * 7 + 7


def test_convcut_frozen_backbone_gets_no_gradient_but_the_head_does(built_model) -> None:
    m = built_model("convcut", freeze_backbone=True).train()
    assert m.backbone_frozen
    nn.functional.cross_entropy(m(small_batch(m)), torch.tensor([1, 2])).backward()
    assert all(p.grad is None for p in m.backbone.parameters())
    assert m.detail.sep1.pointwise.weight.grad is not None and m.head.weight.grad is not None
    assert not built_model("convcut").backbone_frozen  # from scratch: trained, not frozen


def test_channel_self_attention_is_a_convex_mix_of_channels() -> None:
    from fer.blocks import ChannelSelfAttention

    y = torch.randn(3, 256)
    f = ChannelSelfAttention(256)(y)
    assert f.shape == y.shape
    assert (f <= y.max(dim=1, keepdim=True).values + 1e-5).all()
    assert (f >= y.min(dim=1, keepdim=True).values - 1e-5).all()


# --- PSA-ResNet50 ----------------------------------------------------------------------------


def test_psa_resnet50_matches_epsanet50_small_without_its_head(built_model) -> None:
    m = built_model("psa_resnet50")
    epsanet50_small = 22.56e6  # EPSANet paper, Table 1
    imagenet_head = 2048 * 1000 + 1000
    expected = epsanet50_small - imagenet_head + 2048 * 7 + 7
    assert abs(n_params(m) - expected) / expected < 0.005


def test_psa_replaces_every_3x3_conv_with_kernels_3579_groups_1_4_8_16(built_model) -> None:
    m = built_model("psa_resnet50")
    with torch.device("meta"):  # the reference's structure only
        reference = resnet50()
    blocks = [b for layer in (m.layer1, m.layer2, m.layer3, m.layer4) for b in layer]
    ref_blocks = [
        b for layer in (reference.layer1, reference.layer2, reference.layer3, reference.layer4) for b in layer
    ]
    assert len(blocks) == 16  # [3, 4, 6, 3]
    for block, ref in zip(blocks, ref_blocks):
        psa = block.conv2
        assert isinstance(psa, PSAModule)
        assert [c.kernel_size[0] for c in psa.branches] == [3, 5, 7, 9]
        assert [c.groups for c in psa.branches] == [1, 4, 8, 16]
        assert {c.stride[0] for c in psa.branches} == {ref.conv2.stride[0]}
        assert sum(c.out_channels for c in psa.branches) == ref.conv2.out_channels
        assert psa.se.fc1.out_channels == max(psa.split_channels // 16, 1)


def test_psa_attention_weights_sum_to_one_across_branches() -> None:
    psa = PSAModule(64, 64).eval()
    x = torch.randn(2, 64, 8, 8)
    feats = torch.stack([b(x) for b in psa.branches], dim=1)
    weights = torch.stack([psa.se(feats[:, i]) for i in range(4)], dim=1).softmax(dim=1)
    assert torch.allclose(weights.sum(dim=1), torch.ones_like(weights[:, 0]))
    assert torch.allclose(psa(x), (feats * weights).flatten(1, 2))
