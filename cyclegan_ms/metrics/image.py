"""Image metrics against ground truth: PSNR, SSIM and structure SSIM, per image, over the whole
image or over the pixels of a mask (a region: near or far parts of a scene, a class).

SSIM is computed by `torchmetrics <https://lightning.ai/docs/torchmetrics>`_ (the ``metrics``
extra), which works offline; PSNR is one line. Both are computed on images mapped from the
model's data range to [0, 1] and clipped there (what a saved image shows). SSIM uses the standard
11×11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, averaged over channels.
"""

from __future__ import annotations

from types import ModuleType

import torch
from torch import Tensor

from ..layers import luma

__all__ = [
    "check_same_shape",
    "follows_input",
    "from_unit",
    "masked_psnr",
    "masked_ssim",
    "psnr",
    "require_torchmetrics",
    "ssim",
    "structure_ssim",
    "to_unit",
]


def require_torchmetrics() -> ModuleType:
    """The ``torchmetrics`` module, or an ImportError saying which extra to install.

    Raises
    ------
    ImportError
        Without torchmetrics (``pip install 'cyclegan-ms[metrics]'``).

    Shape
    -----
    No tensors: a module.
    """
    try:
        import torchmetrics
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError("metrics need torchmetrics: pip install 'cyclegan-ms[metrics]'") from err
    return torchmetrics


def to_unit(x: Tensor, data_range: tuple[float, float]) -> Tensor:
    """Images in ``data_range`` (or ``uint8``) as float in [0, 1], clipped, with a batch axis.

    Parameters
    ----------
    x
        ``(C, H, W)`` or ``(B, C, H, W)`` images.
    data_range
        ``(low, high)`` of float values (``uint8`` is read as 0..255).

    Returns
    -------
    Tensor
        ``(B, C, H, W)`` float32 in [0, 1].

    Raises
    ------
    ValueError
        For another number of dimensions.

    Shape
    -----
    ``(C, H, W)`` or ``(B, C, H, W)`` → ``(B, C, H, W)``.
    """
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"expected (C, H, W) or (B, C, H, W) images; got shape {tuple(x.shape)}")
    lo, hi = data_range
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    return ((x.float() - lo) / (hi - lo)).clamp(0.0, 1.0)


def from_unit(u: Tensor, data_range: tuple[float, float]) -> Tensor:
    """The inverse of :func:`to_unit` on [0, 1]: ``u * (high - low) + low`` (not clipped).

    Shape
    -----
    Unchanged.

    Examples
    --------
    >>> from_unit(torch.tensor([0.0, 0.5, 1.0]), (-1.0, 1.0))
    tensor([-1.,  0.,  1.])
    """
    lo, hi = data_range
    return u * (hi - lo) + lo


