"""Conv-cut (Nan, Liu, Qian, Song 2025): truncated ConvNeXt-Base + Detail Extraction with self-attention."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import convnext_base

from fer.blocks import DetailExtraction
from fer.models.base import FERModel
from fer.pretrained import load_imagenet_state_dict
from fer.registry import InputSpec, ModelSpec, Paper, Recipe, register_model

# torchvision's convnext_base().features: 0 stem, 1 stage 1, 2 downsample, 3 stage 2, 4-7 stages 3-4.
KEPT_FEATURES = 4

SPEC = ModelSpec(
    name="convcut",
    display_name="Conv-cut",
    input=InputSpec(size=224),
    cam_target_layer="backbone.3",
    embed_dim=256,
    paper=Paper(
        title="A Visual Self-attention Mechanism Facial Expression Recognition Network beyond Convnext",
        authors="B. Nan, Z. Liu, B. Qian, Y. Song",
        year=2025,
        file="convcut.txt",
    ),
    reported={"RAF-DB": 97.33, "FERPlus": 95.69},
    recipe=Recipe(
        optimizer="adam",
        lr=1e-3,
        batch_size=16,
        epochs=50,
        loss="cross_entropy",
        augmentation=("hflip",),
        freeze_backbone=True,
        notes="No scheduler or early stop is given by the paper.",
    ),
    pretrained_weights="ConvNeXt_Base_Weights.IMAGENET1K_V1",
    paper_says=(
        "ConvNeXt-Base, ImageNet-pretrained, frozen, with stages 3 and 4 cut off.",
        "Detail Extraction (Algorithm 1): LayerNorm; separable conv k4 s4; separable conv k2 s2; spatial dropout "
        "0.1; global average pool to y = [y_1..y_C]; f = softmax(y y^T / sqrt(d)) y.",
        "Batch 16, 50 epochs, Adam lr 1e-3, random horizontal flip, cross-entropy. RAF-DB 97.33%, FERPlus 95.69%.",
    ),
    we_do=(
        "Backbone = torchvision convnext_base().features[:4] (stem, stage 1, downsample, stage 2: 256 channels, "
        "28x28 at 224 input); frozen when its ImageNet weights are loaded, trained when built from scratch "
        "(freezing random features would make no sense).",
        "Separable convs keep 256 channels and have no activation (Algorithm 1 lists none).",
        "Self-attention uses y as query, key and value (no projections), with the channels as scalar tokens; "
        "the scale is d = C = 256, since the literal d = 1 saturates the softmax. A linear head follows.",
        "No public code was found: every choice above is ours. The reported numbers are far above other "
        "published results; treat them as claims to test.",
        "Grad-CAM on the last block of the kept stage 2 (28x28).",
    ),
)


@register_model(SPEC)
class ConvCut(FERModel):
    """Truncated ConvNeXt-Base + Detail Extraction (see ``SPEC.paper_says`` / ``SPEC.we_do``)."""

    def __init__(self, num_classes: int = 7, pretrained: bool = False, freeze_backbone: bool | None = None) -> None:
        super().__init__()
        full = convnext_base()
        if pretrained:
            full.load_state_dict(load_imagenet_state_dict(SPEC.pretrained_weights))
        self.backbone = full.features[:KEPT_FEATURES]
        self.detail = DetailExtraction(256, 256, dropout=0.1)
        self.head = nn.Linear(256, num_classes)
        if freeze_backbone is None:
            freeze_backbone = pretrained
        self.backbone.requires_grad_(not freeze_backbone)

    @property
    def backbone_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.backbone.parameters())

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.detail(self.backbone(x))
