"""Data-parallel training through PyTorch's own engine: ``torchrun --nproc_per_node=N train.py ...``.

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`init_distributed` turns them into a
:class:`Distributed` context (NCCL on CUDA, gloo on CPU). Without torchrun the context is a single
process and every collective below is a no-op, so the training loop has one code path.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    """This process's place in the run: rank, world size, and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, logs and artifacts and draws progress bars."""
        return self.rank == 0

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous part of a global batch (parts differ by at most one row)."""
        if not self.enabled:
            return batch
        return torch.tensor_split(batch, self.world_size)[self.rank]

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over ranks, in place; the tensor must live on the training device (NCCL needs CUDA)."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when ``flag`` is true on any: decisions that must agree (stop now?)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def broadcast_buffers(self, module: torch.nn.Module) -> None:
        # Without SyncBatchNorm each rank's BatchNorm running statistics drift apart; rank 0's are the
        # ones it saves, so every rank validates with them.
        if self.enabled:
            for buffer in module.buffers():
                dist.broadcast(buffer, src=0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device | None) -> tuple[Distributed, torch.device]:
    """Join the process group torchrun set up (if any) and pick this rank's device.

    Single process: returns ``Distributed()`` and ``device`` (CUDA when available). Under torchrun on
    CUDA each rank takes ``cuda:LOCAL_RANK`` and NCCL; on CPU (or ``--device cpu``) gloo.
    """
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not launched_by_torchrun():
        return Distributed(), device
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        # A long final evaluation on rank 0 must not time out the others waiting at a barrier.
        dist.init_process_group(backend, timeout=dt.timedelta(minutes=60))
    return Distributed(rank=rank, world_size=world, local_rank=local), device


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