def check_same_shape(pred: Tensor, target: Tensor) -> None:
    """Raise unless a prediction and its target have one shape.

    Raises
    ------
    ValueError
        Naming both shapes.

    Shape
    -----
    ``pred`` and ``target``: any, equal.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f"prediction and target must have the same shape; got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )


def psnr(pred: Tensor, target: Tensor, *, data_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """Peak signal-to-noise ratio of each image, in dB.

    Parameters
    ----------
    pred, target
        Images in ``data_range`` (or ``uint8``), same shape.
    data_range
        ``(low, high)`` of the values; both are mapped to [0, 1] and clipped.

    Returns
    -------
    Tensor
        ``(B,)`` float32; ``inf`` for identical images.

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)`` (then ``B = 1``) → ``(B,)``.

    Examples
    --------
    >>> x = torch.zeros(1, 3, 8, 8)
    >>> psnr(x, x + 0.1).round()
    tensor([20.])
    """
    check_same_shape(pred, target)
    p, t = to_unit(pred, data_range), to_unit(target, data_range)
    mse = (p - t).pow(2).flatten(1).mean(1)
    # torchmetrics' PSNR reduces over the whole batch; per image is 10 log10(1 / mse)
    return (10.0 * torch.log10(1.0 / mse)).float()


def ssim(
    pred: Tensor,
    target: Tensor,
    *,
    data_range: tuple[float, float] = (0.0, 1.0),
    kernel_size: int = 11,
    sigma: float = 1.5,
) -> Tensor:
    """Structural similarity of each image (Wang et al. 2004, Gaussian window).

    Parameters
    ----------
    pred, target
        Images in ``data_range`` (or ``uint8``), same shape, at least ``kernel_size`` pixels on
        each side.
    data_range
        ``(low, high)`` of the values; both are mapped to [0, 1] and clipped.
    kernel_size, sigma
        Gaussian window (11, 1.5 as in the paper).

    Returns
    -------
    Tensor
        ``(B,)`` in [-1, 1]; 1 for identical images.

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)`` → ``(B,)``.

    Raises
    ------
    ValueError
        If the shapes differ or an image is smaller than the window.
    """
    return _ssim_and_map(pred, target, data_range, kernel_size, sigma)[0].float()


def _ssim_and_map(
    pred: Tensor,
    target: Tensor,
    data_range: tuple[float, float],
    kernel_size: int,
    sigma: float,
) -> tuple[Tensor, Tensor]:
    """torchmetrics' SSIM of images mapped to [0, 1]: per image ``(B,)`` and its map
    ``(B, C, H, W)`` (the per-image value is the map's mean)."""
    check_same_shape(pred, target)
    p, t = to_unit(pred, data_range), to_unit(target, data_range)
    if min(p.shape[-2:]) < kernel_size:
        raise ValueError(
            f"SSIM needs images of at least {kernel_size}×{kernel_size}; got {tuple(p.shape[-2:])}"
        )
    tm = require_torchmetrics()
    value, smap = tm.functional.image.structural_similarity_index_measure(
        p,
        t,
        gaussian_kernel=True,
        sigma=sigma,
        kernel_size=kernel_size,
        reduction="none",
        data_range=1.0,
        return_full_image=True,
    )
    return value, smap


def structure_ssim(
    pred: Tensor, target: Tensor, *, data_range: tuple[float, float] = (0.0, 1.0)
) -> Tensor:
    """SSIM of the luma after matching each image's global statistics to the target's.

    The luma (ITU-R 601) of ``pred`` is shifted and scaled so that its mean and standard
    deviation equal the target luma's, then compared with SSIM. Global brightness, contrast and
    colour no longer count: what is left is structure (edges, shapes, where things are), the part
    of night → day that a tone curve cannot fix and a generator that paints a memorised scene
    loses.

    Returns
    -------
    Tensor
        ``(B,)`` in [-1, 1].

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)`` with C in {1, 3} → ``(B,)``.
    """
    check_same_shape(pred, target)
    lp, lt = luma(to_unit(pred, data_range)), luma(to_unit(target, data_range))
    mp, sp = lp.mean(dim=(1, 2, 3), keepdim=True), lp.std(dim=(1, 2, 3), keepdim=True)
    mt, st = lt.mean(dim=(1, 2, 3), keepdim=True), lt.std(dim=(1, 2, 3), keepdim=True)
    matched = ((lp - mp) / sp.clamp_min(1e-6) * st + mt).clamp(0.0, 1.0)
    return ssim(matched, lt)


def follows_input(
    pred: Tensor, target: Tensor, *, data_range: tuple[float, float] = (0.0, 1.0)
) -> float:
    """The share of translations that are structurally closest to their own ground truth.

    For each ``pred[i]``, the target with the highest :func:`structure_ssim` among all of
    ``target`` is found; the score is the share of ``i`` for which it is ``target[i]``. A
    translator that keeps its input's structure scores 1; one that paints the same memorised
    scene whatever the input scores about ``1 / N``.

    Parameters
    ----------
    pred, target
        ``N`` translations and their ``N`` ground truths, in ``data_range``, same shape.
    data_range
        ``(low, high)`` of the values.

    Returns
    -------
    float
        In [0, 1].

    Shape
    -----
    ``(N, C, H, W), (N, C, H, W) -> ()``.
    """
    check_same_shape(pred, target)
    n = len(pred)
    hits = 0
    for i in range(n):
        s = structure_ssim(pred[i : i + 1].expand(n, -1, -1, -1), target, data_range=data_range)
        hits += int(int(s.argmax()) == i)
    return hits / n


def _mask_weights(mask: Tensor, like: Tensor) -> Tensor:
    """``mask`` as float weights of ``like``'s shape ``(B, C, H, W)``."""
    m = mask[None, None] if mask.ndim == 2 else mask
    if m.ndim != 4 or m.shape[-2:] != like.shape[-2:]:
        raise ValueError(
            "mask must be (H, W) or (B or 1, C or 1, H, W) with the images' H, W; "
            f"got {tuple(mask.shape)} for images {tuple(like.shape)}"
        )
    return m.to(like.device).expand_as(like).float()


def masked_psnr(
    pred: Tensor,
    target: Tensor,
    mask: Tensor,
    *,
    data_range: tuple[float, float] = (0.0, 1.0),
) -> Tensor:
    """PSNR of each image over the pixels of ``mask`` only, in dB.

    The mean squared error is taken over the masked pixels (every channel), ``-10 log10(mse)``
    of images mapped to [0, 1] as in :func:`psnr`.

    Parameters
    ----------
    pred, target
        Images in ``data_range`` (or ``uint8``), same shape.
    mask
        Which pixels count: bool (or 0/1), ``(B or 1, C or 1, H, W)`` or ``(H, W)``, broadcast
        over the batch and the channels.
    data_range
        ``(low, high)`` of the values.

    Returns
    -------
    Tensor
        ``(B,)`` float32; ``nan`` for an image whose mask is empty, ``inf`` where the masked
        pixels are identical.

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)`` (then ``B = 1``), mask as above → ``(B,)``.

    Examples
    --------
    >>> x = torch.zeros(1, 3, 8, 8)
    >>> y = x.clone(); y[..., :4] = 0.1
    >>> left = torch.zeros(1, 1, 8, 8, dtype=torch.bool); left[..., :4] = True
    >>> masked_psnr(x, y, left).round()
    tensor([20.])
    """
    check_same_shape(pred, target)
    p, t = to_unit(pred, data_range), to_unit(target, data_range)
    m = _mask_weights(mask, p)
    mse = ((p - t) ** 2 * m).flatten(1).sum(1) / m.flatten(1).sum(1)
    return (-10 * torch.log10(mse)).float()


def masked_ssim(
    pred: Tensor,
    target: Tensor,
    mask: Tensor,
    *,
    data_range: tuple[float, float] = (0.0, 1.0),
    kernel_size: int = 11,
    sigma: float = 1.5,
) -> Tensor:
    """Mean SSIM of each image over the pixels of ``mask`` only.

    The SSIM map of :func:`ssim` (same window; each pixel's value compares the windows around
    it, so structure just outside the mask still counts) averaged over the masked pixels.

    Parameters
    ----------
    pred, target
        Images in ``data_range`` (or ``uint8``), same shape, at least ``kernel_size`` pixels on
        each side.
    mask
        Which pixels count, as in :func:`masked_psnr`.
    data_range, kernel_size, sigma
        As in :func:`ssim`.

    Returns
    -------
    Tensor
        ``(B,)``; ``nan`` for an image whose mask is empty.

    Shape
    -----
    ``(B, C, H, W)`` or ``(C, H, W)``, mask as in :func:`masked_psnr` → ``(B,)``.
    """
    _, smap = _ssim_and_map(pred, target, data_range, kernel_size, sigma)
    m = _mask_weights(mask, smap)
    return ((smap * m).flatten(1).sum(1) / m.flatten(1).sum(1)).float()
