"""ResNet34 with an ECA-attention U-Net mask after every stage (Tian, Zhang, Huo 2024)."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet34

from fer.blocks import UNetMask
from fer.models.base import FERModel
from fer.pretrained import load_imagenet_state_dict
from fer.registry import InputSpec, ModelSpec, Paper, Recipe, register_model

UNET_DEPTHS = (4, 3, 2, 1)

SPEC = ModelSpec(
    name="unet_eca_resnet34",
    display_name="U-Net/ECA ResNet34",
    input=InputSpec(size=224),
    cam_target_layer="stages.3",
    embed_dim=512,
    paper=Paper(
        title="Facial Expression Recognition Algorithm Integrating Semantic Features and Attention Mechanisms",
        authors="X. Tian, S. Zhang, R. Huo",
        year=2024,
        file="unet-eca-resnet34.txt",
    ),
    reported={"FER2013": 78.1},
    recipe=Recipe(
        optimizer="sgd",
        lr=1e-4,
        momentum=0.9,
        weight_decay=1e-3,
        batch_size=48,
        epochs=50,
        scheduler="plateau",
        scheduler_monitor="val_acc",
        scheduler_factor=0.1,
        scheduler_patience=2,
        early_stop_patience=8,
        early_stop_monitor="val_acc",
        augmentation=(),
        notes="The paper names no augmentation.",
    ),
    pretrained_weights="ResNet34_Weights.IMAGENET1K_V1",
    paper_says=(
        "ResNet34 backbone; after each of its 4 stages a U-Net of depth 4/3/2/1 with ECA after every encoder conv "
        "makes weights that multiply the stage features, then are added to them.",
        "U-Net encoder doubles the channels per level (64 -> 1024 at depth 4); the decoder returns them with "
        "deconvolutions and skip concatenation; output through a '1x1 Softmax'.",
        "ECA kernel k = nearest odd of (log2 C + 1) / 2.",
        "224x224 RGB input; SGD momentum 0.9, weight decay 1e-3, lr 1e-4, batch 48; lr x0.1 when val accuracy "
        "stalls 2 epochs; stop after 8 epochs without improvement; at most 50 epochs. FER2013 78.1%.",
    ),
    we_do=(
        "The mask is softmax over channels and the stage output is feat * (1 + mask), as in the Residual Masking "
        "Network this design extends.",
        "Each encoder level is conv3x3-BN-ReLU then ECA, with 2x2 max-pooling (ceil mode) between levels; each "
        "decoder level is a 2x2 transposed conv, concatenation with the skip, and a 1x1 conv-BN-ReLU; a final 1x1 "
        "conv returns to the stage's channels. Odd sizes are resized to the skip, never cropped.",
        "Head: global average pool, Dropout(0.4) (as the Residual Masking Network), linear.",
        "ImageNet ResNet34 weights when available (torchvision IMAGENET1K_V1); the masks start fresh.",
        "Grad-CAM on the output of stage 4 after its mask (7x7 at 224 input).",
    ),
)


class MaskedStage(nn.Module):
    """One ResNet stage followed by its U-Net mask: ``feat * (1 + softmax_c(mask(feat)))``."""

    def __init__(self, layer: nn.Module, channels: int, depth: int) -> None:
        super().__init__()
        self.layer = layer
        self.mask = UNetMask(channels, depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.layer(x)
        return feat * (1 + self.mask(feat).softmax(dim=1))


@register_model(SPEC)
class UNetECAResNet34(FERModel):
    """ResNet34 + ECA U-Net masks (see ``SPEC.paper_says`` / ``SPEC.we_do``)."""

    def __init__(self, num_classes: int = 7, pretrained: bool = False) -> None:
        super().__init__()
        backbone = resnet34()
        if pretrained:
            backbone.load_state_dict(load_imagenet_state_dict(SPEC.pretrained_weights))
        self.stem = nn.Sequential(backbone.conv1, backbone.bn1, backbone.relu, backbone.maxpool)
        layers = (backbone.layer1, backbone.layer2, backbone.layer3, backbone.layer4)
        self.stages = nn.Sequential(
            *(MaskedStage(layer, 64 * 2**i, depth) for i, (layer, depth) in enumerate(zip(layers, UNET_DEPTHS)))
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.4)
        self.head = nn.Linear(512, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.pool(self.stages(self.stem(x))).flatten(1))
