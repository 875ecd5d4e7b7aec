"""Moving images and generators between the host and the device that translates.

On a CUDA device a copy from ordinary (pageable) host memory blocks the host until the device
has caught up, so a loop that copies every tile waits for the GPU once per tile and the GPU
waits for the host in between. :func:`upload` stages host data in page-locked (pinned) memory
and copies it without blocking; PyTorch's pinned-memory allocator keeps each staging block
until its copy has finished, so the block may be dropped at once. Elsewhere (CPU, or data
already on the device) it is a plain ``torch.cat``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import torch
import torch.nn as nn
from torch import Tensor

__all__ = ["concrete_device", "on_device", "pins_memory", "upload"]


def concrete_device(device: torch.device | str) -> torch.device:
    """``device`` with the index a tensor created there gets (``"cuda"`` → ``cuda:<current>``).

    Examples
    --------
    >>> concrete_device("cpu"), concrete_device("meta")
    (device(type='cpu'), device(type='meta'))
    """
    dev = torch.device(device)
    if dev.type in ("cpu", "meta") or dev.index is not None:
        return dev
    return torch.empty(0, device=dev).device


def on_device(module: nn.Module, device: torch.device | str) -> bool:
    """Whether every parameter and buffer of ``module`` is on ``device`` (``True`` if it has
    none).

    Examples
    --------
    >>> on_device(nn.Linear(2, 2), "cpu"), on_device(nn.Linear(2, 2), "meta")
    (True, False)
    """
    dev = concrete_device(device)
    return all(t.device == dev for t in chain(module.parameters(), module.buffers()))


def pins_memory(source: torch.device, target: torch.device) -> bool:
    """Whether :func:`upload` stages data from ``source`` to ``target`` in pinned memory: from
    the host to a CUDA device."""
    return source.type == "cpu" and target.type == "cuda"


def upload(parts: Sequence[Tensor], device: torch.device, *, pin: bool | None = None) -> Tensor:
    """``torch.cat(parts)`` on ``device``, copied there without blocking the host when it can.

    Parameters
    ----------
    parts
        Tensors of one dtype and device that concatenate along dimension 0 (e.g. crops of an
        image: views of any strides).
    device
        Where the result lives.
    pin
        Concatenate into page-locked host memory and copy with ``non_blocking=True``; ``None``:
        when :func:`pins_memory` says so (host data going to a CUDA device).

    Returns
    -------
    Tensor
        The concatenation, contiguous, on ``device``. Read it on the host only after a
        synchronisation (any blocking copy back is one).

    Shape
    -----
    ``(N_i, ...)`` each → ``(sum N_i, ...)``.
    """
    first = parts[0]
    if pin is None:
        pin = pins_memory(first.device, device)
    if not pin:
        return torch.cat(list(parts), 0).to(device)
    shape = (sum(int(p.shape[0]) for p in parts), *first.shape[1:])
    staged = torch.empty(shape, dtype=first.dtype, pin_memory=True)
    torch.cat(list(parts), 0, out=staged)
    return staged.to(device, non_blocking=True)
