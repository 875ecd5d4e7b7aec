"""Translating frame sequences without flicker.

A generator translates each frame of a video on its own, so whatever differs between two frames
that should not (fresh sensor noise at night, a normalisation layer's statistics moving with the
content) makes the output flicker. :class:`FrameTranslator` translates a sequence one frame at a
time with two remedies, each an option of :class:`TemporalOptions`:

* **Smoothed normalisation statistics** (``stats_decay``): instance/group norm layers and global
  context layers normally use each frame's own statistics. Here every frame's statistics are
  recorded with the whole-image machinery of tiled inference
  (:func:`~cyclegan_ms.inference.norm_stats.collect_norm_stats`, on a copy of the frame downscaled
  to at most ``stats_size``), blended into an exponential moving average
  ``s = decay · s + (1 - decay) · s_frame``, and the frame is translated with the average
  (:func:`~cyclegan_ms.inference.norm_stats.use_norm_stats`), so all frames of a shot share almost
  the same affine map per layer. The price is a second, small forward pass per frame (the tiled
  path pays it anyway).
* **A difference-guided temporal filter** (``filter_strength``): where the input barely changed
  since the pixels the last output shows (the channel mean of ``|blur(x_t - x_ref)|``, the
  signed difference box-blurred over ``2 · filter_radius + 1`` pixels so that zero-mean sensor
  noise averages out, below ``filter_threshold``), the new output is blended with the previous one,
  ``y = w · y_prev + (1 - w) · y_t`` with ``w = strength · (1 - change / threshold)²``; where it
  changed, the new output passes unchanged. The reference input ``x_ref`` is blended the same way,
  so a slow change still accumulates until it passes the threshold. Static parts of the scene
  (sky, buildings, a parked camera's whole view) stay still; moving objects are not smeared.

Both reset at a scene cut (a mean absolute input change above ``cut_threshold``) and when the
frame size changes. :mod:`cyclegan_ms.metrics.flicker` measures what is left
(:func:`~cyclegan_ms.metrics.temporal_error`: how much more, or less, the translated clip changes
from frame to frame than the ground-truth clip does), and
:func:`~cyclegan_ms.metrics.evaluate_drives` scores a :class:`FrameTranslator` on clips.

The frames go through the :class:`~cyclegan_ms.inference.Translator`'s public hooks only:
:func:`~cyclegan_ms.inference.kinds.image_batch` reads each frame of any kind,
:meth:`~cyclegan_ms.inference.Translator.norm_stats_of` records its statistics and
:meth:`~cyclegan_ms.inference.Translator.tensor` translates it with the averaged ones.

>>> import numpy as np
>>> from cyclegan_ms import build
>>> G = build("generator", "resnet_6blocks", ngf=4)
>>> frames = FrameTranslator(G, temporal=TemporalOptions(stats_decay=0.8, filter_strength=0.5))
>>> out = [frames(np.zeros((24, 32, 3), np.uint8)) for _ in range(3)]
>>> out[0].shape, out[0].dtype
((24, 32, 3), dtype('uint8'))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypedDict, overload

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from typing_extensions import Unpack

from ..inference.kinds import ImageLike, ImageT, image_batch
from ..inference.norm_stats import NormStats, needs_image_stats
from ..inference.options import TranslateKwargs, TranslateOptions
from ..inference.source import Direction, ModelSource
from ..inference.translate import Translator, as_translator

__all__ = ["FrameTranslator", "TemporalOptions", "blend_norm_stats"]


def _unit_float(name: str, value: object, *, lo: float, hi: float, hi_open: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = lo <= v < hi if hi_open else lo <= v <= hi
    if not ok:
        bound = f"[{lo}, {hi})" if hi_open else f"[{lo}, {hi}]"
        raise ValueError(f"{name} must be a number in {bound}; got {value!r}")
    return float(value)  # type: ignore[arg-type]


class TemporalKwargs(TypedDict, total=False):
    """The fields of :class:`TemporalOptions` as keyword arguments (all optional), as
    :meth:`TemporalOptions.replace` takes them."""

    stats_decay: float
    filter_strength: float
    filter_threshold: float
    filter_radius: int
    cut_threshold: float | None


@dataclass(frozen=True)
class TemporalOptions:
    """How :class:`FrameTranslator` keeps consecutive frames consistent (see the module docs).

    The defaults are what ``benchmarks/video.py`` measured on the built-in drives: the filter
    on (it halves the flicker and raises PSNR/SSIM a little), the statistics average off (no
    measurable effect there, at the price of a second pass per frame; it can matter for
    generators whose statistics move with noise). :meth:`off` is plain frame-by-frame
    translation.

    Parameters
    ----------
    stats_decay
        Weight of the past in the moving average of normalisation statistics, in ``[0, 1)``;
        0: every frame uses its own statistics.
    filter_strength
        Largest weight of the previous output in the temporal filter, in ``[0, 1)``; 0: no
        filter.
    filter_threshold
        Input change (channel mean of ``|blur(x_t - x_ref)|``, pixel values scaled to [0, 1])
        at and above which the new output passes unfiltered (``> 0``).
    filter_radius
        Radius in pixels of the box blur of the input change (``>= 0``).
    cut_threshold
        A mean absolute input change (scaled to [0, 1]) above this is a scene cut: the average
        and the filter restart. ``None``: never.

    Raises
    ------
    ValueError
        For a field out of range (the message names it and what is accepted).

    Shape
    -----
    No tensors: options only.
    """

    stats_decay: float = 0.0
    filter_strength: float = 0.9
    filter_threshold: float = 0.15
    filter_radius: int = 2
    cut_threshold: float | None = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "stats_decay",
            _unit_float("stats_decay", self.stats_decay, lo=0, hi=1, hi_open=True),
        )
        object.__setattr__(
            self,
            "filter_strength",
            _unit_float("filter_strength", self.filter_strength, lo=0, hi=1, hi_open=True),
        )
        thr = _unit_float("filter_threshold", self.filter_threshold, lo=0, hi=math.inf)
        if thr <= 0:
            raise ValueError(f"filter_threshold must be > 0; got {self.filter_threshold!r}")
        object.__setattr__(self, "filter_threshold", thr)
        r = self.filter_radius
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise ValueError(f"filter_radius must be an integer >= 0; got {r!r}")
        if self.cut_threshold is not None:
            cut = _unit_float("cut_threshold", self.cut_threshold, lo=0, hi=1)
            object.__setattr__(self, "cut_threshold", cut)

    @classmethod
    def off(cls) -> TemporalOptions:
        """Plain frame-by-frame translation: no smoothing, no filter, no scene-cut detection."""
        return cls(stats_decay=0.0, filter_strength=0.0, cut_threshold=None)

    @property
    def enabled(self) -> bool:
        """Whether any remedy is on."""
        return self.stats_decay > 0 or self.filter_strength > 0

    def replace(self, **changes: Unpack[TemporalKwargs]) -> TemporalOptions:
        """A copy with ``changes`` applied (validated).

        Raises
        ------
        TypeError
            For a name that is not a field.
        ValueError
            For a value out of range.
        """
        return dataclasses.replace(self, **changes)


def blend_norm_stats(old: NormStats | None, new: NormStats, decay: float) -> NormStats:
    """``decay · old + (1 - decay) · new``, layer by layer: one step of a moving average.

    Parameters
    ----------
    old
        The average so far, or ``None`` (then ``new`` is returned).
    new
        The statistics of the latest frame
        (:meth:`~cyclegan_ms.inference.Translator.norm_stats_of`).
    decay
        Weight of the past, in ``[0, 1)``; 0 returns ``new``.

    Returns
    -------
    NormStats
        ``new`` itself when the layouts differ (another network, batch or number of calls); a
        global layer's output whose shape changed is replaced, not blended.

    Shape
    -----
    Recorded means and variances ``(B, G)``, global outputs ``(B, ...)``: unchanged.
    """
    if (
        old is None
        or decay == 0
        or old.batch != new.batch
        or old.values.keys() != new.values.keys()
        or old.outputs.keys() != new.outputs.keys()
        or any(len(old.values[m]) != len(v) for m, v in new.values.items())
        or any(len(old.outputs[m]) != len(v) for m, v in new.outputs.items())
    ):
        return new
    keep = 1.0 - decay
    values = {
        m: [
            (pm.mul(decay).add_(nm, alpha=keep), pv.mul(decay).add_(nv, alpha=keep))
            for (pm, pv), (nm, nv) in zip(old.values[m], v, strict=True)
        ]
        for m, v in new.values.items()
    }
    outputs = {
        m: [
            po.mul(decay).add_(no, alpha=keep) if po.shape == no.shape else no
            for po, no in zip(old.outputs[m], v, strict=True)
        ]
        for m, v in new.outputs.items()
    }
    return NormStats(values, outputs, new.batch)


class FrameTranslator:
    """Translate the frames of one video, in order, with temporal stability.

    Parameters
    ----------
    model
        A :class:`~cyclegan_ms.inference.Translator` (used as it is), or anything a Translator
        accepts (a :class:`~cyclegan_ms.CycleGAN`, a generator, a checkpoint path).
    options
        How to translate each frame (a :class:`~cyclegan_ms.inference.TranslateOptions`: tiling,
        normalisation statistics, device...), for a model that is not a Translator.
    temporal
        How to keep frames consistent (default :class:`TemporalOptions()`;
        :meth:`TemporalOptions.off` for frame-by-frame).
    direction
        ``"a2b"`` or ``"b2a"``; ``None``: the options'.
    **overrides
        Fields of :class:`~cyclegan_ms.inference.TranslateOptions` replacing those of
        ``options``.

    Raises
    ------
    TypeError
        Translate options given with a ready Translator, or an unknown option.
    ValueError
        Smoothed statistics (``stats_decay > 0``) with ``norm_stats="tile"``, whose tiles use
        their own statistics by request; or an option out of range.

    Shape
    -----
    Each call: one frame, ``(H, W, C) -> (H, W, C_out)`` (arrays, PIL), ``(C, H, W)`` or
    ``(1, C, H, W)`` tensors likewise; the same kinds as :class:`~cyclegan_ms.inference.Translator`.
    """

    def __init__(
        self,
        model: ModelSource | Translator,
        options: TranslateOptions | None = None,
        temporal: TemporalOptions | None = None,
        *,
        direction: Direction | None = None,
        **overrides: Unpack[TranslateKwargs],
    ) -> None:
        self.translator = as_translator(
            model, options, direction=direction, owner="FrameTranslator", **overrides
        )
        temporal = TemporalOptions() if temporal is None else temporal
        if not isinstance(temporal, TemporalOptions):
            raise TypeError(f"temporal must be a TemporalOptions; got {type(temporal).__name__}")
        if temporal.stats_decay > 0 and self.translator.norm_stats == "tile":
            raise ValueError(
                "stats_decay > 0 smooths whole-frame normalisation statistics, but "
                "norm_stats='tile' asks every tile to use its own; use norm_stats='global' or "
                "stats_decay=0"
            )
        self.temporal = temporal
        self._stats_needed = needs_image_stats(self.translator.generator)
        self.frames = 0
        self.cuts = 0
        self.reset()

    def reset(self) -> None:
        """Forget the previous frames (call between unrelated clips)."""
        self._stats: NormStats | None = None
        self._prev_in: Tensor | None = None
        self._ref_in: Tensor | None = None
        self._ref_out: Tensor | None = None

    @property
    def value_range(self) -> tuple[float, float]:
        """The data range of frame tensors in and out (the translator's)."""
        return self.translator.value_range

    def _unit(self, x: Tensor) -> Tensor:
        lo, hi = self.translator.value_range
        return (x.float() - lo) / (hi - lo)

    @torch.no_grad()
    def _forward(self, x: Tensor) -> Tensor:
        """The frame ``(1, C, H, W)``, float in the data range → output in the data range."""
        t = self.translator
        how = t.plan(int(x.shape[-2]), int(x.shape[-1]))
        stats = None
        smooth = self.temporal.stats_decay > 0 and how != "tiled"
        tiled_global = how == "tiled" and t.norm_stats == "global"
        if self._stats_needed and (smooth or tiled_global):
            stats = blend_norm_stats(self._stats, t.norm_stats_of(x), self.temporal.stats_decay)
            self._stats = stats
        return t.tensor(x.float(), stats, progress=False)

    @torch.no_grad()
    def _filter(self, x_unit: Tensor, y: Tensor) -> Tensor:
        opts = self.temporal
        if opts.filter_strength == 0:
            return y
        if self._ref_in is None or self._ref_out is None or self._ref_in.shape != x_unit.shape:
            self._ref_in, self._ref_out = x_unit, y
            return y
        diff = x_unit - self._ref_in
        r = opts.filter_radius
        if r:  # blur the signed difference: zero-mean sensor noise averages out
            diff = F.avg_pool2d(diff, 2 * r + 1, stride=1, padding=r, count_include_pad=False)
        change = diff.abs().mean(1, keepdim=True)
        weight = (1.0 - change / opts.filter_threshold).clamp_(min=0.0).square_()
        weight *= opts.filter_strength
        y = torch.lerp(y, self._ref_out.to(y.device), weight.to(y.device))
        self._ref_in = torch.lerp(x_unit, self._ref_in, weight)
        self._ref_out = y
        return y

    @overload
    def __call__(self, frame: Image.Image) -> Image.Image: ...
    @overload
    def __call__(self, frame: np.ndarray) -> np.ndarray: ...
    @overload
    def __call__(self, frame: Tensor) -> Tensor: ...

    def __call__(self, frame: ImageLike) -> ImageLike:
        """Translate the next frame.

        Parameters
        ----------
        frame
            PIL image; numpy ``(H, W)``/``(H, W, C)`` ``uint8`` or float in [0, 1]; tensor
            ``(C, H, W)`` or ``(1, C, H, W)`` in the data range (or ``uint8``).

        Returns
        -------
        PIL.Image.Image, numpy.ndarray or Tensor
            The translated frame, of the same kind, dtype and layout.

        Raises
        ------
        ValueError
            For a batch of several frames (translate them one by one, in order).

        Shape
        -----
        ``(H, W, C) -> (H, W, C_out)``, ``(C, H, W) -> (C_out, H, W)``,
        ``(1, C, H, W) -> (1, C_out, H, W)``.
        """
        t = self.translator
        p = image_batch(
            frame,
            in_channels=t.in_channels,
            out_channels=t.out_channels,
            value_range=t.value_range,
            dtype=t.dtype,
        )
        if p.x.shape[0] != 1:
            raise ValueError(
                f"FrameTranslator takes one frame at a time; got a batch of {p.x.shape[0]}"
            )
        x = p.encode(p.x.to(t.device))
        x_unit = self._unit(x)
        cut = self.temporal.cut_threshold
        if self._prev_in is not None and (
            self._prev_in.shape != x_unit.shape
            or (cut is not None and float((x_unit - self._prev_in).abs().mean()) > cut)
        ):
            self.cuts += 1
            self.reset()
        self._prev_in = x_unit
        y = self._filter(x_unit, self._forward(x))
        p.out.copy_(p.decode(y).to(p.out.device))
        self.frames += 1
        return p.finish()

    def run(self, frames: Iterable[ImageT]) -> Iterator[ImageT]:
        """Translate ``frames`` in order, lazily (one frame in memory at a time).

        Shape
        -----
        Each frame as in :meth:`__call__`.
        """
        for frame in frames:
            yield self(frame)
