"""Translate at a working resolution, return at full resolution: the fast guided filter.

A generator trained on small crops sees a 1920-pixel photograph at many times its training
scale: it embosses edges and keeps the night's fine noise, and it costs the full image's FLOPs.
Translating a copy downscaled to a *working resolution* and carrying the result back with a
plain resize loses the photograph's own detail instead. The fast guided filter (He et al.,
"Guided Image Filtering", 2013; Wu et al., "Fast End-to-End Trainable Guided Filter", CVPR 2018)
does both: at the working resolution it fits, around every pixel, the local affine colour map
``out ≈ A · in + b`` (a 3 × 3 matrix and an offset per output channel) that takes the small
input to the generator's output; the coefficients are smooth, so they are upsampled bilinearly
and applied to the full-resolution input. Colours and tones are the generator's, edges and
texture are the photograph's.

>>> import torch
>>> small_in = torch.rand(1, 3, 16, 16)
>>> coeffs = guided_coefficients(small_in, 0.5 * small_in + 0.1)  # an affine map everywhere
>>> big = torch.rand(1, 3, 40, 40)
>>> err = (apply_guided(coeffs, big) - (0.5 * big + 0.1)).abs().mean()
>>> bool(err < 0.01)
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["GuidedCoefficients", "apply_guided", "guided_coefficients"]


def _box(x: Tensor, r: int) -> Tensor:
    """Mean over a ``(2r+1)²`` window (replicated edges). ``(B, C, H, W) -> (B, C, H, W)``."""
    return F.avg_pool2d(F.pad(x, (r, r, r, r), mode="replicate"), 2 * r + 1, stride=1)


@dataclass(frozen=True)
class GuidedCoefficients:
    """The local affine maps of a guided filter at the working resolution.

    Attributes
    ----------
    A
        ``(B, C_out, C_in, h, w)``: per pixel, the matrix taking the guide's channels to each
        output channel.
    b
        ``(B, C_out, h, w)``: per pixel, the offset of each output channel.
    """

    A: Tensor
    b: Tensor


def guided_coefficients(
    guide: Tensor, target: Tensor, *, radius: int = 1, eps: float = 1e-3
) -> GuidedCoefficients:
    """Fit ``target ≈ A · guide + b`` in every ``(2·radius+1)²`` window, then average the fits.

    Parameters
    ----------
    guide
        ``(B, C_in, h, w)``: the input at the working resolution (the guide).
    target
        ``(B, C_out, h, w)``: the generator's output for it.
    radius
        Window radius in working-resolution pixels (1: 3 × 3 windows).
    eps
        Regularisation of the local covariance (in squared data units): larger values give
        flatter maps (more of ``b``, less of the guide's detail).

    Returns
    -------
    GuidedCoefficients
        ``A`` ``(B, C_out, C_in, h, w)`` and ``b`` ``(B, C_out, h, w)``, in float32.

    Raises
    ------
    ValueError
        For tensors that are not 4-D with the same batch and spatial size, ``radius < 0`` or
        ``eps <= 0``.
    """
    if guide.ndim != 4 or target.ndim != 4 or guide.shape[0] != target.shape[0] or (
        guide.shape[-2:] != target.shape[-2:]
    ):
        raise ValueError(
            "guided filter: guide and target must be (B, C, h, w) batches of the same batch and "
            f"size; got {tuple(guide.shape)} and {tuple(target.shape)}"
        )
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 0:
        raise ValueError(f"guided filter: radius must be an integer >= 0; got {radius!r}")
    if not eps > 0:
        raise ValueError(f"guided filter: eps must be > 0; got {eps!r}")
    x, y = guide.float(), target.float()
    n, c_in, h, w = x.shape
    c_out = y.shape[1]
    mx, my = _box(x, radius), _box(y, radius)
    # cov(x_i, y_c) and cov(x_i, x_j) over each window
    cov_xy = torch.stack(
        [_box(x * y[:, c : c + 1], radius) - mx * my[:, c : c + 1] for c in range(c_out)], 1
    )  # (B, C_out, C_in, h, w)
    sigma = torch.stack(
        [
            torch.stack(
                [_box(x[:, i] * x[:, j], radius) - mx[:, i] * mx[:, j] for j in range(c_in)], 1
            )
            for i in range(c_in)
        ],
        1,
    )  # (B, C_in, C_in, h, w)
    sigma = sigma + eps * torch.eye(c_in, device=x.device).view(1, c_in, c_in, 1, 1)
    # solve per pixel: Sigma (C_in x C_in) @ a (C_in x C_out) = cov (C_in x C_out)
    a = torch.linalg.solve(
        sigma.permute(0, 3, 4, 1, 2), cov_xy.permute(0, 3, 4, 2, 1)
    )  # (B, h, w, C_in, C_out)
    A = a.permute(0, 4, 3, 1, 2).contiguous()  # (B, C_out, C_in, h, w)
    b = my - (A * mx[:, None]).sum(2)
    A = _box(A.view(n, c_out * c_in, h, w), radius).view(n, c_out, c_in, h, w)
    return GuidedCoefficients(A=A, b=_box(b, radius))


def _sample_rows(t: Tensor, rows: range, height: int, width: int) -> Tensor:
    """Rows ``rows`` of ``t`` ``(B, K, h, w)`` resized bilinearly to ``height × width``
    (exactly ``F.interpolate(t, (height, width), mode="bilinear")[..., rows, :]``)."""
    dev = t.device
    ys = (torch.arange(rows.start, rows.stop, device=dev, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, device=dev, dtype=torch.float32) + 0.5) / width
    gy, gx = torch.meshgrid(ys * 2 - 1, xs * 2 - 1, indexing="ij")
    grid = torch.stack([gx, gy], -1).expand(t.shape[0], -1, -1, -1)
    return F.grid_sample(t, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _strips(height: int, rows: int) -> Iterator[range]:
    for r in range(0, height, rows):
        yield range(r, min(height, r + rows))


def apply_guided(
    coeffs: GuidedCoefficients,
    full: Tensor,
    *,
    rows: int = 256,
    out: Tensor | None = None,
    encode: Callable[[Tensor], Tensor] | None = None,
    decode: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Apply upsampled guided-filter coefficients to the full-resolution input, strip by strip.

    Parameters
    ----------
    coeffs
        From :func:`guided_coefficients` at the working resolution.
    full
        ``(B, C_in, H, W)``: the full-resolution input (in the data range, or in its stored form
        when ``encode`` is given).
    rows
        Rows per strip (memory grows with ``rows × W``, not with the image).
    out
        Optional ``(B, C_out, H, W)`` tensor to write into (after ``decode``).
    encode, decode
        Optional conversions of each strip of ``full`` into the data range, and of each result
        strip into ``out``'s form (e.g. ``uint8`` images).

    Returns
    -------
    Tensor
        ``(B, C_out, H, W)``: ``out`` when given.
    """
    n, _, h, w = full.shape
    c_out = coeffs.b.shape[1]
    dev = coeffs.b.device
    A = coeffs.A.flatten(1, 2)
    result = out
    for strip in _strips(h, rows):
        x = full[:, :, strip.start : strip.stop].to(dev)
        x = encode(x) if encode is not None else x
        a = _sample_rows(A, strip, h, w).view(n, c_out, -1, len(strip), w)
        b = _sample_rows(coeffs.b, strip, h, w)
        y = (a * x.float()[:, None]).sum(2) + b
        y = decode(y) if decode is not None else y
        if result is None:
            result = torch.empty((n, c_out, h, w), dtype=y.dtype, device=y.device)
        result[:, :, strip.start : strip.stop] = y.to(result.device)
    assert result is not None
    return result
