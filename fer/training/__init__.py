"""Training with each paper's recipe: configuration, optimisers, the epoch loop, resumable runs."""

from fer.training.config import TrainConfig, config_from_recipe
from fer.training.loop import fit

__all__ = ["TrainConfig", "config_from_recipe", "fit"]
