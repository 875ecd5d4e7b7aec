"""Inference: translate images of any size (tiled when large), export generators, evaluate.

* :func:`translate` / :class:`Translator`: PIL images, numpy arrays or tensors in, the same kind
  out; any size (reflect-padded to the generator's multiple and cropped back); large images in
  overlapping, smoothly blended tiles with whole-image normalisation statistics
  (:mod:`~cyclegan_ms.inference.tiling`).
* :func:`export`: ONNX, TorchScript or a small generator-only safetensors file, with dynamic
  height and width (:mod:`~cyclegan_ms.inference.export`).
* :func:`evaluate`, :func:`psnr`, :func:`ssim`, :class:`InceptionFeatures`, :func:`fid_kid`:
  metrics against ground truth and between image sets (:mod:`~cyclegan_ms.inference.metrics`).

The command line exposes them as ``cyclegan-ms translate``, ``export`` and ``eval``.
"""

from __future__ import annotations

from .export import ExportFormat, PadToMultiple, export
from .metrics import (
    INCEPTION_ENV,
    EvalResult,
    InceptionFeatures,
    evaluate,
    fid_kid,
    find_inception_weights,
    folder_pairs,
    frechet_distance,
    kernel_distance,
    packaged_inception_weights,
    psnr,
    scene_pairs,
    ssim,
)
from .source import load_generator, resolve_generator, save_generator
from .tiling import (
    NormStats,
    Span,
    blend_window,
    collect_norm_stats,
    pad_to_multiple,
    tile_spans,
    tiled_forward,
    use_norm_stats,
)
from .translate import AUTO_TILE_PIXELS, DEFAULT_OVERLAP, DEFAULT_TILE, Translator, translate

__all__ = [
    "AUTO_TILE_PIXELS",
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE",
    "INCEPTION_ENV",
    "EvalResult",
    "ExportFormat",
    "InceptionFeatures",
    "NormStats",
    "PadToMultiple",
    "Span",
    "Translator",
    "blend_window",
    "collect_norm_stats",
    "evaluate",
    "export",
    "fid_kid",
    "find_inception_weights",
    "folder_pairs",
    "frechet_distance",
    "kernel_distance",
    "load_generator",
    "packaged_inception_weights",
    "pad_to_multiple",
    "psnr",
    "resolve_generator",
    "save_generator",
    "scene_pairs",
    "ssim",
    "tile_spans",
    "tiled_forward",
    "translate",
    "use_norm_stats",
]
