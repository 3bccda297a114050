"""What every model here shares: ``forward(x) == head(embed(x))``."""

from __future__ import annotations

import torch
from torch import nn


class FERModel(nn.Module):
    """Base of the four paper models.

    ``embed(x)`` returns the vector the last linear layer (``head``) sees, used for t-SNE/UMAP;
    ``forward(x)`` returns logits. ``spec`` is set by :func:`fer.build_model`.
    """

    head: nn.Linear

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    @property
    def num_classes(self) -> int:
        return self.head.out_features
