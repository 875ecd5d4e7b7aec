"""Devices and processes: the training device, the set-up from ``torchrun``'s environment, the
DDP wrappers of the two phases of a step, the reductions that keep every rank in step (losses
averaged, a skipped step or a stop agreed by all ranks, in one all-reduce a step), and the gathering of each rank's own state into rank 0's checkpoint.

Without a process group (one process) every function here is the identity or a plain wrapper,
so the :class:`~cyclegan_ms.training.Trainer` calls them unconditionally.

A process group this module creates uses a long timeout (:data:`PROCESS_GROUP_TIMEOUT`, so that
rank 0 can evaluate or write a checkpoint while the others wait in the next collective) and is
destroyed when the process exits.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TypedDict

import torch
import torch.distributed as dist
import torch.nn as nn
from torch import Tensor

from ..protocols import DomainKey, TranslationModule
from .config import ConfigError

__all__ = [
    "PROCESS_GROUP_TIMEOUT",
    "DistInfo",
    "agree_max",
    "device_index",
    "gather_to_main",
    "init_from_env",
    "init_process",
    "losses_to_host",
    "resolve_device",
    "to_cpu",
    "wrap_phases",
]

#: Timeout of the process group :func:`init_from_env` creates: rank 0 evaluates (FID, ...) and
#: writes checkpoints while the other ranks wait in the next collective, which NCCL's default of
#: 10 minutes would turn into a crash.
PROCESS_GROUP_TIMEOUT = timedelta(hours=2)


def device_index(local_rank: int, device_count: int) -> int:
    """The CUDA device index of the process with ``LOCAL_RANK = local_rank``.

    ``torchrun`` on one node shows every process all GPUs (``cuda:LOCAL_RANK``); a scheduler
    that gives each process its own GPU (SLURM with ``CUDA_VISIBLE_DEVICES`` per task) shows it
    one, ``cuda:0``, whatever its local rank.

    Raises
    ------
    ConfigError
        ``local_rank`` is beyond the visible GPUs (more processes than GPUs on this node).

    Examples
    --------
    >>> device_index(3, 8), device_index(3, 1)
    (3, 0)
    """
    if device_count == 1:
        return 0
    if 0 <= local_rank < device_count:
        return local_rank
    raise ConfigError(
        f"LOCAL_RANK={local_rank} but this process sees {device_count} CUDA device(s); start at "
        "most one process per GPU (torchrun --nproc_per_node <= number of GPUs)"
    )


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
        """This process's own GPU (see :func:`device_index`) when several processes share CUDA;
        ``device`` otherwise."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", device_index(self.local_rank, torch.cuda.device_count()))
        return device


def _destroy_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group ``torchrun`` describes (``RANK``, ``WORLD_SIZE``, ...), if any.

    Uses NCCL on CUDA and gloo on CPU, with :data:`PROCESS_GROUP_TIMEOUT`; a group created here
    is destroyed at exit. A process group that is already initialised (e.g. by a test or the
    user) is used as is. Without ``WORLD_SIZE`` > 1 nothing is initialised. On CUDA the
    process's device is set (:func:`device_index`) before NCCL starts, in both cases.
    """
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        info = DistInfo(dist.get_rank(), dist.get_world_size(), local)
        if device_type == "cuda" and info.enabled:
            torch.cuda.set_device(info.local_device(torch.device("cuda")))
        return info
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_available():  # pragma: no cover
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = "nccl" if device_type == "cuda" else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(device_index(local_rank, torch.cuda.device_count()))
    dist.init_process_group(backend=backend, timeout=PROCESS_GROUP_TIMEOUT)
    atexit.register(_destroy_group)
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
        GPU (:func:`device_index`).
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
        if any(p.requires_grad for p in d_phase.parameters()):  # none: no D step to sync
            d_phase = nn.parallel.DistributedDataParallel(d_phase, device_ids=ids)
    return g_phase, d_phase


def losses_to_host(
    losses: Mapping[str, Tensor], info: DistInfo, *, stop: float = 0.0
) -> tuple[dict[str, float] | None, float]:
    """A step's one host sync: the losses (averaged over ranks) if all are finite, else ``None``,
    and the stop request agreed by every rank, in one all-reduce.

    Under DDP the step is skipped on every rank when one rank's loss is not finite, and a stop
    that any rank asks for (``stop``) reaches every rank here.

    Parameters
    ----------
    losses
        Scalar loss tensors, by name.
    info
        This process's place in the job.
    stop
        This rank's stop request: 0 none, 1 stop, 2 stop because interrupted.

    Returns
    -------
    tuple[dict[str, float] | None, float]
        The losses as host floats, in the order of ``losses`` (``None`` when any is not
        finite), and the largest ``stop`` over the ranks (``stop`` itself in one process).
    """
    keys = list(losses)
    values = torch.stack([losses[k].detach().float().reshape(()) for k in keys])
    bad = (~torch.isfinite(values)).any().float().reshape(1)
    parts = [bad, torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)]
    if info.enabled:  # + how many ranks stop, and how many of them were interrupted
        parts.insert(1, values.new_full((1,), float(stop > 0)))
        parts.insert(2, values.new_full((1,), float(stop > 1)))
    packed = torch.cat(parts)
    agreed = stop
    if info.enabled:
        dist.all_reduce(packed)
        packed[3:] /= info.world_size
    host = packed.cpu().tolist()
    if info.enabled:
        agreed = 2.0 if host[2] > 0 else 1.0 if host[1] > 0 else 0.0
        host = [host[0], *host[3:]]
    if host[0] > 0:
        return None, agreed
    return dict(zip(keys, host[1:], strict=True)), agreed


def agree_max(value: float, info: DistInfo, device: torch.device) -> float:
    """The largest ``value`` over all ranks (``value`` itself in a single process)."""
    if not info.enabled:
        return value
    flag = torch.tensor([value], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return float(flag.item())


def gather_to_main(obj: object, info: DistInfo) -> list[object] | None:
    """Every rank's ``obj``, in rank order, on rank 0 (``None`` on the others; ``[obj]`` in one
    process): how each rank's own state (RNG streams, image pools) reaches rank 0's checkpoint.

    ``obj`` is pickled, its tensors (in dicts, lists and tuples) moved to the CPU first: a CUDA
    tensor would be unpickled onto rank 0's device of the same index.
    """
    if not info.enabled:
        return [obj]
    out: list[object] | None = [None] * info.world_size if info.is_main else None
    dist.gather_object(to_cpu(obj), out, dst=0)
    return out


def to_cpu(obj: object) -> object:
    """``obj`` with every tensor in its dicts, lists and tuples moved to the CPU.

    Examples
    --------
    >>> to_cpu({"a": [torch.ones(1)], "b": (2, "x")})
    {'a': [tensor([1.])], 'b': (2, 'x')}
    """
    if isinstance(obj, Tensor):
        return obj.detach().cpu()
    if isinstance(obj, Mapping):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_cpu(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_cpu(v) for v in obj)
    return obj
