"""Distribution-level losses on global image statistics (unpaired: no pixel correspondence).

:func:`colour_moment_loss` compares the per-channel mean and standard deviation of a batch of
translations with those of a batch of real images of the target domain. It needs no pairing, only
the target domain's statistics, so it is a legitimate unpaired term; it gives the generator a
direct signal for global tone and contrast, which a patch discriminator conveys slowly (measured
in ``benchmarks/RESULTS.md``: the night2day recipe's translations were too dark by about 0.07 on
average after ten CPU-minutes).

    >>> import torch
    >>> from cyclegan_ms.losses import colour_moment_loss
    >>> x = torch.rand(4, 3, 16, 16)
    >>> float(colour_moment_loss(x, x))
    0.0
    >>> round(float(colour_moment_loss(x * 0 + 0.2, x * 0 + 0.5)), 4)  # |0.2 - 0.5|, equal stds
    0.3
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["channel_moments", "colour_moment_loss"]


def channel_moments(x: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of each channel over a whole batch, in float32.

    Parameters
    ----------
    x
        ``(B, C, H, W)`` images.

    Returns
    -------
    tuple[Tensor, Tensor]
        ``(mean, std)``, each ``(C,)``; the std is the population one (``B·H·W`` values).
    """
    if x.dim() != 4:
        raise ValueError(f"expected (B, C, H, W) images; got shape {tuple(x.shape)}")
    xf = x.float()
    mean = xf.mean(dim=(0, 2, 3))
    var = (xf - mean[None, :, None, None]).pow(2).mean(dim=(0, 2, 3))
    return mean, (var + 1e-8).sqrt()


def colour_moment_loss(fake: Tensor, real: Tensor) -> Tensor:
    """L1 distance between the channel moments of ``fake`` and those of ``real``.

    ``mean_c |μ_c(fake) - μ_c(real)| + mean_c |σ_c(fake) - σ_c(real)|``, with the moments of
    :func:`channel_moments`. ``real`` is a target-domain batch that need not show the same scenes;
    no gradient flows into it.

    Parameters
    ----------
    fake
        ``(B, C, H, W)`` translations.
    real
        ``(B', C, H', W')`` real images of the target domain (any batch size and image size).

    Returns
    -------
    Tensor
        Scalar, float32.
    """
    if fake.dim() != 4 or real.dim() != 4 or fake.shape[1] != real.shape[1]:
        raise ValueError(
            "colour_moment_loss needs (B, C, H, W) batches with the same channel count; "
            f"got {tuple(fake.shape)} and {tuple(real.shape)}"
        )
    mf, sf = channel_moments(fake)
    with torch.no_grad():
        mr, sr = channel_moments(real)
    return (mf - mr).abs().mean() + (sf - sr).abs().mean()
