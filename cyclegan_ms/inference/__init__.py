"""Inference: translate images of any size (tiled when large), export generators, evaluate.

* :func:`translate` / :class:`Translator`: PIL images, numpy arrays or tensors in, the same kind
  out; any size (reflect-padded to the generator's multiple and cropped back); large images in
  overlapping, smoothly blended tiles with whole-image normalisation statistics
  (:mod:`~cyclegan_ms.inference.tiling`). Every choice is a field of one frozen
  :class:`TranslateOptions` (:mod:`~cyclegan_ms.inference.options`).
* :func:`export`: ONNX, TorchScript or a small generator-only safetensors file, with dynamic
  height and width (:mod:`~cyclegan_ms.inference.export`).
* :func:`evaluate` (:mod:`~cyclegan_ms.inference.evaluation`) on aligned pairs
  (:func:`scene_pairs`, :func:`folder_pairs`, from :mod:`cyclegan_ms.data.pairs`); image metrics
  against ground truth, :func:`psnr`, :func:`ssim`, :func:`structure_ssim`
  (:mod:`~cyclegan_ms.inference.image_metrics`); FID/KID between image sets,
  :class:`InceptionFeatures`, :func:`fid_kid` (:mod:`~cyclegan_ms.inference.fid`).
  :mod:`~cyclegan_ms.inference.metrics` gathers them all under their former names.

* :func:`translate_video` (:mod:`~cyclegan_ms.inference.video`): video files in, video files out,
  streamed frame by frame with the audio copied; :class:`FrameTranslator` and
  :class:`TemporalOptions` (:mod:`~cyclegan_ms.inference.temporal`) keep consecutive frames
  consistent, :func:`temporal_error` and :func:`evaluate_drives` measure flicker on clips.

The command line exposes them as ``cyclegan-ms translate``, ``export`` and ``eval``.
"""

from __future__ import annotations

from ..data.pairs import folder_pairs, scene_pairs
from .evaluation import METRICS, EvalResult, evaluate
from .export import ExportFormat, PadToMultiple, export
from .fid import (
    INCEPTION_ENV,
    InceptionFeatures,
    fid_kid,
    find_inception_weights,
    frechet_distance,
    kernel_distance,
    packaged_inception_weights,
)
from .image_metrics import psnr, ssim, structure_ssim
from .options import EvalTranslateKwargs, TranslateKwargs, TranslateOptions
from .source import load_generator, resolve_generator, resolve_generator_card, save_generator
from .temporal import (
    DriveEvalResult,
    FrameTranslator,
    TemporalOptions,
    change_error,
    evaluate_drives,
    frame_change,
    static_flicker,
    temporal_error,
)
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
from .video import VideoError, VideoInfo, translate_video

__all__ = [
    "AUTO_TILE_PIXELS",
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE",
    "INCEPTION_ENV",
    "METRICS",
    "DriveEvalResult",
    "EvalResult",
    "EvalTranslateKwargs",
    "ExportFormat",
    "FrameTranslator",
    "InceptionFeatures",
    "NormStats",
    "PadToMultiple",
    "Span",
    "TemporalOptions",
    "TranslateKwargs",
    "TranslateOptions",
    "Translator",
    "VideoError",
    "VideoInfo",
    "blend_window",
    "change_error",
    "collect_norm_stats",
    "evaluate",
    "evaluate_drives",
    "export",
    "fid_kid",
    "find_inception_weights",
    "folder_pairs",
    "frame_change",
    "frechet_distance",
    "kernel_distance",
    "load_generator",
    "packaged_inception_weights",
    "pad_to_multiple",
    "psnr",
    "resolve_generator",
    "resolve_generator_card",
    "save_generator",
    "scene_pairs",
    "ssim",
    "static_flicker",
    "structure_ssim",
    "temporal_error",
    "tile_spans",
    "tiled_forward",
    "translate",
    "translate_video",
    "use_norm_stats",
]
