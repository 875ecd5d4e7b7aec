"""Metrics: how good a translation is, against ground truth, a target set, or over time.

* :mod:`~cyclegan_ms.metrics.names`: the one table of metric names and which way each is better
  (:data:`METRICS`, :data:`HIGHER_IS_BETTER`), read by the training config, the evaluation
  callbacks, ``cyclegan-ms eval`` and the benchmarks;
* :mod:`~cyclegan_ms.metrics.image`: :func:`psnr`, :func:`ssim`, :func:`structure_ssim`, per
  image against ground truth, :func:`masked_psnr`, :func:`masked_ssim` over a region, and
  :func:`follows_input` over a set;
* :mod:`~cyclegan_ms.metrics.fid`: FID/KID between image sets with an Inception network found on
  disk (:class:`InceptionFeatures`, :func:`fid_kid`);
* :mod:`~cyclegan_ms.metrics.flicker`: flicker of translated clips (:func:`temporal_error`,
  :func:`change_error`, :func:`frame_change`, :func:`static_flicker`);
* :mod:`~cyclegan_ms.metrics.evaluation`: :func:`evaluate` on aligned pairs
  (:func:`~cyclegan_ms.data.pairs.scene_pairs`, :func:`~cyclegan_ms.data.pairs.folder_pairs`);
* :mod:`~cyclegan_ms.metrics.selection`: :class:`UnpairedSelection`, the score that picks a
  checkpoint without ground truth (KID to held-out domain-B images, structure kept from the
  input, cycle error);
* :mod:`~cyclegan_ms.metrics.drives`: :func:`evaluate_drives` on clips with ground truth;
* :mod:`~cyclegan_ms.metrics.baselines`: training-free night → day baselines to compare with.

**Layering.** This package imports only the data, the parts and the utilities: it sits below
:mod:`cyclegan_ms.training` (whose evaluation callbacks use it), :mod:`cyclegan_ms.inference` and
:mod:`cyclegan_ms.video`. So :func:`evaluate` and :func:`evaluate_drives` take a *ready*
translator (a :class:`~cyclegan_ms.inference.Translator`, a
:class:`~cyclegan_ms.video.FrameTranslator`; see :class:`BatchTranslator` and
:class:`ClipTranslator`) instead of a model and translate options;
:func:`~cyclegan_ms.inference.as_translator` makes one from a model, a checkpoint or options.
"""

from __future__ import annotations

from .drives import ClipTranslator, DriveEvalResult, evaluate_drives
from .evaluation import BatchTranslator, EvalResult, evaluate
from .fid import (
    INCEPTION_ENV,
    InceptionFeatures,
    fid_kid,
    fid_kid_from_features,
    find_inception_weights,
    frechet_distance,
    kernel_distance,
    packaged_inception_weights,
)
from .flicker import STILL, change_error, frame_change, static_flicker, temporal_error
from .image import follows_input, masked_psnr, masked_ssim, psnr, ssim, structure_ssim
from .names import (
    EVAL_METRICS,
    HIGHER_IS_BETTER,
    INCEPTION_METRICS,
    METRICS,
    NO_TRUTH_METRICS,
    UNPAIRED,
    EvalMetricName,
    MetricName,
    is_better,
)
from .selection import SELECTION_TERMS, SelectionScores, UnpairedSelection, selection_score

__all__ = [
    "EVAL_METRICS",
    "HIGHER_IS_BETTER",
    "INCEPTION_ENV",
    "INCEPTION_METRICS",
    "METRICS",
    "NO_TRUTH_METRICS",
    "SELECTION_TERMS",
    "STILL",
    "UNPAIRED",
    "BatchTranslator",
    "ClipTranslator",
    "DriveEvalResult",
    "EvalMetricName",
    "EvalResult",
    "InceptionFeatures",
    "MetricName",
    "SelectionScores",
    "UnpairedSelection",
    "change_error",
    "evaluate",
    "evaluate_drives",
    "fid_kid",
    "fid_kid_from_features",
    "find_inception_weights",
    "follows_input",
    "frame_change",
    "frechet_distance",
    "is_better",
    "kernel_distance",
    "masked_psnr",
    "masked_ssim",
    "packaged_inception_weights",
    "psnr",
    "selection_score",
    "ssim",
    "static_flicker",
    "structure_ssim",
    "temporal_error",
]
