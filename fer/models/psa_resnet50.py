"""PSA-ResNet50 (Gu, Jin): EPSANet's pyramid split attention in every ResNet50 bottleneck, Softmax + Island loss."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet50

from fer.blocks import PSAModule
from fer.models.base import FERModel
from fer.pretrained import load_imagenet_state_dict
from fer.registry import InputSpec, ModelSpec, Paper, Recipe, register_model

SPEC = ModelSpec(
    name="psa_resnet50",
    display_name="PSA-ResNet50",
    input=InputSpec(size=224),
    cam_target_layer="layer4.2",
    embed_dim=2048,
    paper=Paper(
        title="An Expression Recognition Model Combining Attention and Residual Networks",
        authors="J. Gu, X. Jin",
        year=None,
        file="psa-resnet50.txt",
    ),
    reported={"FER2013": 74.26, "CK+": 98.35},
    recipe=Recipe(
        optimizer="adam",
        lr=1e-3,
        batch_size=32,
        epochs=200,
        loss="cross_entropy+island",
        scheduler="plateau",
        scheduler_monitor="val_loss",
        scheduler_factor=0.1,
        scheduler_patience=30,
        augmentation=("hflip",),
        extra={"island_lambda1": 10.0, "island_weight": 0.01, "center_lr": 0.5},
        notes="The paper's own augmentation (affine, flip, rotation on disgust, removal of noisy images) is "
        "dataset surgery we do not reproduce; we use a horizontal flip.",
    ),
    pretrained_weights="ResNet50_Weights.IMAGENET1K_V1",
    paper_says=(
        "ResNet50 with every bottleneck's 3x3 conv replaced by PSA: S=4 splits, kernels 3/5/7/9, groups 1/4/8/16, "
        "SE weights per branch, softmax across branches, multiply and concatenate.",
        "Initialised from ImageNet ResNet50; loss = softmax cross-entropy + Island loss (lambda1 balances the "
        "center term and the pairwise cosine term).",
        "Adam lr 1e-3, batch 32, 200 epochs, lr x0.1 when the validation loss has not dropped in 30 epochs. "
        "FER2013 74.26%, CK+ 98.35%. Input size is not stated.",
    ),
    we_do=(
        "PSA as in EPSANet's official code: every branch sees all input channels and outputs C/4, one SE module "
        "(1x1 convs, reduction 16) shared by the branches, stride on every branch.",
        "224x224 input (ResNet50's default). ImageNet ResNet50 weights (torchvision IMAGENET1K_V1) are copied "
        "where shapes match (stem, 1x1 convs, all BN); the PSA convs start fresh.",
        "Island loss on the 2048-d pooled features with lambda1 = 10 (the Island loss paper's value), weight 0.01 "
        "in the total loss, centers learned by their own SGD at lr 0.5.",
        "Grad-CAM on the last bottleneck of stage 4.",
    ),
)


@register_model(SPEC)
class PSAResNet50(FERModel):
    """ResNet50 with PSA modules in place of the 3x3 convs (see ``SPEC.paper_says`` / ``SPEC.we_do``)."""

    def __init__(self, num_classes: int = 7, pretrained: bool = False) -> None:
        super().__init__()
        net = resnet50()
        for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
            for block in layer:
                width = block.conv2.in_channels
                block.conv2 = PSAModule(width, width, stride=block.conv2.stride[0])
        if pretrained:
            self._copy_matching(net, load_imagenet_state_dict(SPEC.pretrained_weights))
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(2048, num_classes)

    @staticmethod
    def _copy_matching(net: nn.Module, imagenet: dict[str, torch.Tensor]) -> None:
        own = net.state_dict()
        matching = {
            k: v for k, v in imagenet.items() if k in own and own[k].shape == v.shape and not k.startswith("fc.")
        }
        net.load_state_dict(matching, strict=False)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.pool(x).flatten(1)
