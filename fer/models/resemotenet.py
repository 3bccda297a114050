"""ResEmoteNet (Roy et al. 2024): a CNN, an SE block and three residual blocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fer.blocks import SEBlock
from fer.models.base import FERModel
from fer.registry import InputSpec, ModelSpec, Paper, Recipe, register_model

SPEC = ModelSpec(
    name="resemotenet",
    display_name="ResEmoteNet",
    input=InputSpec(size=64),
    cam_target_layer="act3",
    embed_dim=256,
    paper=Paper(
        title="ResEmoteNet: Bridging Accuracy and Loss Reduction in Facial Emotion Recognition",
        authors="A. K. Roy, H. K. Kathania, A. Sharma, A. Dey, M. S. A. Ansari",
        year=2024,
        file="resemotenet.txt",
        code="https://github.com/ArnabKumarRoy02/ResEmoteNet",
    ),
    reported={"FER2013": 79.79, "RAF-DB": 94.76, "AffectNet-7": 72.93, "ExpW": 75.67},
    recipe=Recipe(
        optimizer="sgd",
        lr=1e-3,
        momentum=0.9,
        weight_decay=1e-4,
        batch_size=16,
        epochs=80,
        loss="cross_entropy",
        class_weighted=True,
        scheduler="plateau",
        scheduler_monitor="val_acc",
        scheduler_factor=0.1,
        scheduler_patience=5,
        early_stop_patience=15,
        early_stop_monitor="val_acc",
        augmentation=("hflip",),
        notes="Plateau patience is not given by the paper; 5 is ours. Early-stop patience 15 is the official code's.",
    ),
    pretrained_weights=None,
    paper_says=(
        "Three conv blocks (conv, BN, max-pool), an SE block, three residual blocks, adaptive average pool, "
        "a classifier.",
        "Input 64x64; SGD lr 1e-3, batch 16, 80 epochs; class-weighted cross-entropy; random horizontal flip; "
        "lr x0.1 on plateau.",
        "FER2013 79.79%, RAF-DB 94.76%, AffectNet-7 72.93%, ExpW 75.67%.",
    ),
    we_do=(
        "Layer sizes from the official code: 3->64->128->256 convs, Dropout(0.2) after the first two pools, "
        "SE(256, r=16) without biases, residual blocks 256->512->1024->2048 (stride 2), FC 2048->1024->512->256->7 "
        "with Dropout(0.5): 80.2 M parameters. Attribute names follow the official code (its fc4 is our head).",
        "Grayscale replicated to 3 channels, ImageNet mean/std. Labels in FER2013 order (the official code uses "
        "happy, surprise, sad, anger, disgust, fear, neutral); evaluation never flips (the official code does).",
        "Weight decay 1e-4 and early-stop patience 15 from the official code; plateau patience 5 is ours.",
        "Grad-CAM on the third conv block's ReLU output (16x16 at 64 input); later maps are 8x8 and smaller.",
    ),
)


class ResidualBlock(nn.Module):
    """Two 3x3 conv+BN with a 1x1 conv+BN shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


@register_model(SPEC)
class ResEmoteNet(FERModel):
    """ResEmoteNet, faithful to the official code's layers (see ``SPEC.paper_says`` / ``SPEC.we_do``)."""

    def __init__(self, num_classes: int = 7, pretrained: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 128, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(128)
        self.conv3 = nn.Conv2d(128, 256, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(256)
        # Parameter-free ReLU modules, so Grad-CAM can hook a block's output.
        self.act1, self.act2, self.act3 = nn.ReLU(), nn.ReLU(), nn.ReLU()
        self.se = SEBlock(256)
        self.res_block1 = ResidualBlock(256, 512, stride=2)
        self.res_block2 = ResidualBlock(512, 1024, stride=2)
        self.res_block3 = ResidualBlock(1024, 2048, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, 512)
        self.fc3 = nn.Linear(512, 256)
        self.dropout1 = nn.Dropout(0.2)
        self.dropout2 = nn.Dropout(0.5)
        self.head = nn.Linear(256, num_classes)  # the official code's fc4

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout1(F.max_pool2d(self.act1(self.bn1(self.conv1(x))), 2))
        x = self.dropout1(F.max_pool2d(self.act2(self.bn2(self.conv2(x))), 2))
        x = F.max_pool2d(self.act3(self.bn3(self.conv3(x))), 2)
        x = self.res_block3(self.res_block2(self.res_block1(self.se(x))))
        x = self.pool(x).flatten(1)
        x = self.dropout2(F.relu(self.fc1(x)))
        x = self.dropout2(F.relu(self.fc2(x)))
        return self.dropout2(F.relu(self.fc3(x)))
