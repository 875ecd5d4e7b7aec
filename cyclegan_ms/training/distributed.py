"""Devices and processes: the training device, the set-up from ``torchrun``'s environment, the
DDP wrappers of the two phases of a step, and the reductions that keep every rank in step
(losses averaged, a skipped step or a stop agreed by all ranks).

Without a process group (one process) every function here is the identity or a plain wrapper,
so the :class:`~cyclegan_ms.training.Trainer` calls them unconditionally.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

import torch
import torch.distributed as dist
import torch.nn as nn
from torch import Tensor

from ..protocols import DomainKey, TranslationModule
from .config import ConfigError

__all__ = [
    "DistInfo",
    "agree_max",
    "init_from_env",
    "init_process",
    "losses_to_host",
    "resolve_device",
    "wrap_phases",
]


def resolve_device(spec: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else is parsed by ``torch.device``."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError):
        raise ConfigError(
            f"train.device: unknown device {spec!r}; use 'auto', 'cpu' or 'cuda[:N]'"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "train.device = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'"
        )
    return device


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a (possibly single-process) job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes files."""
        return self.rank == 0

    def local_device(self, device: torch.device) -> torch.device:
        """This process's own GPU (``cuda:LOCAL_RANK``) when several processes share CUDA;
        ``device`` otherwise."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group ``torchrun`` describes (``RANK``, ``WORLD_SIZE``, ...), if any.

    Uses NCCL on CUDA and gloo on CPU. A process group that is already initialised (e.g. by a
    test or the user) is used as is. Without ``WORLD_SIZE`` > 1 nothing is initialised.
    """
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return DistInfo(dist.get_rank(), dist.get_world_size(), local)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_available():  # pragma: no cover
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = "nccl" if device_type == "cuda" else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank)


def init_process(device: str) -> tuple[DistInfo, torch.device]:
    """This process's place in the job and the device it trains on.

    Parameters
    ----------
    device
        ``train.device`` (see :func:`resolve_device`).

    Returns
    -------
    tuple[DistInfo, torch.device]
        What :func:`init_from_env` joined, and the device: under DDP on CUDA this rank's own
        GPU (``cuda:LOCAL_RANK``).
    """
    resolved = resolve_device(device)
    info = init_from_env(resolved.type)
    return info, info.local_device(resolved)


class _GeneratorPhase(nn.Module):
    """Holds the generator side's networks so one DDP wrapper syncs the generator step."""

    def __init__(self, model: TranslationModule) -> None:
        super().__init__()
        self.nets = nn.ModuleList(model.generators())
        self._model: TranslationModule
        object.__setattr__(self, "_model", model)

    def forward(self, real_a: Tensor, real_b: Tensor) -> GeneratorPhaseOutput:
        out = self._model.generator_objective(real_a, real_b)
        return {"losses": out.losses, "fakes": dict(out.fakes)}


class GeneratorPhaseOutput(TypedDict):
    """What the generator phase of :func:`wrap_phases` returns (a dict, which DDP can walk)."""

    losses: dict[str, Tensor]
    fakes: dict[DomainKey, Tensor]


class _DiscriminatorPhase(nn.Module):
    """Holds the discriminators so one DDP wrapper syncs the discriminator step."""

    def __init__(self, model: TranslationModule) -> None:
        super().__init__()
        self.nets = nn.ModuleList(model.discriminators())
        self._model: TranslationModule
        object.__setattr__(self, "_model", model)

    def forward(
        self, real_a: Tensor, real_b: Tensor, fakes: Mapping[DomainKey, Tensor]
    ) -> dict[str, Tensor]:
        return self._model.discriminator_objective(real_a, real_b, fakes)


def wrap_phases(
    model: TranslationModule, info: DistInfo, device: torch.device
) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator phases of a step, each one module over its networks.

    Parameters
    ----------
    model
        The model (already on ``device``).
    info
        This process's place in the job.
    device
        The training device.

    Returns
    -------
    tuple[nn.Module, nn.Module]
        ``g_phase(real_a, real_b)`` (a dict with ``losses`` and ``fakes``, the generated images
        by domain) and ``d_phase(real_a, real_b, fakes)`` (the loss dict); under DDP
        each is wrapped in one ``DistributedDataParallel``, so its gradients are averaged over
        ranks.
    """
    g_phase: nn.Module = _GeneratorPhase(model)
    d_phase: nn.Module = _DiscriminatorPhase(model)
    if info.enabled:
        ids = [device.index] if device.type == "cuda" else None
        g_phase = nn.parallel.DistributedDataParallel(g_phase, device_ids=ids)
        d_phase = nn.parallel.DistributedDataParallel(d_phase, device_ids=ids)
    return g_phase, d_phase


def losses_to_host(losses: Mapping[str, Tensor], info: DistInfo) -> dict[str, float] | None:
    """A step's one host sync: the losses (averaged over ranks) if all are finite, else ``None``.

    Under DDP the step is skipped on every rank when one rank's loss is not finite.

    Parameters
    ----------
    losses
        Scalar loss tensors, by name.
    info
        This process's place in the job.

    Returns
    -------
    dict[str, float] | None
        The losses as host floats, in the order of ``losses``; ``None`` when any is not finite.
    """
    keys = list(losses)
    values = torch.stack([losses[k].detach().float().reshape(()) for k in keys])
    bad = (~torch.isfinite(values)).any().float().reshape(1)
    packed = torch.cat([bad, torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)])
    if info.enabled:
        dist.all_reduce(packed)
        packed[1:] /= info.world_size
    host = packed.cpu().tolist()
    if host[0] > 0:
        return None
    return dict(zip(keys, host[1:], strict=True))


def agree_max(value: float, info: DistInfo, device: torch.device) -> float:
    """The largest ``value`` over all ranks (``value`` itself in a single process)."""
    if not info.enabled:
        return value
    flag = torch.tensor([value], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return float(flag.item())
