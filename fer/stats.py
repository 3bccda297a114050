"""Model size and cost: parameters, multiply-accumulates (torch's FLOP counter), measured CPU latency."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, size: int | None = None) -> int:
    """Multiply-accumulates of one forward pass at the model's input size (FLOPs / 2)."""
    size = size or model.spec.input.size
    x = torch.zeros(1, model.spec.input.channels, size, size, device=next(model.parameters()).device)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(x)
    return counter.get_total_flops() // 2


def measure_latency(model: nn.Module, repeats: int = 5, size: int | None = None) -> float:
    """Median seconds of one batch-1 forward pass (inference mode, after a warm-up)."""
    size = size or model.spec.input.size
    x = torch.randn(1, model.spec.input.channels, size, size).contiguous(memory_format=torch.channels_last)
    model.eval()
    times = []
    with torch.inference_mode():
        model(x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)
