"""Training-free night → day baselines a learned translator must beat.

Each function maps a batch of night images to brightened ones of the same shape and range:

- :func:`auto_gamma`: the gamma curve that maps each image's mean to a target brightness, after
  an optional Gaussian blur that removes sensor noise (``denoise``: a stronger baseline);
- :func:`histogram_equalize`: per-channel global histogram equalisation;
- :func:`clahe`: contrast-limited adaptive histogram equalisation of the luma (scikit-image);
- :func:`oracle_curve`: the best global per-channel tone curve *fitted with the ground truth*, an
  upper bound for any global correction (gamma, levels, LUTs): what is left above it is spatial.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ..layers import gaussian_blur, luma
from .image import from_unit, to_unit

__all__ = ["auto_gamma", "clahe", "histogram_equalize", "oracle_curve"]


def auto_gamma(
    x: Tensor,
    value_range: tuple[float, float] = (0.0, 1.0),
    *,
    target_mean: float = 0.45,
    denoise: float = 0.0,
) -> Tensor:
    """Brighten each image with the gamma that maps its mean to ``target_mean``.

    ``denoise > 0`` first blurs the image with a Gaussian of that standard deviation (pixels):
    a night photo's sensor noise, which the brightening would amplify, costs more SSIM than
    the blur's lost detail.

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)``, unchanged.
    """
    if not 0.0 < target_mean < 1.0:
        raise ValueError(f"target_mean must be in (0, 1); got {target_mean}")
    u = gaussian_blur(to_unit(x, value_range), denoise)
    means = u.mean(dim=(1, 2, 3), keepdim=True).clamp(1e-4, 0.9999)
    gamma = math.log(target_mean) / torch.log(means)
    return from_unit(u.pow(gamma), value_range).reshape(x.shape)


def _to_uint8(u: Tensor) -> np.ndarray:
    return (u * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()


def histogram_equalize(x: Tensor, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """Per-channel global histogram equalisation (256 bins), image by image.

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)``, unchanged.
    """
    u = to_unit(x, value_range)
    px = _to_uint8(u)  # (B, C, H, W)
    out = np.empty(px.shape, dtype=np.float32)
    for b in range(px.shape[0]):
        for c in range(px.shape[1]):
            hist = np.bincount(px[b, c].ravel(), minlength=256)
            cdf = np.cumsum(hist).astype(np.float64)
            nonzero = cdf[hist > 0]
            lo = nonzero[0] if nonzero.size else 0.0
            span = max(cdf[-1] - lo, 1.0)
            lut = np.clip((cdf - lo) / span, 0.0, 1.0)
            out[b, c] = lut[px[b, c]]
    return from_unit(torch.from_numpy(out), value_range).reshape(x.shape)


def clahe(
    x: Tensor, value_range: tuple[float, float] = (0.0, 1.0), *, clip_limit: float = 0.02
) -> Tensor:
    """Contrast-limited adaptive histogram equalisation (scikit-image), on the luma.

    The image's luma is equalised with :func:`skimage.exposure.equalize_adapthist` and each
    pixel's RGB is scaled by the luma's gain, so hues are kept.

    Raises
    ------
    ImportError
        Without scikit-image (``pip install scikit-image``).

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)``, unchanged.
    """
    try:
        from skimage.exposure import equalize_adapthist
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("clahe needs scikit-image: pip install scikit-image") from err
    u = to_unit(x, value_range)
    y = luma(u)[:, 0]  # (B, H, W)
    out = torch.empty_like(u)
    for b in range(u.shape[0]):
        eq = torch.from_numpy(
            equalize_adapthist(y[b].numpy().astype(np.float64), clip_limit=clip_limit)
        ).float()
        gain = eq / y[b].clamp_min(1e-3)
        out[b] = (u[b] * gain).clamp(0.0, 1.0)
    return from_unit(out, value_range).reshape(x.shape)


def oracle_curve(
    x: Tensor, truth: Tensor, value_range: tuple[float, float] = (0.0, 1.0), *, bins: int = 256
) -> Tensor:
    """The least-squares best global tone curve per image and channel, fitted with the truth.

    For every input level (``bins`` levels per channel) the output is the mean of the truth over
    the pixels at that level: the per-channel look-up table with the smallest squared error. No
    global correction (gamma, levels, curves, any LUT of a channel) can score a higher PSNR, so
    it is the ceiling of global methods; a translator that beats it uses space, not just tone.

    Shape
    -----
    ``x``, ``truth``: ``(B, C, H, W)`` or ``(C, H, W)``, same shape; output the same.
    """
    if x.shape != truth.shape:
        raise ValueError(
            f"x and truth must have one shape; got {tuple(x.shape)} and {tuple(truth.shape)}"
        )
    u = to_unit(x, value_range)
    t = to_unit(truth, value_range)
    levels = (u * (bins - 1)).round().long()
    b, c = u.shape[:2]
    flat_l = levels.reshape(b * c, -1)
    flat_t = t.reshape(b * c, -1)
    sums = torch.zeros(b * c, bins).scatter_add_(1, flat_l, flat_t)
    counts = torch.zeros(b * c, bins).scatter_add_(1, flat_l, torch.ones_like(flat_t))
    lut = sums / counts.clamp_min(1.0)
    out = lut.gather(1, flat_l).reshape(u.shape)
    return from_unit(out, value_range).reshape(x.shape)
