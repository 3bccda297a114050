"""Island loss (Cai et al., FG 2018): center loss plus a penalty on the cosine similarity of class centers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class IslandLoss(nn.Module):
    """``L_IL = L_C + lambda1 * sum_{j != k} (cos(c_j, c_k) + 1)``.

    ``L_C = 1/2 * mean_i ||x_i - c_{y_i}||^2`` pulls features to their class center; the
    pairwise term (over ordered pairs of distinct classes, as the paper's sum is written)
    pushes the centers apart in angle. The centers are a parameter of this module, trained
    by their own optimizer (SGD lr 0.5 in the PSA-ResNet50 recipe).
    """

    def __init__(self, num_classes: int, feat_dim: int, lambda1: float = 10.0) -> None:
        super().__init__()
        self.lambda1 = lambda1
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))

    def center_term(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return 0.5 * (features - self.centers[labels]).pow(2).sum(dim=1).mean()

    def pairwise_term(self) -> torch.Tensor:
        unit = F.normalize(self.centers, dim=1)
        cos = unit @ unit.t()
        off_diagonal = ~torch.eye(len(cos), dtype=torch.bool, device=cos.device)
        return (cos[off_diagonal] + 1).sum()

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.center_term(features, labels) + self.lambda1 * self.pairwise_term()
