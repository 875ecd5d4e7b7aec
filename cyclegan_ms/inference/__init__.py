"""Inference: translate images of any size (tiled when large) and export generators.

* :func:`translate` / :class:`Translator`: PIL images, numpy arrays or tensors in, the same kind
  out (:mod:`~cyclegan_ms.inference.kinds`); any size (reflect-padded to the generator's multiple
  and cropped back); large images in overlapping, smoothly blended tiles with whole-image
  normalisation statistics (:mod:`~cyclegan_ms.inference.tiling`,
  :mod:`~cyclegan_ms.inference.norm_stats`). Every choice is a field of one
  frozen :class:`TranslateOptions` (:mod:`~cyclegan_ms.inference.options`);
  :func:`as_translator` turns a model or a ready Translator, plus options, into a Translator.
* Where a generator comes from: models, checkpoints, run folders and generator files
  (:mod:`~cyclegan_ms.inference.source`).
* :func:`import_reference`: networks of the reference CycleGAN/pix2pix implementation
  (:mod:`~cyclegan_ms.inference.reference`).
* :func:`export`: ONNX, TorchScript or a small generator-only safetensors file, with dynamic
  height and width (:mod:`~cyclegan_ms.inference.export`).

Scoring translations is :mod:`cyclegan_ms.metrics` (``evaluate(as_translator(model), pairs)``);
video files and flicker-free frame sequences are :mod:`cyclegan_ms.video`. The command line
exposes them as ``cyclegan-ms translate``, ``export`` and ``eval``
(:mod:`~cyclegan_ms.inference_cli`).
"""

from __future__ import annotations

from .export import ExportFormat, PadToMultiple, export
from .kinds import ImageBatch, ImageLike, image_batch
from .norm_stats import NormStats, collect_norm_stats, use_norm_stats
from .options import EvalTranslateKwargs, TranslateKwargs, TranslateOptions
from .reference import import_reference
from .source import load_generator, resolve_generator, resolve_generator_card, save_generator
from .tiling import Span, blend_window, pad_to_multiple, tile_spans, tiled_forward
from .translate import (
    AUTO_TILE_PIXELS,
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    Translator,
    as_translator,
    translate,
)

__all__ = [
    "AUTO_TILE_PIXELS",
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE",
    "EvalTranslateKwargs",
    "ExportFormat",
    "ImageBatch",
    "ImageLike",
    "NormStats",
    "PadToMultiple",
    "Span",
    "TranslateKwargs",
    "TranslateOptions",
    "Translator",
    "as_translator",
    "blend_window",
    "collect_norm_stats",
    "export",
    "image_batch",
    "import_reference",
    "load_generator",
    "pad_to_multiple",
    "resolve_generator",
    "resolve_generator_card",
    "save_generator",
    "tile_spans",
    "tiled_forward",
    "translate",
    "use_norm_stats",
]
