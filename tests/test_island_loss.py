"""Island loss: the properties its paper relies on."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fer.losses import IslandLoss


def test_no_gradient_on_features_sitting_on_their_centers() -> None:
    loss_fn = IslandLoss(num_classes=7, feat_dim=16)
    labels = torch.tensor([0, 3, 3, 6, 1])
    feats = loss_fn.centers[labels].detach().clone().requires_grad_(True)
    loss = loss_fn(feats, labels)
    loss.backward()
    assert torch.count_nonzero(feats.grad) == 0
    assert loss_fn.center_term(feats, labels).item() == 0.0
    assert loss.item() > 0  # the pairwise term still penalises random centers


def test_center_gradient_is_the_mean_offset_of_its_class() -> None:
    loss_fn = IslandLoss(num_classes=3, feat_dim=4, lambda1=0.0)
    feats = torch.randn(6, 4)
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    loss_fn(feats, labels).backward()
    for c in range(3):
        expected = -(feats[labels == c] - loss_fn.centers[c].detach()).sum(0) / len(labels)
        assert torch.allclose(loss_fn.centers.grad[c], expected, atol=1e-6)


def test_centers_move_to_their_class_means() -> None:
    torch.manual_seed(1)
    means = torch.randn(4, 8) * 3
    labels = torch.arange(4).repeat_interleave(25)
    feats = means[labels] + 0.1 * torch.randn(100, 8)
    class_means = torch.stack([feats[labels == c].mean(0) for c in range(4)])
    loss_fn = IslandLoss(num_classes=4, feat_dim=8, lambda1=0.0)
    opt = torch.optim.SGD(loss_fn.parameters(), lr=0.5)  # the recipe's center optimizer
    start = (loss_fn.centers - class_means).norm(dim=1).detach()
    for _ in range(100):
        opt.zero_grad()
        loss_fn(feats, labels).backward()
        opt.step()
    end = (loss_fn.centers - class_means).norm(dim=1).detach()
    assert (end < 0.01 * start).all()


def test_pairwise_term_falls_as_centers_separate_and_bottoms_at_the_simplex() -> None:
    k, d = 7, 16
    loss_fn = IslandLoss(num_classes=k, feat_dim=d)
    base = torch.randn(d)
    with torch.no_grad():
        loss_fn.centers.copy_(base + 0.01 * torch.randn(k, d))  # nearly parallel
    close = loss_fn.pairwise_term().item()
    assert close > 0.99 * 2 * k * (k - 1)  # cos ~ 1 for every ordered pair
    with torch.no_grad():
        loss_fn.centers.copy_(torch.randn(k, d))
    spread = loss_fn.pairwise_term().item()
    assert spread < close
    # Gradient descent on the term alone keeps pushing centers apart.
    opt = torch.optim.SGD(loss_fn.parameters(), lr=0.1)
    values = []
    for _ in range(50):
        opt.zero_grad()
        term = loss_fn.pairwise_term()
        values.append(term.item())
        term.backward()
        opt.step()
    assert values[-1] < values[0]
    # ||sum of unit vectors||^2 >= 0 gives sum_{j!=k} cos >= -K, so the term is >= K(K-2),
    # reached by a regular simplex (unit vectors summing to zero).
    simplex = torch.eye(k) - 1.0 / k
    with torch.no_grad():
        loss_fn.centers.copy_(F.pad(simplex, (0, d - k)))
    assert abs(loss_fn.pairwise_term().item() - k * (k - 2)) < 1e-3
    assert min(values) >= k * (k - 2) - 1e-3
