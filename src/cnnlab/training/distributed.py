"""Data-parallel training across processes started by ``torchrun`` (gloo on CPU, NCCL on GPU).

AlexNet's "trained on 2 GPUs" is done today by running one process per device and averaging gradients
(``DistributedDataParallel``). Each process reads its own shard of every epoch's order; metrics are
summed across processes; only rank 0 writes files.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from cnnlab.errors import SettingError

__all__ = ["Distributed", "setup_distributed"]


@dataclass(frozen=True)
class Distributed:
    """Where this process stands: its rank among ``world_size`` processes and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over processes (in place, and returned); the identity without torchrun."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def shutdown(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def _device(preference: str, local_rank: int) -> torch.device:
    if preference == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(preference)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise SettingError(
            f"<device={preference}> is not a device cnnlab trains on; expected auto, cpu, cuda or cuda:N"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise SettingError(f"<device={preference}> asked for, but this machine has no MPS device (use <device=cpu>)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SettingError(f"<device={preference}> asked for, but no CUDA device is available (use <device=cpu>)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise SettingError(f"<device={preference}> asked for, but there are {torch.cuda.device_count()} CUDA devices")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def setup_distributed(device_preference: str = "auto") -> Distributed:
    """Join the process group torchrun set up (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), if any."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = _device(device_preference, local_rank)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=10))
    return Distributed(rank, world_size, device)
