"""Losses the papers train with beyond cross-entropy."""

from fer.losses.island import IslandLoss

__all__ = ["IslandLoss"]
