"""Tensor <-> image conversions and sample grids (Pillow + numpy, no torchvision)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from .files import atomic_write_bytes

__all__ = ["GRID_PAD", "from_uint8", "read_grid", "save_grid", "to_uint8"]

#: White pixels around and between the images of a :func:`save_grid` picture.
GRID_PAD = 2


def to_uint8(x: Tensor, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Convert an image tensor to ``uint8`` pixels.

    Parameters
    ----------
    x
        ``(C, H, W)`` with C in {1, 3}, values in ``value_range``.
    value_range
        ``(low, high)`` mapped to ``(0, 255)``; values outside are clipped.

    Returns
    -------
    numpy.ndarray
        ``(H, W, C)`` ``uint8``.
    """
    if x.ndim != 3:
        raise ValueError(f"expected a (C, H, W) tensor; got shape {tuple(x.shape)}")
    lo, hi = value_range
    y = (x.detach().float().cpu() - lo) / (hi - lo)
    y = (y.clamp(0, 1) * 255.0).round().to(torch.uint8)
    return y.permute(1, 2, 0).contiguous().numpy()


def from_uint8(pixels: np.ndarray, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """Inverse of :func:`to_uint8`: ``(H, W, C)`` or ``(H, W)`` uint8 → ``(C, H, W)`` float32."""
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"expected (H, W) or (H, W, C) pixels; got shape {arr.shape}")
    lo, hi = value_range
    t = torch.from_numpy(np.array(arr, copy=True)).permute(2, 0, 1).float() / 255.0
    return t * (hi - lo) + lo


def save_grid(
    rows: Sequence[Sequence[Tensor]],
    path: str | os.PathLike[str],
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    pad: int = GRID_PAD,
) -> Path:
    """Save a grid of ``(C, H, W)`` images (one list per row) as a PNG, atomically.

    All images must share one size; single-channel images are shown in gray. A disk or folder
    that refuses the file raises :class:`~cyclegan_ms.utils.files.WriteError` (nothing written).
    """
    if not rows or not rows[0]:
        raise ValueError("save_grid needs at least one image")
    tiles = [[to_uint8(x, value_range) for x in row] for row in rows]
    h, w = tiles[0][0].shape[:2]
    ncol = max(len(r) for r in tiles)
    canvas = np.full((len(tiles) * (h + pad) + pad, ncol * (w + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(tiles):
        for j, t in enumerate(row):
            if t.shape[:2] != (h, w):
                raise ValueError(f"grid images must share one size; got {t.shape[:2]} and {(h, w)}")
            if t.shape[2] == 1:
                t = np.repeat(t, 3, axis=2)
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            canvas[y : y + h, x : x + w] = t[:, :, :3]
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue(), durable=False)


def read_grid(
    path: str | os.PathLike[str], size: int | tuple[int, int], *, pad: int = GRID_PAD
) -> list[list[np.ndarray]]:
    """The images of a :func:`save_grid` picture, row by row: its inverse for ``uint8`` pixels.

    Parameters
    ----------
    path
        A PNG written by :func:`save_grid`.
    size
        Side, or ``(height, width)``, of its images.
    pad
        The ``pad`` it was written with.

    Returns
    -------
    list[list[numpy.ndarray]]
        ``(height, width, 3)`` ``uint8`` images (gray ones as three equal channels), one list per
        row, every row as long as the grid (a shorter row ends in white tiles).

    Raises
    ------
    ValueError
        If the picture is not a grid of ``size`` images with ``pad``.

    Shape
    -----
    ``(height, width, 3)`` per image.
    """
    h, w = (size, size) if isinstance(size, int) else size
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"))
    rows, cols = (a.shape[0] - pad) // (h + pad), (a.shape[1] - pad) // (w + pad)
    if rows < 1 or cols < 1 or (rows * (h + pad) + pad, cols * (w + pad) + pad) != a.shape[:2]:
        raise ValueError(
            f"{path} ({a.shape[0]}×{a.shape[1]}) is not a grid of {h}×{w} images with pad {pad}"
        )
    tops = [pad + i * (h + pad) for i in range(rows)]
    lefts = [pad + j * (w + pad) for j in range(cols)]
    return [[a[y : y + h, x : x + w] for x in lefts] for y in tops]
