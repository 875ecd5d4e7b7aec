"""Evaluation: PSNR and SSIM against ground truth, FID and KID between image sets.

The code lives in three modules by topic; this module gathers their names (and the pair
sources) so ``from cyclegan_ms.inference.metrics import ...`` keeps working:

* :mod:`~cyclegan_ms.inference.image_metrics`: :func:`psnr`, :func:`ssim`,
  :func:`structure_ssim`, per image against ground truth;
* :mod:`~cyclegan_ms.inference.fid`: the Inception feature extractor found on disk
  (:class:`InceptionFeatures`, :func:`find_inception_weights`), :func:`frechet_distance`,
  :func:`kernel_distance` and :func:`fid_kid`;
* :mod:`~cyclegan_ms.inference.evaluation`: :func:`evaluate` and :class:`EvalResult`;
* :mod:`cyclegan_ms.data.pairs`: the aligned pairs to evaluate on, :func:`scene_pairs` and
  :func:`folder_pairs`.
"""

from __future__ import annotations

from ..data.pairs import folder_pairs, scene_pairs
from .evaluation import METRICS, EvalResult, evaluate
from .fid import (
    INCEPTION_ENV,
    InceptionFeatures,
    fid_kid,
    find_inception_weights,
    frechet_distance,
    kernel_distance,
    packaged_inception_weights,
)
from .fid import TF_INCEPTION_RANGE as TF_INCEPTION_RANGE
from .fid import _Features as _Features
from .fid import _fid_kid_from_features as _fid_kid_from_features
from .image_metrics import _check_pair as _check_pair
from .image_metrics import _torchmetrics as _torchmetrics
from .image_metrics import _unit as _unit
from .image_metrics import psnr, ssim, structure_ssim

__all__ = [
    "INCEPTION_ENV",
    "METRICS",
    "EvalResult",
    "InceptionFeatures",
    "evaluate",
    "fid_kid",
    "find_inception_weights",
    "folder_pairs",
    "frechet_distance",
    "kernel_distance",
    "packaged_inception_weights",
    "psnr",
    "scene_pairs",
    "ssim",
    "structure_ssim",
]
