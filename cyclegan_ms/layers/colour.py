"""Colour conversions shared by the parts, the datasets and the metrics."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["LUMA_WEIGHTS", "luma"]

#: ITU-R BT.601 luma weights for R, G, B.
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)
_WEIGHTS_ON: dict[tuple[torch.device, torch.dtype], Tensor] = {}


def _luma_weights(device: torch.device, dtype: torch.dtype) -> Tensor:
    """``(3, 1, 1)`` weights, built from host data once per device and dtype (not per call: on
    a GPU that would be a blocking copy in every forward pass)."""
    w = _WEIGHTS_ON.get((device, dtype))
    if w is None:
        with torch.inference_mode(False):  # a normal tensor, also usable outside inference mode
            w = torch.tensor(LUMA_WEIGHTS, dtype=dtype).view(3, 1, 1).to(device)
        _WEIGHTS_ON[(device, dtype)] = w
    return w


def luma(x: Tensor) -> Tensor:
    """ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``; a 1-channel image is its own luma.

    Computed in the input's dtype as the weighted sum over the channel dimension, so every
    caller gets the same bits for the same input.

    Parameters
    ----------
    x
        An image ``(C, H, W)`` or a batch ``(..., C, H, W)``, ``C`` in {1, 3}, in any range
        (the luma is linear).

    Shape
    -----
    ``(..., 3, H, W) -> (..., 1, H, W)``; ``(..., 1, H, W) -> (..., 1, H, W)`` (``x`` itself).

    Raises
    ------
    ValueError
        If ``x`` has fewer than 3 dimensions, or ``C`` is neither 1 nor 3.

    Examples
    --------
    >>> luma(torch.ones(2, 3, 4, 4)).shape
    torch.Size([2, 1, 4, 4])
    """
    if x.dim() < 3:
        raise ValueError(
            f"luma expects a (C, H, W) image or a (..., C, H, W) batch; got shape {tuple(x.shape)}"
        )
    c = x.shape[-3]
    if c == 1:
        return x
    if c != 3:
        raise ValueError(f"luma needs RGB (3 channels) or single-channel images; got {c} channels")
    return (x * _luma_weights(x.device, x.dtype)).sum(dim=-3, keepdim=True)
