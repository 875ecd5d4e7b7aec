"""How images are translated: one frozen record shared by the Python API and the command line.

:class:`TranslateOptions` holds every choice :class:`~cyclegan_ms.inference.Translator`,
:func:`~cyclegan_ms.inference.translate`, :func:`~cyclegan_ms.inference.as_translator` and
:class:`~cyclegan_ms.video.FrameTranslator` accept (tiling, normalisation statistics, fixed-size
handling, batching, device, EMA weights, direction); ``cyclegan-ms translate`` and ``eval`` build
their flags from its fields. The keyword arguments of those functions are the same fields
(``direction`` and :class:`TranslateKwargs`) and override an options object field by field.

>>> opts = TranslateOptions(tile=512, overlap=16)
>>> opts.replace(direction="b2a").direction, opts.tile
('b2a', 512)
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypedDict

import torch
from typing_extensions import Unpack

from .._checks import check_int, check_value_range
from ..generators.card import Direction, check_direction
from .engines import ENGINE_CHOICES, EngineSpec

__all__ = [
    "EvalTranslateKwargs",
    "FixedSizeMode",
    "InferencePrecision",
    "NormStatsMode",
    "TileSpec",
    "TranslateKwargs",
    "TranslateOptions",
    "UpsampleMode",
    "options_with",
]

#: ``"auto"``, a tile side in pixels, or ``None`` (never tile).
TileSpec: TypeAlias = "int | Literal['auto'] | None"
#: Whole-image (``"global"``) or per-tile (``"tile"``) normalisation statistics.
NormStatsMode: TypeAlias = Literal["global", "tile"]
#: What to do with an image of another size for a fixed-size generator.
FixedSizeMode: TypeAlias = Literal["resize", "tile"]
#: How a working-resolution translation returns to full resolution.
UpsampleMode: TypeAlias = Literal["guided", "bilinear"]
#: Arithmetic of the generator's forward pass (``"auto"``: bf16 on CPUs with native bf16).
InferencePrecision: TypeAlias = Literal["auto", "fp32", "bf16"]


@dataclass(frozen=True)
class TranslateOptions:
    """Every choice of how a generator translates images (see :mod:`~cyclegan_ms.inference.translate`).

    Parameters
    ----------
    direction
        ``"a2b"`` (night → day for the seed) or ``"b2a"``.
    tile
        ``"auto"`` (tile images larger than
        :data:`~cyclegan_ms.inference.translate.AUTO_TILE_PIXELS` with
        :data:`~cyclegan_ms.inference.translate.DEFAULT_TILE`-pixel tiles), a tile side in pixels
        (a multiple of the generator's ``size_multiple``; images no larger than one tile run
        whole), or ``None`` (never tile).
    overlap
        Smallest overlap of neighbouring tiles, pixels (at most half a tile); default
        ``min(32, tile // 4)``.
    norm_stats
        ``"global"``: tiles use whole-image normalisation statistics; ``"tile"``: their own.
    stats_size
        Longer side of the downscaled copy the global statistics are computed on (at least the
        generator's size multiple).
    batch_size
        Images (or tiles) per forward pass.
    fixed_size_mode
        For fixed-size generators: ``"resize"`` or ``"tile"``.
    margin
        Fraction of each overlap ignored at a tile's edge, in ``[0, 0.5]`` (see
        :func:`~cyclegan_ms.inference.tiling.blend_window`).
    border
        Pixels of reflected context added on every side of an image translated in one pass, and
        cropped away after: the generator's zero padding then acts outside the picture, where a
        network trained on small crops leaves bright or dark bands along the borders of a large
        photograph. ``"auto"`` (default): twice the generator's ``size_multiple`` (64 for the
        five-level U-Net); ``0``: none (the behaviour before 0.1.0's last change). Fixed-size
        generators, tiled images and exported files
        (:func:`~cyclegan_ms.inference.export`) are not bordered.
    device
        Where the generator runs. A module given elsewhere is copied there (the caller's module
        is left where it is); ``None``: where its parameters are.
    value_range
        Data range of the generator; ``None``: its card's (for a CycleGAN, the model's).
    ema
        For checkpoints: use EMA weights (``None``: when present).
    progress
        Show a tqdm bar over the tiles of large images.
    work_size
        Translate images whose longer side exceeds this many pixels at a *working resolution*
        (a copy box-downscaled to at most ``work_size`` on its longer side) and carry the result
        back to full resolution with ``upsample``; ``None`` (default): every image at its own
        resolution. A generator trained on small crops sees a large photograph at many times
        its training scale (it embosses edges and keeps the night's fine noise); at the working
        resolution it sees the scale it learned, at a fraction of the FLOPs
        (``benchmarks/RESULTS.md``, session 9: 14 photographs up to 1920 px, SSIM 0.455 at
        full resolution, 0.670 with ``work_size=384``). The full image is then never tiled.
    upsample
        How a working-resolution translation returns to full resolution: ``"guided"`` (default:
        the fast guided filter of :mod:`~cyclegan_ms.inference.guided`: the generator's local
        colour map applied to the full-resolution input, so the photograph keeps its own
        detail) or ``"bilinear"`` (the small output resized).
    precision
        ``"auto"`` (default): bf16 autocast on a CPU with native bf16 dot products (AVX-512 BF16 /
        AMX), which translated 1.2-2.2x faster than fp32 on a Zen 4 (``benchmarks/RESULTS.md``,
        "Inference"), and fp32 everywhere else; ``"fp32"``; ``"bf16"`` (autocast on any device).
        bf16 outputs differ from fp32 by about one 8-bit level on average (PSNR above 40 dB
        between the two; ``tests/test_translate_precision.py``), far below what separates the
        models compared in ``benchmarks/RESULTS.md``.
    engine
        How the generator's forward pass runs (:mod:`~cyclegan_ms.inference.engines`):
        ``"eager"`` (default) PyTorch in ``precision``; ``"auto"``: the fastest engine here
        whose output is within 40 dB PSNR of fp32 PyTorch, measured on the first batch and
        cached; or one by name (``"onnx_fp32"``, ``"onnx_int8"``, ``"compile_bf16"``, ...).

    Raises
    ------
    ValueError
        For a field out of range (the message names it and what is accepted). Checks that need
        the generator (tile a multiple of its size, overlap at most half a tile) are made by
        :class:`~cyclegan_ms.inference.Translator`.

    Shape
    -----
    No tensors: options only.
    """

    direction: Direction = "a2b"
    tile: TileSpec = "auto"
    overlap: int | None = None
    norm_stats: NormStatsMode = "global"
    stats_size: int = 512
    batch_size: int = 4
    fixed_size_mode: FixedSizeMode = "resize"
    margin: float = 0.25
    border: int | Literal["auto"] = "auto"
    device: str | torch.device | None = None
    value_range: tuple[float, float] | None = None
    ema: bool | None = None
    progress: bool = False
    precision: InferencePrecision = "auto"
    work_size: int | None = None
    upsample: UpsampleMode = "guided"
    engine: EngineSpec = "eager"

    def __post_init__(self) -> None:
        check_direction(self.direction)
        tile = self.tile
        if (
            tile is not None
            and tile != "auto"
            and (isinstance(tile, bool) or not isinstance(tile, int) or tile < 1)
        ):
            raise ValueError(f"tile must be 'auto', None or a positive integer; got {tile!r}")
        if self.overlap is not None:
            check_int(self.overlap, "overlap", 0)
        if self.norm_stats not in ("global", "tile"):
            raise ValueError(f"norm_stats must be 'global' or 'tile'; got {self.norm_stats!r}")
        check_int(self.stats_size, "stats_size", 1)
        check_int(self.batch_size, "batch_size", 1)
        if self.fixed_size_mode not in ("resize", "tile"):
            raise ValueError(
                f"fixed_size_mode must be 'resize' or 'tile'; got {self.fixed_size_mode!r}"
            )
        margin = self.margin
        if (
            isinstance(margin, bool)
            or not isinstance(margin, (int, float))
            or not 0.0 <= margin <= 0.5
        ):
            raise ValueError(f"margin must be in [0, 0.5]; got {margin}")
        object.__setattr__(self, "margin", float(margin))
        if self.border != "auto":
            check_int(self.border, "border", 0)
        if self.value_range is not None:
            object.__setattr__(self, "value_range", check_value_range(self.value_range))
        if self.ema is not None and not isinstance(self.ema, bool):
            raise ValueError(f"ema must be True, False or None; got {self.ema!r}")
        if not isinstance(self.progress, bool):
            raise ValueError(f"progress must be True or False; got {self.progress!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16'; got {self.precision!r}")
        if self.work_size is not None:
            check_int(self.work_size, "work_size", 8)
        if self.upsample not in ("guided", "bilinear"):
            raise ValueError(f"upsample must be 'guided' or 'bilinear'; got {self.upsample!r}")
        if self.engine not in ENGINE_CHOICES:
            raise ValueError(
                f"engine must be one of {', '.join(ENGINE_CHOICES)}; got {self.engine!r}"
            )

    def replace(self, **changes: Unpack[OptionsKwargs]) -> TranslateOptions:
        """A copy with ``changes`` applied (validated; unknown names rejected with a suggestion).

        Raises
        ------
        TypeError
            For a name that is not a field.
        ValueError
            For a value out of range.
        """
        return options_with(self, changes)


class EvalTranslateKwargs(TypedDict, total=False):
    """The fields of :class:`TranslateOptions` that :func:`~cyclegan_ms.video.translate_video`
    takes as keyword arguments (all optional; its own ``progress`` is that of its loop over the
    frames, and it takes ``direction`` by name)."""

    tile: int | Literal["auto"] | None
    overlap: int | None
    norm_stats: NormStatsMode
    stats_size: int
    fixed_size_mode: FixedSizeMode
    margin: float
    border: int | Literal["auto"]
    device: str | torch.device | None
    value_range: tuple[float, float] | None
    ema: bool | None
    precision: InferencePrecision
    work_size: int | None
    upsample: UpsampleMode
    engine: EngineSpec


class TranslateKwargs(EvalTranslateKwargs, total=False):
    """The fields of :class:`TranslateOptions` but ``direction`` as keyword arguments (all
    optional): :class:`~cyclegan_ms.inference.Translator` and
    :func:`~cyclegan_ms.inference.translate` take ``direction`` by name."""

    batch_size: int
    progress: bool


class OptionsKwargs(TranslateKwargs, total=False):
    """Every field of :class:`TranslateOptions` as a keyword argument (all optional), as
    :meth:`TranslateOptions.replace` takes them."""

    direction: Direction


#: Names of the fields of :class:`TranslateOptions`, in order.
FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TranslateOptions))


def options_with(
    options: TranslateOptions | None,
    changes: Mapping[str, Any],
    *,
    owner: str = "TranslateOptions",
) -> TranslateOptions:
    """``options`` (default: all defaults) with the fields in ``changes`` replaced.

    Parameters
    ----------
    options
        The starting options, or ``None`` for :class:`TranslateOptions()`.
    changes
        Field names and values, e.g. the keyword arguments of ``Translator(...)``.
    owner
        Who received ``changes``, for the error message.

    Returns
    -------
    TranslateOptions

    Raises
    ------
    TypeError
        For a name that is not a field ("did you mean ...").
    ValueError
        For a value out of range.

    Shape
    -----
    No tensors: options only.
    """
    unknown = [k for k in changes if k not in FIELDS]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, FIELDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TypeError(
            f"{owner} got an unexpected option {name!r}{hint} (accepted: {', '.join(FIELDS)})"
        )
    base = options if options is not None else TranslateOptions()
    if not isinstance(base, TranslateOptions):
        raise TypeError(f"options must be a TranslateOptions; got {type(base).__name__}")
    return dataclasses.replace(base, **changes) if changes else base
